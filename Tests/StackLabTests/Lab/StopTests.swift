import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("Graceful stop versus crash", .runsALab)
struct StopTests {
    @Test func stoppedAppFinishesTheRequestInFlightAndRefusesNewOnes() async throws {
        var builder = TestLabBuilder()
        builder.httpCheck = nil
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let app = try #require(lab.process("web-01", .gunicorn) as? AppServer)
        // Long enough for a busy machine to see the worker busy before the answer is out.
        app.slow(milliseconds: 5_000)
        let client = lab.internetClient
        let port = lab.network.port(8000)
        // A request straight to web-01's app server, in flight while it stops.
        let inFlight = Task { try await client.request(host: "127.0.1.11", port: port, path: "/") }
        try await waitUntil("the request is being worked on") { app.busyWorkers == 1 }
        await app.stop()
        let response = try await inFlight.value
        #expect(response.status == 200)
        #expect(app.state == .stopped)
        await #expect(throws: ClientError.refused("127.0.1.11:\(port)")) {
            _ = try await client.request(host: "127.0.1.11", port: port, path: "/")
        }
        let log = app.log.tail()
        await lab.shutdown()
        #expect(log.contains { $0.contains("[INFO] Handling signal: term") })
        #expect(log.contains { $0.contains("[INFO] Shutting down: Master") })
    }

    @Test func crashedAppResetsTheRequestInFlight() async throws {
        var builder = TestLabBuilder()
        builder.httpCheck = nil
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let app = try #require(lab.process("web-01", .gunicorn) as? AppServer)
        // Slow enough that the crash always comes first, however long a busy machine takes to see the worker busy.
        app.slow(milliseconds: 60_000)
        let client = lab.internetClient
        let port = lab.network.port(8000)
        let inFlight = Task { try await client.request(host: "127.0.1.11", port: port, path: "/") }
        try await waitUntil("the request is being worked on") { app.busyWorkers == 1 }
        await app.crash()
        // The connection is reset: no answer at all (not a timeout, which would mean the crash left it open).
        await #expect(throws: ClientError.noResponse("127.0.1.11:\(port)")) { _ = try await inFlight.value }
        await lab.shutdown()
    }
}
