import NIOConcurrencyHelpers

/// The monitor's time series, in memory: what each scrape read, kept for `retention` seconds (enough for the longest
/// range a rule asks for). Like Prometheus, a series that a target stops exposing, or every series of a target whose
/// scrape failed, is stale at once: instant queries no longer see it (only `up` says the target is down).
final class SeriesStore: SeriesSource, Sendable {
    struct Series {
        var labels: Labels
        var points: [Point] = []
        var stale = false
    }

    private struct Box {
        var series: [Labels: Series] = [:]
        var byTarget: [String: Set<Labels>] = [:]
    }

    /// How far back an instant query looks for a sample (Prometheus's lookback delta).
    static let lookback: Double = 5 * 60
    let retention: Double
    private let box = NIOLockedValueBox(Box())

    init(retention: Double = 5 * 60) { self.retention = retention }

    /// Records one scrape of a target: its samples (labels include `__name__`) at `time`; the target's other series
    /// go stale.
    func append(target: String, samples: [VectorSample], at time: Double) {
        box.withLockedValue { box in
            var seen = Set<Labels>()
            for sample in samples {
                seen.insert(sample.labels)
                var series = box.series[sample.labels] ?? Series(labels: sample.labels)
                series.stale = false
                series.points.append(Point(time: time, value: sample.value))
                if let first = series.points.first, time - first.time > retention {
                    series.points.removeAll { time - $0.time > retention }
                }
                box.series[sample.labels] = series
            }
            for labels in box.byTarget[target, default: []] where !seen.contains(labels) {
                box.series[labels]?.stale = true
            }
            box.byTarget[target] = seen
        }
    }

    func instant(_ selector: PromQL.Selector, at time: Double) -> [VectorSample] {
        box.withLockedValue { box in
            box.series.values.compactMap { series -> VectorSample? in
                guard !series.stale, selector.matches(series.labels),
                      let last = series.points.last(where: { $0.time <= time }), time - last.time <= Self.lookback else { return nil }
                return VectorSample(labels: series.labels, value: last.value)
            }
            .sorted { $0.labels.sortedDescription < $1.labels.sortedDescription }
        }
    }

    func range(_ selector: PromQL.Selector, seconds: Double, at time: Double) -> [(labels: Labels, points: [Point])] {
        box.withLockedValue { box in
            box.series.values.compactMap { series -> (labels: Labels, points: [Point])? in
                guard selector.matches(series.labels) else { return nil }
                let points = series.points.filter { $0.time > time - seconds && $0.time <= time }
                return points.isEmpty ? nil : (series.labels, points)
            }
        }
    }
}
