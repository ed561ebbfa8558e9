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

    public init() {}

    /// A swift-metrics factory writing into this process's registry.
    public var factory: PrometheusMetricsFactory { PrometheusMetricsFactory(registry: registry) }

    /// Sets a gauge (created on first use).
    func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Double) {
        registry.makeGauge(name: name, labels: labels, help: help).set(value)
    }

    func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Int) {
        gauge(name, help, labels, Double(value))
    }

    /// Brings a counter to `total`, a running total the process keeps itself. A total that went down (a counter
    /// reset) resets the counter, as a restarted exporter would.
    func counter(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ total: Int) {
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
        var text = registry.emitToString()
        routes.appendExposition(to: &text)
        return text
    }
}
