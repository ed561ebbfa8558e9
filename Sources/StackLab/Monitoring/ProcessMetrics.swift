import CoreMetrics
import NIOConcurrencyHelpers
import Prometheus

/// One process's metrics: a swift-prometheus registry that the process's exporter fills from the process's own state
/// at each scrape, plus the few hot-path counters that cannot be read from state (the app's per-route latencies).
///
/// Most values are *read* at scrape time (balancer server states, request counters the processes already keep), so
/// the request path pays nothing for them. The exporters use the registry's own API because it carries HELP text,
/// which `promtool check metrics` requires; code that wants to count something new quickly can use swift-metrics
/// against this process's registry (its metrics then have no HELP line):
///
/// ```swift
/// let counter = CoreMetrics.Counter(label: "foobar_logins_total", factory: process.runtime.metrics.factory)
/// counter.increment()
/// ```
public final class ProcessMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// The app server's requests by route and status, and their latencies (lock-free; see `RouteLatencies`).
    public let routes = RouteLatencies()
    /// The last value handed to each counter, to turn absolute totals read from state into increments.
    private let lastTotals = NIOLockedValueBox<[String: Int64]>([:])
    /// The order the exporter wrote its families and series in (the registry keeps them in hash order): the page
    /// lists them that way, as the real exporters do — a server's series together, servers in config order.
    private let order = NIOLockedValueBox(Order())

    private struct Order {
        var families: [String: Int] = [:]
        var series: [String: Int] = [:]

        mutating func note(_ name: String, _ labels: [(String, String)]) {
            if families[name] == nil { families[name] = families.count }
            let key = Order.key(name, labels)
            if series[key] == nil { series[key] = series.count }
        }

        /// A sample line's name and labels as the registry writes them: `name{a="1",b="2"}`.
        static func key(_ name: String, _ labels: [(String, String)]) -> String {
            labels.isEmpty ? name : name + "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
        }
    }

    public init() {}

    /// A swift-metrics factory writing into this process's registry.
    public var factory: PrometheusMetricsFactory { PrometheusMetricsFactory(registry: registry) }

    /// Sets a gauge (created on first use).
    func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Double) {
        order.withLockedValue { $0.note(name, labels) }
        registry.makeGauge(name: name, labels: labels, help: help).set(value)
    }

    func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Int) {
        gauge(name, help, labels, Double(value))
    }

    /// Brings a counter to `total`, a running total the process keeps itself. A total that went down (a counter
    /// reset) resets the counter, as a restarted exporter would.
    func counter(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ total: Int) {
        order.withLockedValue { $0.note(name, labels) }
        let counter = registry.makeCounter(name: name, labels: labels, help: help)
        let key = name + "{" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        let total = Int64(max(0, total))
        let delta: Int64? = lastTotals.withLockedValue { last in
            let previous = last[key] ?? 0
            last[key] = total
            return total >= previous ? total - previous : nil
        }
        if let delta {
            if delta > 0 { counter.increment(by: delta) }
        } else {
            counter.reset()
            counter.increment(by: total)
        }
    }

    /// The exposition text: the registry's families, then the hand-assembled latency histograms.
    func exposition() -> String {
        var text = ordered(registry.emitToString())
        routes.appendExposition(to: &text)
        return text
    }

    /// The registry's text with its families and their samples in the order they were written.
    private func ordered(_ text: String) -> String {
        let order = order.withLockedValue { $0 }
        var families: [(name: String, comments: [Substring], samples: [Substring])] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let name = String(line.dropFirst(7).prefix { $0 != " " })
                if families.last?.name != name || !(families.last?.samples.isEmpty ?? true) { families.append((name, [], [])) }
                families[families.count - 1].comments.append(line)
            } else {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                if families.isEmpty || !name.hasPrefix(families[families.count - 1].name) { families.append((name, [], [])) }
                families[families.count - 1].samples.append(line)
            }
        }
        let rank = { (name: String) in order.families[name] ?? Int.max }
        let sorted = families.enumerated().sorted { (rank($0.element.name), $0.offset) < (rank($1.element.name), $1.offset) }
        var out = ""
        for (_, family) in sorted {
            for line in family.comments { out += line + "\n" }
            let samples = family.samples.enumerated().sorted { left, right in
                let a = order.series[String(left.element.prefix { $0 != " " })] ?? Int.max
                let b = order.series[String(right.element.prefix { $0 != " " })] ?? Int.max
                return (a, left.offset) < (b, right.offset)
            }
            for (_, line) in samples { out += line + "\n" }
        }
        return out
    }
}
