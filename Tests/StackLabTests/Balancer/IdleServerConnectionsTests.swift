import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

/// lb-01's kept-alive connections to the web servers, as HAProxy 2.6 keeps them: reused while traffic flows, and
/// closed when it stops (`pool-purge-delay`, 5 s: half of those past the recent need at each), long before nginx's
/// own `keepalive_timeout` (75 s) would close them.
@Suite("Idle server connections of the balancer", .serialized, .runsALab)
struct IdleServerConnectionsTests {
    @Test func idleServerConnectionsAreClosedSecondsAfterTrafficStops() async throws {
        try await PatchedLab.run { lab in
            let nginx = try #require(lab.lab.process("web-01", .nginx))
            let port = nginx.runtime.network.port(8080)
            let fromBalancer = { nginx.runtime.listeners.filter { $0.port == port }.reduce(0) { $0 + $1.openConnections } }
            let entry = lab.address("lb-01", 8080)
            let report = await LoadGenerator(lab: lab.lab, plan: LoadPlan(limit: .requests(400), connections: 16,
                                                                           host: entry.host, port: entry.port)).run()
            #expect(report.statuses[200] == 400)
            // Kept after the traffic, for the next requests.
            let kept = fromBalancer()
            #expect(kept >= 2, "lb-01 kept \(kept) connections to web-01 nginx")
            // Well before nginx's 75 s, however slow the machine: about 30 s, as HAProxy 2.6 takes.
            try await waitUntil(timeout: 60, "lb-01 to close its idle connections to web-01") { fromBalancer() == 0 }
        }
    }
}
