import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("Round robin through lb-01, on real sockets", .runsALab)
struct RoundRobinTests {
    private func servedBy(_ lab: Lab, count: Int, path: String = "/") async throws -> [String] {
        var result: [String] = []
        for _ in 0..<count {
            let response = try await lab.get(path)
            #expect(response.status == 200)
            result.append(response.header("X-Served-By") ?? "?")
        }
        return result
    }

    @Test func tenRequestsAlternateWebServersExactly() async throws {
        let (lab, folder) = try await TestLabBuilder().start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let order = try await servedBy(lab, count: 10)
        await lab.shutdown()
        #expect(order == ["web-01", "web-02", "web-01", "web-02", "web-01", "web-02", "web-01", "web-02", "web-01", "web-02"])
    }

    @Test func weightsTwoToOneGiveATwoToOneSplit() async throws {
        var builder = TestLabBuilder()
        builder.weights = [1, 2]
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let order = try await servedBy(lab, count: 30)
        await lab.shutdown()
        #expect(order.filter { $0 == "web-02" }.count == 20)
        #expect(order.filter { $0 == "web-01" }.count == 10)
    }

    @Test func backupServerTakesNoTrafficWhileTheActiveOneIsUp() async throws {
        var builder = TestLabBuilder()
        builder.backup = [false, true]
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let order = try await servedBy(lab, count: 6)
        #expect(Set(order) == ["web-01"])
        try await lab.apply(.crash, to: .server("web-01"))
        try await waitUntil("web-01 DOWN") { lab.balancers[0].serverStatuses[0].status == "DOWN" }
        let after = try await servedBy(lab, count: 4)
        await lab.shutdown()
        #expect(Set(after) == ["web-02"])
    }

    /// The app's X-Served-By names the server; the trace has every hop. The proxies add no header the real HAProxy
    /// and nginx would not (no Via, no trace header), so a response reads as it would from the real stack.
    @Test func theAppNamesItsServerAndTheTraceEveryHop() async throws {
        let (lab, folder) = try await TestLabBuilder().start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let response = try await lab.get("/")
        let hops = lab.traces.trace(response.traceID).map(\.process)
        await lab.shutdown()
        #expect(response.header("X-Served-By") == "web-01")
        #expect(response.header("Via") == nil && response.header("traceresponse") == nil, "\(response.headers)")
        #expect(hops == ["lb-01/haproxy", "web-01/nginx", "web-01/gunicorn"])
    }
}
