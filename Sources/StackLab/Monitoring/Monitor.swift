import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// A scrape target: one process's metrics endpoint.
public struct MetricsTarget: Sendable, Equatable {
    /// `nginx` — Prometheus's `job` label.
    public var job: String
    /// `web-02/nginx` — the `instance` label (set in the generated prometheus.yml too, so alerts read well).
    public var instance: String
    public var server: String
    public var host: String
    /// The real port.
    public var port: Int

    public var address: String { "\(host):\(port)" }
}

/// How a target's last scrape went (Prometheus's targets page).
public struct TargetHealth: Sendable, Equatable {
    public var target: MetricsTarget
    public var up: Bool
    public var lastScrape: Date?
    public var lastError: String?
    public var duration: Double
    public var samples: Int
}

extension Lab {
    /// Every process's metrics endpoint, in the lab's process order.
    public var metricsTargets: [MetricsTarget] {
        topology.servers.flatMap { server in
            processes(on: server.name).map { process in
                MetricsTarget(job: MetricsEndpoint.job(for: process.kind), instance: process.name, server: server.name,
                              host: process.runtime.serverAddress,
                              port: network.port(MetricsEndpoint.configuredPort(for: process.kind)))
            }
        }
    }

    /// Starts a monitor (a Prometheus-like server on its own address) that scrapes every process and evaluates
    /// `rules`; without rules, the lab's `monitor/alerts.yml` if there is one, else `RuleFile.defaultText`.
    ///
    /// ```swift
    /// let monitor = try await lab.startMonitor()
    /// for await event in monitor.events() { print(event) }   // alert InstanceDown pending: instance=web-02/nginx …
    /// ```
    ///
    /// `monitor.stop()` stops it; `lab.shutdown()` stops the monitors still running on the lab.
    public func startMonitor(rules: [AlertRule]? = nil, interval: Double = 1, address: String = Monitor.defaultAddress,
                             port: Int = MetricsEndpoint.monitorPort) async throws -> Monitor {
        let chosen: [AlertRule]
        if let rules {
            chosen = rules
        } else {
            let file = (definition.directory as NSString).appendingPathComponent("monitor/alerts.yml")
            chosen = FileManager.default.fileExists(atPath: file) ? try RuleFile.load(path: file) : try RuleFile.parse(RuleFile.defaultText)
        }
        let monitor = Monitor(lab: self, rules: chosen, interval: interval, address: address, port: network.port(port))
        try await monitor.start()
        return monitor
    }
}

/// The lab's monitor: like a Prometheus server, it scrapes every target each `interval`, records `up` for each,
/// evaluates the alert rules after each round, and reports alerts going pending, firing and resolved.
/// It listens on its own address (`127.0.1.20:9090` by default): `/metrics` (its own counters) and `/api/v1/alerts`.
public final class Monitor: Sendable {
    public static let defaultAddress = "127.0.1.20"
    public static let serverName = "monitor"

    public let interval: Double
    public let address: String
    public let port: Int
    public let targets: [MetricsTarget]
    private let lab: Lab
    private let store = SeriesStore()
    private let listener: Listener
    private let client: HTTPClient
    private let box: NIOLockedValueBox<Box>
    private let metrics = ProcessMetrics()
    private let responder: MonitorResponder

    private struct Box {
        var rules: [AlertRuleState]
        var health: [String: TargetHealth] = [:]
        var subscribers: [UUID: AsyncStream<AlertEvent>.Continuation] = [:]
        var recent: [AlertEvent] = []
        var loop: Task<Void, Never>?
        var rounds = 0
        var evaluations = 0
        var failures = 0
    }

    init(lab: Lab, rules: [AlertRule], interval: Double, address: String, port: Int) {
        self.lab = lab
        self.interval = max(0.05, interval)
        self.address = address
        self.port = port
        self.targets = lab.metricsTargets
        self.box = NIOLockedValueBox(Box(rules: rules.map(AlertRuleState.init)))
        self.client = HTTPClient(dialer: Dialer(network: lab.network, fromServer: Self.serverName, sourceAddress: address), group: lab.group)
        let responder = MonitorResponder()
        self.responder = responder
        self.listener = Listener(host: address, port: port, serverName: Self.serverName, group: lab.group, network: lab.network,
                                 faults: FaultSwitch()) { channel in
            HTTPServerHandler.install(on: channel, responder: responder, serverHeader: nil)
        }
        responder.monitor.withLockedValue { $0 = self }
    }

    func start() async throws {
        try await listener.start()
        let task = Task { [self] in await run() }
        box.withLockedValue { $0.loop = task }
        Self.running.withLockedValue { $0[ObjectIdentifier(lab), default: []].append(self) }
    }

    /// The monitors started on each lab, so the lab's shutdown stops them too.
    private static let running = NIOLockedValueBox<[ObjectIdentifier: [Monitor]]>([:])

    /// Stops every monitor still watching `lab` (called by `Lab.shutdown`).
    static func stopAll(watching lab: Lab) async {
        let monitors = running.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(lab)) ?? [] }
        for monitor in monitors { await monitor.stop() }
    }

    /// Stops scraping, closes the port, ends every event stream.
    public func stop() async {
        Self.running.withLockedValue { running in
            running[ObjectIdentifier(lab)]?.removeAll { $0 === self }
            if running[ObjectIdentifier(lab)]?.isEmpty == true { running[ObjectIdentifier(lab)] = nil }
        }
        let (task, subscribers) = box.withLockedValue { box in
            defer { box.subscribers = [:]; box.loop = nil }
            return (box.loop, Array(box.subscribers.values))
        }
        task?.cancel()
        await task?.value
        await listener.crash()
        responder.monitor.withLockedValue { $0 = nil }   // breaks the monitor → listener → responder → monitor cycle
        for continuation in subscribers { continuation.finish() }
    }

    /// `127.0.1.20:9090`.
    public var listenAddress: String { "\(address):\(port)" }

    // MARK: - What the shell reads

    /// Every rule with its state and alerts, in file order (`alerts`).
    public var alerts: [AlertRuleState] { box.withLockedValue { $0.rules } }

    /// The pending and firing alerts of every rule.
    public var activeAlerts: [Alert] { alerts.flatMap(\.activeAlerts) }

    /// How each target's last scrape went, in target order.
    public var targetHealth: [TargetHealth] {
        box.withLockedValue { box in targets.compactMap { box.health[$0.instance] } }
    }

    /// The latest alert events, oldest first (at most 50).
    public var recentEvents: [AlertEvent] { box.withLockedValue { $0.recent } }

    /// How many scrape-and-evaluate rounds have completed.
    public var rounds: Int { box.withLockedValue { $0.rounds } }

    /// A new stream of alert events as they happen (each subscriber gets every event from now on).
    public func events() -> AsyncStream<AlertEvent> {
        let (stream, continuation) = AsyncStream<AlertEvent>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let id = UUID()
        box.withLockedValue { $0.subscribers[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.box.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Evaluates an expression against the stored series now (`query 'up == 0'`).
    public func query(_ text: String) throws -> PromValue {
        try PromQL.parse(text).evaluate(in: store, at: Date().timeIntervalSinceReferenceDate)
    }

    // MARK: - The loop

    private func run() async {
        // Evaluation times sit on a fixed grid (start + k × interval), as Prometheus aligns its evaluations, so
        // `for: 5s` fires exactly 5 intervals after the alert went pending.
        var next = Date().timeIntervalSinceReferenceDate
        while !Task.isCancelled {
            let now = Date().timeIntervalSinceReferenceDate
            if next > now {
                try? await Task.sleep(nanoseconds: UInt64((next - now) * 1_000_000_000))
                if Task.isCancelled { return }
            }
            let time = next
            await scrapeAll(at: time)
            evaluate(at: time)
            next += interval
            let after = Date().timeIntervalSinceReferenceDate
            while next < after - interval { next += interval }   // a slow round skips slots instead of bunching up
        }
    }

    private func scrapeAll(at time: Double) async {
        await withTaskGroup(of: Void.self) { group in
            for target in targets {
                group.addTask { [self] in await scrape(target, at: time) }
            }
        }
        box.withLockedValue { $0.rounds += 1 }
    }

    private func scrape(_ target: MetricsTarget, at time: Double) async {
        let started = Date()
        var samples: [VectorSample] = []
        var error: String?
        do {
            let response = try await client.request(host: target.host, port: target.port, path: MetricsEndpoint.path,
                                                    headers: [("Accept", "text/plain;version=0.0.4")], timeout: min(interval, 10))
            if response.status != 200 {
                error = "server returned HTTP status \(response.status) \(response.reason)"
            } else {
                for sample in try ExpositionParser.parse(response.body) {
                    var labels = sample.labels
                    labels["__name__"] = sample.name
                    labels["job"] = target.job
                    labels["instance"] = target.instance
                    samples.append(VectorSample(labels: labels, value: sample.value))
                }
            }
        } catch let failure {
            error = "\(failure)"
        }
        let duration = Date().timeIntervalSince(started)
        let base: Labels = ["job": target.job, "instance": target.instance]
        func synthetic(_ name: String, _ value: Double) -> VectorSample {
            var labels = base
            labels["__name__"] = name
            return VectorSample(labels: labels, value: value)
        }
        if error != nil { samples = [] }
        let scraped = samples.count
        samples.append(synthetic("up", error == nil ? 1 : 0))
        samples.append(synthetic("scrape_duration_seconds", duration))
        samples.append(synthetic("scrape_samples_scraped", Double(scraped)))
        store.append(target: target.instance, samples: samples, at: time)
        let health = TargetHealth(target: target, up: error == nil, lastScrape: started, lastError: error, duration: duration, samples: scraped)
        box.withLockedValue { $0.health[target.instance] = health }
    }

    private func evaluate(at time: Double) {
        let date = Date(timeIntervalSinceReferenceDate: time)
        var rules = box.withLockedValue { $0.rules }
        var events: [AlertEvent] = []
        var failures = 0
        for index in rules.indices {
            do {
                let result = try rules[index].rule.expression.evaluate(in: store, at: time)
                events += rules[index].evaluate(result.samples, at: date)
            } catch {
                failures += 1
                rules[index].recordError("\(error)", at: date)
            }
        }
        let subscribers = box.withLockedValue { box in
            box.rules = rules
            box.evaluations += rules.count
            box.failures += failures
            box.recent += events
            if box.recent.count > 50 { box.recent.removeFirst(box.recent.count - 50) }
            return Array(box.subscribers.values)
        }
        for event in events {
            for continuation in subscribers { continuation.yield(event) }
        }
    }

    // MARK: - Its own endpoints

    fileprivate func ownMetrics() -> String {
        let (evaluations, failures, rules, health) = box.withLockedValue { ($0.evaluations, $0.failures, $0.rules, $0.health) }
        metrics.counter("prometheus_rule_evaluations_total", "The total number of rule evaluations.", [("rule_group", "stacklab")], evaluations)
        metrics.counter("prometheus_rule_evaluation_failures_total", "The total number of rule evaluation failures.",
                        [("rule_group", "stacklab")], failures)
        metrics.gauge("prometheus_target_scrape_pool_targets", "Current number of targets in this scrape pool.", [("scrape_job", "stacklab")],
                      targets.count)
        metrics.gauge("prometheus_targets_up", "Targets whose last scrape succeeded (stacklab).", [], health.values.filter(\.up).count)
        for state in [AlertState.pending, .firing] {
            metrics.gauge("prometheus_rule_group_alerts", "Alerts of the rules, by state (stacklab).", [("alertstate", state.rawValue)],
                          rules.flatMap(\.activeAlerts).filter { $0.state == state }.count)
        }
        return metrics.exposition()
    }

    /// `/api/v1/alerts`, shaped like Prometheus's answer.
    fileprivate func alertsJSON() -> String {
        let items = activeAlerts.map { alert -> String in
            let labels = alert.labels.keys.sorted().map { "\(Self.json($0)):\(Self.json(alert.labels[$0] ?? ""))" }.joined(separator: ",")
            let annotations = alert.annotations.keys.sorted().map { "\(Self.json($0)):\(Self.json(alert.annotations[$0] ?? ""))" }
                .joined(separator: ",")
            let activeAt = ISO8601DateFormatter().string(from: alert.activeAt)
            return "{\"labels\":{\(labels)},\"annotations\":{\(annotations)},\"state\":\"\(alert.state.rawValue)\","
                + "\"activeAt\":\"\(activeAt)\",\"value\":\"\(PromQL.format(alert.value))\"}"
        }
        return "{\"status\":\"success\",\"data\":{\"alerts\":[\(items.joined(separator: ","))]}}\n"
    }

    static func json(_ text: String) -> String { JSONText.quote(text) }
}

private final class MonitorResponder: HTTPResponder {
    // Set once, right after the monitor is built (the responder must exist before the listener it belongs to).
    let monitor = NIOLockedValueBox<Monitor?>(nil)

    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse> {
        let path = request.head.uri.prefix { $0 != "?" }
        var headers = HTTPHeaders()
        guard let monitor = monitor.withLockedValue({ $0 }) else {
            return request.eventLoop.makeSucceededFuture(ServerResponse(status: .serviceUnavailable))
        }
        switch path {
        case "/metrics":
            headers.add(name: "Content-Type", value: MetricsEndpoint.contentType)
            return request.eventLoop.makeSucceededFuture(ServerResponse(status: .ok, headers: headers, body: ByteBuffer(string: monitor.ownMetrics())))
        case "/api/v1/alerts":
            headers.add(name: "Content-Type", value: "application/json")
            return request.eventLoop.makeSucceededFuture(ServerResponse(status: .ok, headers: headers, body: ByteBuffer(string: monitor.alertsJSON())))
        default:
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            return request.eventLoop.makeSucceededFuture(ServerResponse(status: .notFound, headers: headers, body: ByteBuffer(string: "404 page not found\n")))
        }
    }
}
