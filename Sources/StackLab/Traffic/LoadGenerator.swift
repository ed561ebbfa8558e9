import Atomics
import Foundation
import Histogram
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// What `load` should send: how much, over how many keep-alive connections, how fast, where.
public struct LoadPlan: Sendable, Equatable {
    public enum Limit: Sendable, Equatable {
        case requests(Int)
        case seconds(Double)
    }

    public var limit: Limit
    public var connections: Int
    /// Requests per second over all connections; nil sends as fast as the lab answers.
    public var rate: Double?
    public var method: String
    public var path: String
    /// A real address (`lab.entryAddress`, or a server's own).
    public var host: String
    public var port: Int
    /// Gives up on one request after this long.
    public var requestTimeout: Double
    /// Gives up on a connection attempt after this long (a port that drops SYNs, a firewall that denies).
    public var connectTimeout: Double = 5

    /// Bounds, so a typo cannot flood the machine the lab shares with everything else.
    public static let maxConnections = 256
    public static let maxRequests = 1_000_000
    public static let maxSeconds = 600.0
    public static let maxRate = 100_000.0

    public init(limit: Limit, connections: Int = 4, rate: Double? = nil, method: String = "GET", path: String = "/",
                host: String, port: Int, requestTimeout: Double = 30) {
        self.limit = limit
        self.connections = connections
        self.rate = rate
        self.method = method
        self.path = path
        self.host = host
        self.port = port
        self.requestTimeout = requestTimeout
    }

    /// What is wrong with the plan, in words a learner can act on; nil when it is fine.
    public var problem: String? {
        switch limit {
        case .requests(let n) where n < 1 || n > Self.maxRequests:
            return "-n must be between 1 and \(Self.maxRequests) requests"
        // Written as "not within" so NaN (`-d nan`) is refused too.
        case .seconds(let s) where !(s > 0 && s <= Self.maxSeconds):
            return "-d must be between 0 and \(Int(Self.maxSeconds)) seconds (e.g. -d 10 or -d 2m)"
        default: break
        }
        if connections < 1 || connections > Self.maxConnections { return "-c must be between 1 and \(Self.maxConnections) connections" }
        if let rate, !(rate > 0 && rate <= Self.maxRate) { return "--rate must be between 0 and \(Int(Self.maxRate)) requests per second" }
        return nil
    }
}

/// What a load run measured so far (or in all).
public struct LoadReport: Sendable {
    /// Requests that got a response (any status).
    public var responses = 0
    /// Requests that got no response, by what went wrong (`connection refused`, `timed out` …).
    public var failures: [String: Int] = [:]
    public var statuses: [Int: Int] = [:]
    /// `X-Served-By` of the responses: which web server's app answered (`-` when the header was missing).
    public var servedBy: [String: Int] = [:]
    /// Response times in microseconds.
    public var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    public var elapsed: Double = 0
    /// Keep-alive connections opened (more than -c means servers closed some).
    public var connectionsOpened = 0
    /// Connection attempts that timed out before any connection opened.
    public var timeoutsBeforeFirstConnection = 0
    /// Why the run stopped before its end, when it did (nothing accepts connections).
    public var gaveUp: String?

    public init() {}

    public var failureCount: Int { failures.values.reduce(0, +) }
    public var requestsPerSecond: Double { elapsed > 0 ? Double(responses) / elapsed : 0 }

    /// A latency percentile in milliseconds (p in 0…100).
    public func milliseconds(atPercentile p: Double) -> Double {
        latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(p)) / 1000
    }

    public var maxMilliseconds: Double { latency.totalCount == 0 ? 0 : Double(latency.max) / 1000 }
}

/// Drives HTTP traffic from the internet side (127.0.0.1) over keep-alive connections, like wrk: `-c` connections,
/// each sending its next request when the previous answer is in (or at the pace `--rate` sets), reconnecting when a
/// server closes or refuses. Bounded by `-n` or `-d`, and by cancellation (Ctrl-C).
///
/// ```swift
/// let plan = LoadPlan(limit: .requests(100), host: "127.0.1.1", port: 8080)
/// let report = await LoadGenerator(lab: lab, plan: plan).run { snapshot in print(snapshot.responses) }
/// ```
public final class LoadGenerator: Sendable {
    public let plan: LoadPlan
    private let dialer: Dialer
    private let group: EventLoopGroup
    private let state = NIOLockedValueBox(LoadReport())
    private let tickets = ManagedAtomic<Int>(0)
    private let open = NIOLockedValueBox<[ObjectIdentifier: UpstreamConnection]>([:])

    public init(lab: Lab, plan: LoadPlan) {
        self.plan = plan
        self.dialer = Dialer(network: lab.network, fromServer: "internet", sourceAddress: LabNetwork.internetAddress)
        self.group = LabNetwork.internetThreads
    }

    /// Runs the plan. `progress` gets a snapshot every `interval` seconds while it runs. Returns the whole report
    /// (also when cancelled: what was measured until then).
    public func run(every interval: Double = 0.5, progress: (@Sendable (LoadReport) -> Void)? = nil) async -> LoadReport {
        let started = ContinuousClock.now
        let deadline: ContinuousClock.Instant? = if case .seconds(let s) = plan.limit { started + .milliseconds(Int64(s * 1000)) } else { nil }
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<plan.connections {
                    group.addTask { await self.worker(started: started, deadline: deadline) }
                }
                if let progress {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
                            if Task.isCancelled { break }
                            progress(self.snapshot(since: started))
                        }
                    }
                }
                // Workers end by themselves; then stop the progress task.
                var finished = 0
                while await group.next() != nil {
                    finished += 1
                    if finished == plan.connections { group.cancelAll() }
                }
            }
        } onCancel: {
            self.closeAll()
        }
        closeAll()
        return snapshot(since: started)
    }

    private func snapshot(since started: ContinuousClock.Instant) -> LoadReport {
        let elapsed = ContinuousClock.now - started
        return state.withLockedValue { report in
            report.elapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return report
        }
    }

    private func closeAll() {
        let all = open.withLockedValue { open -> [UpstreamConnection] in
            defer { open.removeAll() }
            return Array(open.values)
        }
        for connection in all { connection.close() }
    }

    /// One connection's loop.
    private func worker(started: ContinuousClock.Instant, deadline: ContinuousClock.Instant?) async {
        let loop = group.next()
        var connection: UpstreamConnection?
        var reusable = false
        defer { if let connection { forget(connection); connection.close() } }
        while !Task.isCancelled {
            let ticket = tickets.loadThenWrappingIncrement(ordering: .relaxed)
            if case .requests(let n) = plan.limit, ticket >= n { return }
            if state.withLockedValue({ $0.gaveUp != nil }) { return }
            if let deadline, ContinuousClock.now >= deadline { return }
            // With --rate, request k is due at start + k/rate; latency counts from then (no coordinated omission).
            var due = ContinuousClock.now
            if let rate = plan.rate {
                // Held to ten years, so a very low --rate cannot overflow the conversion.
                due = started + .microseconds(Int64(min(Double(ticket) / rate * 1_000_000, 3.2e14)))
                if let deadline, due >= deadline { return }
                let wait = due - ContinuousClock.now
                if wait > .zero { try? await Task.sleep(for: wait) }
                if Task.isCancelled { return }
            }
            if connection == nil || !reusable {
                if let old = connection { forget(old); old.close() }
                connection = nil
                do {
                    let opened = try await connect(on: loop)
                    connection = opened
                    reusable = true
                    open.withLockedValue { $0[ObjectIdentifier(opened)] = opened }
                    state.withLockedValue { $0.connectionsOpened += 1 }
                } catch {
                    if Task.isCancelled { return }
                    record(failure: Self.words(for: error))
                    if giveUpIfNothingAccepts(error) { return }
                    // Do not spin on a closed port: a short pause, as a browser's retry would take.
                    try? await Task.sleep(nanoseconds: 20_000_000)
                    continue
                }
            }
            guard let current = connection else { continue }
            if plan.rate == nil { due = ContinuousClock.now }
            var timeout = plan.requestTimeout
            if let deadline {
                let left = deadline - ContinuousClock.now
                timeout = min(timeout, max(0.05, Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18))
            }
            do {
                let (response, keepAlive) = try await send(on: current, timeout: timeout)
                reusable = keepAlive
                let micros = Self.microseconds(since: due)
                let served = response.head.headers.first(name: "X-Served-By") ?? "-"
                state.withLockedValue { report in
                    report.responses += 1
                    report.statuses[Int(response.head.status.code), default: 0] += 1
                    report.servedBy[served, default: 0] += 1
                    _ = report.latency.record(micros)
                }
            } catch {
                if Task.isCancelled { return }
                if let deadline, ContinuousClock.now >= deadline { return }
                record(failure: Self.words(for: error))
                forget(current)
                current.close()
                connection = nil
            }
        }
    }

    /// Connection attempts that time out, with not one connection made yet: the port drops them (a firewall, a
    /// partition, a full accept queue). After three the run stops and says so, rather than trying every request.
    private func giveUpIfNothingAccepts(_ error: any Error) -> Bool {
        let timedOut = if case .connect(.timedOut) = error as? UpstreamError { true } else { false }
        return state.withLockedValue { report in
            if report.gaveUp != nil { return true }
            guard timedOut, report.connectionsOpened == 0 else { return false }
            report.timeoutsBeforeFirstConnection += 1
            guard report.timeoutsBeforeFirstConnection >= Self.attemptsBeforeGivingUp else { return false }
            report.gaveUp = "nothing accepted a connection at \(plan.host):\(plan.port) within \(LoadGenerator.seconds(plan.connectTimeout)) s"
            return true
        }
    }

    static let attemptsBeforeGivingUp = 3
    static func seconds(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }

    private func forget(_ connection: UpstreamConnection) {
        _ = open.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    private func record(failure: String) {
        state.withLockedValue { $0.failures[failure, default: 0] += 1 }
    }

    private func connect(on loop: EventLoop) async throws -> UpstreamConnection {
        // The same client connection the balancer uses upstream; it takes a configured port and applies the plan.
        let opening = loop.flatSubmit { [self] in
            UpstreamConnection.open(dialer: dialer, host: plan.host, configuredPort: dialer.network.configuredPort(plan.port), on: loop,
                                    connectTimeoutMilliseconds: Int(min(plan.connectTimeout, plan.requestTimeout) * 1000))
        }
        // Ctrl-C must not wait for a connection attempt that hangs (a dropped SYN): give up on it at once.
        return try await Self.cancellable(opening) { $0.close() }
    }

    /// Waits for `future`, or stops at once when the task is cancelled; a value that arrives after that is discarded.
    static func cancellable<T: Sendable>(_ future: EventLoopFuture<T>, discard: @escaping @Sendable (T) -> Void) async throws -> T {
        let promise = future.eventLoop.makePromise(of: T.self)
        let cancelled = ManagedAtomic(false)
        future.whenComplete { result in
            if case .success(let value) = result, cancelled.load(ordering: .acquiring) {
                discard(value)
                return
            }
            promise.completeWith(result)
        }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            cancelled.store(true, ordering: .releasing)
            promise.fail(CancellationError())
        }
    }

    /// Sends one request; returns the response and whether the connection can carry the next one (read on its loop).
    private func send(on connection: UpstreamConnection, timeout: Double) async throws -> (UpstreamResponse, Bool) {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: plan.method), uri: plan.path)
        head.headers.add(name: "Host", value: "\(plan.host):\(plan.port)")
        head.headers.add(name: "User-Agent", value: "stacklab-load/1.0")
        head.headers.add(name: "Accept", value: "*/*")
        head.headers.add(name: "traceparent", value: TraceContext.new().traceparent)
        let request = head
        let sending = connection.channel.eventLoop.flatSubmit {
            connection.send(head: request, body: nil, readTimeoutMilliseconds: Int(timeout * 1000)).map { ($0, connection.isReusable) }
        }
        return try await Self.cancellable(sending) { _ in connection.close() }
    }

    private static func microseconds(since start: ContinuousClock.Instant) -> UInt64 {
        let elapsed = ContinuousClock.now - start
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        return UInt64(max(1, micros))
    }

    /// The failure as curl or wrk would name it.
    static func words(for error: any Error) -> String {
        switch error {
        case let dial as DialError:
            switch dial {
            case .refused: return "connection refused"
            case .timedOut: return "connect timed out"
            default: return "connect failed"
            }
        case let upstream as UpstreamError:
            switch upstream {
            case .connect(let dial): return words(for: dial)
            case .timedOut: return "timed out (no answer)"
            case .closedEarly: return "closed without answer"
            case .reset: return "connection reset"
            case .invalidResponse: return "not HTTP (the answer is not an HTTP response)"
            }
        case is CancellationError:
            return "stopped"
        default:
            return "\(error)"
        }
    }
}
