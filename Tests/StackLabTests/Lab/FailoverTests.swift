import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("Health checks and failover, on real sockets", .runsALab)
struct FailoverTests {
    @Test func crashedNginxGoesDownAfterFallChecksWithNoFailedRequestWhenRedispatchIsOn() async throws {
        var builder = TestLabBuilder()
        builder.redispatch = -1
        builder.checkInter = 300
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let balancer = lab.balancers[0]
        try await waitUntil("both UP") { balancer.serverStatuses.allSatisfy { $0.status == "UP" } }

        // Steady traffic from a background task while web-01's nginx dies.
        let statuses = NIOLockedValueBox<[Int]>([])
        let seen = NIOLockedValueBox<[String]>([])
        let stop = NIOLockedValueBox(false)
        let traffic = Task {
            while !stop.withLockedValue({ $0 }) {
                if let response = try? await lab.get("/") {
                    statuses.withLockedValue { $0.append(response.status) }
                    seen.withLockedValue { $0.append(balancer.serverStatuses[0].status) }
                } else {
                    statuses.withLockedValue { $0.append(0) }
                }
            }
        }
        try await waitUntil("some traffic") { statuses.withLockedValue { $0.count } >= 10 }
        try await lab.apply(.crash, to: .process(server: "web-01", process: .nginx))
        try await waitUntil("web-01 DOWN") { balancer.serverStatuses[0].status == "DOWN" }
        let countAtDown = statuses.withLockedValue { $0.count }
        try await waitUntil("traffic after DOWN") { statuses.withLockedValue { $0.count } >= countAtDown + 10 }
        stop.withLockedValue { $0 = true }
        _ = await traffic.value

        let all = statuses.withLockedValue { $0 }
        #expect(all.allSatisfy { $0 == 200 }, "failed requests: \(all.filter { $0 != 200 })")
        // On its way down the server passed through HAProxy's intermediate states.
        let states = Set(seen.withLockedValue { $0 })
        #expect(states.isSubset(of: ["UP", "UP 2/3", "UP 1/3", "DOWN"]))
        // After DOWN every request went to web-02.
        var after: [String] = []
        for _ in 0..<6 { after.append(try await lab.get("/").header("X-Served-By") ?? "?") }
        #expect(Set(after) == ["web-02"])
        let log = balancer.log.tail().joined(separator: "\n")
        #expect(log.contains("Server web/web-01 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\""))
        #expect(log.contains("1 active and 0 backup servers left."))

        // Revive: DOWN → DOWN 1/2 → UP after `rise` checks, and traffic alternates again.
        try await lab.apply(.revive, to: .process(server: "web-01", process: .nginx))
        try await waitUntil("web-01 UP") { balancer.serverStatuses[0].status == "UP" }
        #expect(balancer.log.tail().contains { $0.contains("Server web/web-01 is UP, reason: Layer7 check passed, code: 200") })
        var back: [String] = []
        for _ in 0..<4 { back.append(try await lab.get("/").header("X-Served-By") ?? "?") }
        await lab.shutdown()
        #expect(Set(back) == ["web-01", "web-02"])
    }

    @Test func withoutRedispatchRequestsToTheDeadServerFailWith503UntilItIsDown() async throws {
        var builder = TestLabBuilder()
        builder.checkInter = 120_000   // slow checks: the server stays "UP" for the whole test, however slow the machine
        // …but a server whose first check failed on a busy machine is rechecked at once until it is UP.
        builder.fastInter = 200
        builder.downInter = 200
        builder.retries = 1
        builder.timeoutConnect = 100
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A server that fails its very first check goes DOWN at once (HAProxy starts it at `UP 1/3`): wait for it.
        try await waitUntil("web-01 UP") { lab.balancers[0].serverStatuses[0].status == "UP" }
        try await lab.apply(.crash, to: .server("web-01"))
        var statuses: [Int] = []
        for _ in 0..<4 { statuses.append(try await lab.get("/").status) }
        let log = lab.balancers[0].log.tail()
        await lab.shutdown()
        #expect(statuses.sorted() == [200, 200, 503, 503])
        #expect(log.contains { $0.contains("web/web-01") && $0.contains(" 503 ") && $0.contains(" SC-- ") && $0.contains("/1 0/0 \"GET / HTTP/1.1\"") })
    }

    @Test func noServerLeftGivesHAProxys503Page() async throws {
        let (lab, folder) = try await TestLabBuilder().start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await lab.apply(.crash, to: .server("web-01"))
        try await lab.apply(.crash, to: .server("web-02"))
        try await waitUntil("both DOWN") { lab.balancers[0].serverStatuses.allSatisfy { $0.status == "DOWN" } }
        let response = try await lab.get("/")
        let log = lab.balancers[0].log.tail()
        await lab.shutdown()
        #expect(response.status == 503)
        #expect(response.body == "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n")
        #expect(response.header("cache-control") == "no-cache")
        #expect(log.contains("[ALERT]    (\(lab.balancers[0].runtime.pid)) : backend web has no server available!"))
        #expect(log.contains { $0.contains(" web/<NOSRV> ") && $0.contains(" 503 ") && $0.contains(" SC-- ") })
    }

    @Test func crashedAppGives502FromNginx() async throws {
        var builder = TestLabBuilder()
        builder.httpCheck = nil       // TCP checks: nginx stays UP although its app is dead
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await lab.apply(.crash, to: .process(server: "web-01", process: .gunicorn))
        let response = try await lab.get("/")
        let nginxLog = lab.process("web-01", .nginx)!.log.tail()
        // The upstream's port as it answers (the test's port offset applied).
        let appPort = lab.network.port(8000)
        await lab.shutdown()
        #expect(response.status == 502)
        #expect(response.body.contains("<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>"))
        #expect(nginxLog.contains {
            $0.contains("[error]") && $0.contains("connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.1.1")
                && $0.contains("upstream: \"http://127.0.1.11:\(appPort)/\"")
        })
    }

    @Test func hungAppGives504FromNginxAfterProxyReadTimeout() async throws {
        var builder = TestLabBuilder()
        builder.httpCheck = nil
        builder.proxyReadTimeout = 700
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await lab.apply(.hang, to: .process(server: "web-01", process: .gunicorn))
        let started = Date()
        let response = try await lab.get("/")
        let waited = Date().timeIntervalSince(started)
        let nginxLog = lab.process("web-01", .nginx)!.log.tail()
        await lab.shutdown()
        #expect(response.status == 504)
        #expect(response.body.contains("<h1>504 Gateway Time-out</h1>"))
        #expect(waited >= 0.7)
        #expect(nginxLog.contains { $0.contains("upstream timed out (110: Connection timed out) while reading response header from upstream") })
    }

    @Test func workerPastTimeoutIsKilledAndNginxAnswers502() async throws {
        var builder = TestLabBuilder()
        builder.httpCheck = nil
        builder.appTimeout = 1
        builder.proxyReadTimeout = 10_000
        let (lab, folder) = try await builder.start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await lab.apply(.slow(milliseconds: 3000), to: .process(server: "web-01", process: .gunicorn))
        let response = try await lab.get("/")
        let appLog = lab.process("web-01", .gunicorn)!.log.tail()
        let nginxLog = lab.process("web-01", .nginx)!.log.tail()
        await lab.shutdown()
        #expect(response.status == 502)
        #expect(appLog.contains { $0.contains("[CRITICAL] WORKER TIMEOUT (pid:") })
        #expect(appLog.contains { $0.contains("[INFO] Booting worker with pid:") })
        #expect(nginxLog.contains { $0.contains("upstream prematurely closed connection while reading response header from upstream") })
    }

    @Test func crashedBalancerRefusesConnections() async throws {
        let (lab, folder) = try await TestLabBuilder().start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await lab.apply(.crash, to: .server("lb-01"))
        await #expect(throws: ClientError.self) { try await lab.get("/") }
        do {
            _ = try await lab.get("/")
        } catch let error as ClientError {
            guard case .refused = error else { Issue.record("expected refused, got \(error)"); return }
        }
        try await lab.apply(.revive, to: .server("lb-01"))
        let response = try await lab.get("/")
        await lab.shutdown()
        #expect(response.status == 200)
    }
}
