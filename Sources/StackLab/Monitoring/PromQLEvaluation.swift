import Foundation

/// One element of an instant vector.
public struct VectorSample: Sendable, Equatable {
    public var labels: Labels
    public var value: Double
    public init(labels: Labels, value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// A sample in time: seconds since the reference date, and the value.
public struct Point: Sendable, Equatable {
    public var time: Double
    public var value: Double
    public init(time: Double, value: Double) {
        self.time = time
        self.value = value
    }
}

/// Where an expression reads its series from (the monitor's store, or a fixed table in a test).
public protocol SeriesSource: Sendable {
    /// The latest non-stale sample of every series matching `selector` (labels include `__name__`).
    func instant(_ selector: PromQL.Selector, at time: Double) -> [VectorSample]
    /// Every sample in `(time - seconds, time]` of every matching series.
    func range(_ selector: PromQL.Selector, seconds: Double, at time: Double) -> [(labels: Labels, points: [Point])]
}

public enum PromValue: Sendable, Equatable {
    case scalar(Double)
    case vector([VectorSample])

    /// The result as an instant vector (a scalar has no labels).
    public var samples: [VectorSample] {
        switch self {
        case .scalar(let value): [VectorSample(labels: [:], value: value)]
        case .vector(let samples): samples
        }
    }
}

public struct PromQLEvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

extension PromQL {
    public func evaluate(in source: any SeriesSource, at time: Double) throws(PromQLEvaluationError) -> PromValue {
        switch self {
        case .number(let value):
            return .scalar(value)
        case .selector(let selector):
            return .vector(source.instant(selector, at: time))
        case .range:
            throw PromQLEvaluationError(reason: "a range vector (\(self)) cannot be the result; use rate() or increase() on it")
        case .negate(let inner):
            switch try inner.evaluate(in: source, at: time) {
            case .scalar(let value): return .scalar(-value)
            case .vector(let samples):
                return .vector(samples.map { VectorSample(labels: $0.labels.droppingName(), value: -$0.value) })
            }
        case .function(let name, let argument):
            return .vector(try Self.call(name, argument, source: source, at: time))
        case .aggregate(let op, let grouping, let inner):
            return .vector(Self.aggregate(op, grouping: grouping, try inner.evaluate(in: source, at: time).samples))
        case .binary(let op, let left, let right, let returnBool):
            return try Self.binary(op, try left.evaluate(in: source, at: time), try right.evaluate(in: source, at: time), returnBool: returnBool)
        }
    }

    private static func call(_ name: String, _ argument: PromQL, source: any SeriesSource, at time: Double) throws(PromQLEvaluationError) -> [VectorSample] {
        switch (name, argument) {
        case ("rate", .range(let selector, let seconds)), ("increase", .range(let selector, let seconds)):
            return source.range(selector, seconds: seconds, at: time).compactMap { series in
                guard let rate = extrapolatedRate(series.points, rangeStart: time - seconds, rangeEnd: time, isRate: name == "rate") else { return nil }
                return VectorSample(labels: series.labels.droppingName(), value: rate)
            }
        case ("irate", .range(let selector, let seconds)):
            return source.range(selector, seconds: seconds, at: time).compactMap { series in
                guard series.points.count >= 2 else { return nil }
                let last = series.points[series.points.count - 1], previous = series.points[series.points.count - 2]
                let delta = last.value < previous.value ? last.value : last.value - previous.value
                guard last.time > previous.time else { return nil }
                return VectorSample(labels: series.labels.droppingName(), value: delta / (last.time - previous.time))
            }
        case ("abs", let inner):
            return try inner.evaluate(in: source, at: time).samples.map { VectorSample(labels: $0.labels.droppingName(), value: abs($0.value)) }
        case ("absent", let inner):
            let found = try inner.evaluate(in: source, at: time).samples
            guard found.isEmpty else { return [] }
            var labels: Labels = [:]
            if case .selector(let selector) = inner {
                for matcher in selector.matchers where matcher.kind == .equal && matcher.label != "__name__" { labels[matcher.label] = matcher.value }
            }
            return [VectorSample(labels: labels, value: 1)]
        default:
            throw PromQLEvaluationError(reason: "\(name)() is not supported here")
        }
    }

    /// Prometheus's `extrapolatedRate`: the increase between the first and last samples in the range (counter resets
    /// added back), extrapolated towards the range's ends when the samples stop short of them, divided by the range
    /// for `rate`. Needs two samples.
    static func extrapolatedRate(_ points: [Point], rangeStart: Double, rangeEnd: Double, isRate: Bool) -> Double? {
        guard points.count >= 2, let first = points.first, let last = points.last else { return nil }
        var increase = last.value - first.value
        for index in 1..<points.count where points[index].value < points[index - 1].value {
            increase += points[index - 1].value
        }
        let sampled = last.time - first.time
        guard sampled > 0 else { return nil }
        let average = sampled / Double(points.count - 1)
        var toStart = first.time - rangeStart
        var toEnd = rangeEnd - last.time
        // A counter cannot go below zero: do not extrapolate past where it would have been zero.
        if increase > 0, first.value >= 0 {
            let toZero = sampled * (first.value / increase)
            if toZero < toStart { toStart = toZero }
        }
        let threshold = average * 1.1
        var extrapolateTo = sampled
        extrapolateTo += toStart < threshold ? toStart : average / 2
        extrapolateTo += toEnd < threshold ? toEnd : average / 2
        toEnd = 0
        var result = increase * (extrapolateTo / sampled)
        if isRate { result /= (rangeEnd - rangeStart) }
        return result
    }

    private static func aggregate(_ op: String, grouping: Grouping, _ samples: [VectorSample]) -> [VectorSample] {
        var groups: [Labels: [Double]] = [:]
        var order: [Labels] = []
        for sample in samples {
            let key: Labels = switch grouping {
            case .none: [:]
            case .by(let names): sample.labels.filter { names.contains($0.key) }
            case .without(let names): sample.labels.droppingName().filter { !names.contains($0.key) }
            }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(sample.value)
        }
        return order.map { key in
            let values = groups[key] ?? []
            let value: Double = switch op {
            case "sum": values.reduce(0, +)
            case "avg": values.reduce(0, +) / Double(max(1, values.count))
            case "min": values.min() ?? .nan
            case "max": values.max() ?? .nan
            default: Double(values.count)
            }
            return VectorSample(labels: key, value: value)
        }
    }

    private static let comparisons: Set<String> = ["==", "!=", ">", "<", ">=", "<="]

    private static func apply(_ op: String, _ a: Double, _ b: Double) -> Double {
        switch op {
        case "+": a + b
        case "-": a - b
        case "*": a * b
        case "/": a / b
        case "%": a.truncatingRemainder(dividingBy: b)
        case "==": a == b ? 1 : 0
        case "!=": a != b ? 1 : 0
        case ">": a > b ? 1 : 0
        case "<": a < b ? 1 : 0
        case ">=": a >= b ? 1 : 0
        default: a <= b ? 1 : 0
        }
    }

    private static func binary(_ op: String, _ left: PromValue, _ right: PromValue, returnBool: Bool) throws(PromQLEvaluationError) -> PromValue {
        let isComparison = comparisons.contains(op)
        // One side's sample against the other's value: comparisons filter (keeping the vector side's value and labels),
        // arithmetic computes and drops the metric name.
        func combine(_ sample: VectorSample, _ result: Double, keep value: Double) -> VectorSample? {
            if isComparison {
                if returnBool { return VectorSample(labels: sample.labels.droppingName(), value: result) }
                return result == 1 ? sample.withValue(value) : nil
            }
            return VectorSample(labels: sample.labels.droppingName(), value: result)
        }
        switch (left, right) {
        case (.scalar(let a), .scalar(let b)):
            if isComparison, !returnBool { throw PromQLEvaluationError(reason: "comparisons between scalars must use the bool modifier") }
            return .scalar(apply(op, a, b))
        case (.vector(let samples), .scalar(let b)):
            return .vector(samples.compactMap { combine($0, apply(op, $0.value, b), keep: $0.value) })
        case (.scalar(let a), .vector(let samples)):
            return .vector(samples.compactMap { combine($0, apply(op, a, $0.value), keep: $0.value) })
        case (.vector(let lhs), .vector(let rhs)):
            // One-to-one matching on every label but the name.
            var byLabels: [Labels: Double] = [:]
            for sample in rhs { byLabels[sample.labels.droppingName()] = sample.value }
            return .vector(lhs.compactMap { sample in
                guard let other = byLabels[sample.labels.droppingName()] else { return nil }
                return combine(sample, apply(op, sample.value, other), keep: sample.value)
            })
        }
    }
}

extension Dictionary where Key == String, Value == String {
    func droppingName() -> Labels {
        var copy = self
        copy.removeValue(forKey: "__name__")
        return copy
    }
}

extension VectorSample {
    func withValue(_ value: Double) -> VectorSample { VectorSample(labels: labels, value: value) }
}
