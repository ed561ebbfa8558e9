import Foundation
import NIOConcurrencyHelpers
import StackLab

/// What a check can do with the learner's running lab: send requests as a visitor, wait for states, and remember
/// what to stop at the end (monitors).
public final class GradingContext: Sendable {
    public let lab: Lab
    private let monitors = NIOLockedValueBox<[Monitor]>([])

    init(lab: Lab) { self.lab = lab }

    /// What one visitor's request got.
    public struct Observation: Sendable {
        public var status: Int?
        public var servedBy: String?
        public var error: String?
        public var elapsed: Double
        public var body: String = ""
        public var headers: [(name: String, value: String)] = []

        /// A request fails when it got no answer or a 5xx.
        public var failed: Bool { status.map { $0 >= 500 } ?? true }
        public var word: String { status.map { "\($0)" } ?? (error ?? "no response") }
    }

    /// One request from the internet to the site's entry (lb-01's first bind), as a browser sends it.
    public func request(_ path: String = "/", method: String = "GET", body: String? = nil, timeout: Double = 5,
                        host: String? = nil, port: Int? = nil) async -> Observation {
        let started = Date()
        do {
            let response: ClientResponse
            if let host, let port {
                response = try await lab.internetClient.request(method: method, host: host, port: lab.network.port(port), path: path,
                                                                body: body, timeout: timeout)
            } else {
                response = try await lab.get(path, method: method, body: body, timeout: timeout)
            }
            return Observation(status: response.status, servedBy: response.header("X-Served-By"), error: nil,
                               elapsed: Date().timeIntervalSince(started), body: response.body, headers: response.headers)
        } catch {
            return Observation(status: nil, servedBy: nil, error: "\(error)", elapsed: Date().timeIntervalSince(started))
        }
    }

    /// `count` requests, each sent when the previous one is answered.
    public func requestsInARow(_ count: Int, path: String = "/") async -> [Observation] {
        var list: [Observation] = []
        for _ in 0..<count { list.append(await request(path)) }
        return list
    }

    /// Polls `condition` every 10 ms until it holds (true) or `timeout` seconds pass (false).
    public func wait(upTo timeout: Double, until condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return await condition()
    }

    /// A balancer server's status word (`UP`, `DOWN`, `UP 2/3` …).
    public func status(of server: String, balancer: Int = 0) -> String? {
        guard lab.balancers.indices.contains(balancer) else { return nil }
        return lab.balancers[balancer].serverStatuses.first { $0.name == server }?.status
    }

    /// Waits until every checked server of every balancer is `UP` and the site answers; nil when it does.
    func waitForSiteUp(timeout: Double = 8) async -> String? {
        let up = await wait(upTo: timeout) {
            lab.balancers.allSatisfy { $0.serverStatuses.allSatisfy { $0.status == "UP" || $0.status == "no check" } }
        }
        if !up {
            let words = lab.balancers.flatMap { b in b.serverStatuses.map { "\(b.serverName)/\($0.name) \($0.status)" } }
            return "the balancer's servers were not all UP \(Int(timeout)) s after the lab started: " + words.joined(separator: ", ")
        }
        let first = await request("/")
        guard !first.failed else { return "the site does not answer: GET / got \(first.word)" }
        return nil
    }

    /// Keeps a monitor to stop when grading ends.
    func adopt(_ monitor: Monitor) { monitors.withLockedValue { $0.append(monitor) } }

    func stop() async {
        for monitor in monitors.withLockedValue({ $0 }) { await monitor.stop() }
    }
}

/// "503 ×3, connection refused ×1"
func tally(_ words: [String]) -> String {
    var counts: [String: Int] = [:]
    for word in words { counts[word, default: 0] += 1 }
    return counts.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
}

func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }

/// "1004 ms": for latencies near a bound in seconds, where "1.00 s" would hide which side of it they are.
func milliseconds(_ value: Double) -> String { "\(Int((value * 1000).rounded())) ms" }
