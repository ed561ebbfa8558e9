import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("Partitions between servers", .runsALab)
struct PartitionTests {
    @Test func partitionedServerFailsItsChecksByTimeoutAndComesBackAfterHeal() async throws {
        var builder = TestLabBuilder()
        builder.checkInter = 200
        // A cut link fails a check by timeout: short enough for a quick test, long enough that a busy machine's
        // slow answers are not taken for one (three checks of 400 ms took both servers down on a loaded run).
        builder.timeoutCheck = 2_000
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let balancer = lab.balancers[0]
        try await waitUntil("both UP") { balancer.serverStatuses.allSatisfy { $0.status == "UP" } }
        lab.partition("lb-01", "web-01")
        try await waitUntil("web-01 DOWN") { balancer.serverStatuses[0].status == "DOWN" }
        // A cut link looks like lost packets: the check times out, it is not refused.
        #expect(balancer.serverStatuses[0].health.lastResult == .layer7Timeout || balancer.serverStatuses[0].health.lastResult == .layer4Timeout)
        var servedBy: Set<String> = []
        for _ in 0..<4 { servedBy.insert(try await lab.get("/").header("X-Served-By") ?? "?") }
        #expect(servedBy == ["web-02"])
        // The internet still reaches web-01 directly: only the lb-01 ↔ web-01 link is cut.
        let direct = try await lab.internetClient.request(host: "127.0.1.11", port: lab.network.port(8080), path: "/health")
        #expect(direct.status == 200)
        lab.heal("lb-01", "web-01")
        try await waitUntil("web-01 UP again") { balancer.serverStatuses[0].status == "UP" }
        await lab.shutdown()
    }
}
