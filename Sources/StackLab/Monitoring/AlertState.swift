import Foundation

/// Where an alert stands, in Prometheus's words.
public enum AlertState: String, Sendable, Equatable, Comparable {
    /// The condition is false (or a firing alert has resolved).
    case inactive
    /// The condition is true, `for` has not elapsed yet.
    case pending
    /// The condition has held for `for`: notifications go out.
    case firing

    private var rank: Int { self == .inactive ? 0 : self == .pending ? 1 : 2 }
    public static func < (a: AlertState, b: AlertState) -> Bool { a.rank < b.rank }
}

/// One alert: a rule's condition for one series (`InstanceDown{instance="web-02/nginx"}`).
public struct Alert: Sendable, Equatable {
    /// The series' labels (without the metric name), the rule's labels, and `alertname`.
    public var labels: Labels
    public var annotations: [String: String]
    public var state: AlertState
    public var activeAt: Date
    public var firedAt: Date?
    public var resolvedAt: Date?
    public var value: Double

    public var name: String { labels["alertname"] ?? "" }
}

/// What changed at an evaluation, for the shell's notification lines and `top`'s event log.
public struct AlertEvent: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The condition became true; the alert waits for `for`.
        case pending
        /// The condition held for `for`.
        case firing
        /// A firing alert's condition is false again.
        case resolved
        /// A pending alert's condition went away before `for` elapsed (it never fired).
        case inactive
    }

    public var kind: Kind
    public var alert: Alert
    public var time: Date

    public var alertName: String { alert.name }

    /// `alert InstanceDown firing: instance=web-02/nginx job=nginx — Instance web-02/nginx down`
    public var description: String {
        let keys = alert.labels.keys.filter { !["alertname", "severity"].contains($0) }.sorted()
        let labels = keys.map { "\($0)=\(alert.labels[$0] ?? "")" }.joined(separator: " ")
        let summary = alert.annotations["summary"].map { " — \($0)" } ?? ""
        return "alert \(alert.name) \(kind.rawValue)\(labels.isEmpty ? "" : ": \(labels)")\(summary)"
    }
}

/// An alerting rule's live state: Prometheus's `AlertingRule.Eval`, as a value type fed with each evaluation's result.
///
/// For every series the expression returns, an alert is created `pending` (with `activeAt` = now) or kept; it turns
/// `firing` at the first evaluation at which it has been active for at least `for`. A series that is no longer returned
/// deletes a pending alert, and turns a firing one `inactive` with `resolvedAt` = now (kept 15 minutes, as Prometheus
/// keeps resolved alerts to notify Alertmanager). A resolved alert whose condition comes back starts again as pending.
public struct AlertRuleState: Sendable, Equatable {
    public let rule: AlertRule
    /// Alerts by their labels, including resolved ones still kept.
    public private(set) var alerts: [Labels: Alert] = [:]
    public private(set) var lastEvaluation: Date?
    public private(set) var lastError: String?

    /// Prometheus's `resolvedRetention`.
    static let resolvedRetention: Double = 15 * 60

    public init(rule: AlertRule) { self.rule = rule }

    /// The rule's state: the highest state of its alerts (`inactive` when none is pending or firing).
    public var state: AlertState { alerts.values.map(\.state).max() ?? .inactive }

    /// Pending and firing alerts, firing first, then by labels.
    public var activeAlerts: [Alert] {
        alerts.values.filter { $0.state != .inactive }.sorted {
            $0.state != $1.state ? $0.state > $1.state : $0.labels.sortedDescription < $1.labels.sortedDescription
        }
    }

    /// Feeds one evaluation's result (the series for which the condition is true now). Returns what changed.
    public mutating func evaluate(_ result: [VectorSample], at time: Date) -> [AlertEvent] {
        lastEvaluation = time
        lastError = nil
        var events: [AlertEvent] = []
        var current: Set<Labels> = []
        for sample in result {
            var labels = sample.labels.droppingName()
            for (name, value) in rule.labels { labels[name] = Self.expand(value, labels: sample.labels.droppingName(), value: sample.value) }
            labels["alertname"] = rule.name
            let annotations = rule.annotations.mapValues { Self.expand($0, labels: sample.labels.droppingName(), value: sample.value) }
            current.insert(labels)
            if var existing = alerts[labels], existing.state != .inactive {
                existing.value = sample.value
                existing.annotations = annotations
                alerts[labels] = existing
                continue
            }
            let alert = Alert(labels: labels, annotations: annotations, state: .pending, activeAt: time, value: sample.value)
            alerts[labels] = alert
            if rule.holdSeconds > 0 { events.append(AlertEvent(kind: .pending, alert: alert, time: time)) }
        }
        for (labels, var alert) in alerts {
            if !current.contains(labels) {
                if alert.state == .pending {
                    alerts[labels] = nil
                    alert.state = .inactive
                    events.append(AlertEvent(kind: .inactive, alert: alert, time: time))
                } else if alert.state == .firing {
                    alert.state = .inactive
                    alert.resolvedAt = time
                    alerts[labels] = alert
                    events.append(AlertEvent(kind: .resolved, alert: alert, time: time))
                } else if let resolved = alert.resolvedAt, time.timeIntervalSince(resolved) > Self.resolvedRetention {
                    alerts[labels] = nil
                }
                continue
            }
            if alert.state == .pending, time.timeIntervalSince(alert.activeAt) >= rule.holdSeconds {
                alert.state = .firing
                alert.firedAt = time
                alerts[labels] = alert
                events.append(AlertEvent(kind: .firing, alert: alert, time: time))
            }
        }
        return events.sorted { $0.alert.labels.sortedDescription < $1.alert.labels.sortedDescription }
    }

    /// An evaluation that failed (a bad expression at run time): the alerts stay as they are, as in Prometheus.
    public mutating func recordError(_ message: String, at time: Date) {
        lastEvaluation = time
        lastError = message
    }

    /// Prometheus's template subset for labels and annotations: `{{ $labels.name }}`, `{{ $value }}`.
    static func expand(_ template: String, labels: Labels, value: Double) -> String {
        guard template.contains("{{") else { return template }
        var result = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                result += rest[open.lowerBound...]
                return result
            }
            let inner = rest[open.upperBound..<close.lowerBound].trimmingPrefixSpaces()
            if inner == "$value" {
                result += PromQL.format(value)
            } else if inner.hasPrefix("$labels.") {
                result += labels[String(inner.dropFirst(8))] ?? ""
            } else if inner == "$labels" {
                result += labels.sortedDescription
            } else {
                result += "{{" + rest[open.upperBound..<close.lowerBound] + "}}"
            }
            rest = rest[close.upperBound...]
        }
        return result + rest
    }
}

extension Dictionary where Key == String, Value == String {
    /// `{instance="web-02/nginx", job="nginx"}`: labels in a stable order.
    public var sortedDescription: String {
        "{" + keys.sorted().map { "\($0)=\"\(self[$0] ?? "")\"" }.joined(separator: ", ") + "}"
    }
}
