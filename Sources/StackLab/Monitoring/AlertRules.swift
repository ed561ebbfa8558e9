import Foundation
import Yams

/// An alerting rule from a Prometheus rule file.
///
/// ```yaml
/// groups:
///   - name: stacklab
///     rules:
///       - alert: InstanceDown
///         expr: up == 0
///         for: 5s
///         labels: {severity: page}
///         annotations: {summary: "Instance {{ $labels.instance }} down"}
/// ```
public struct AlertRule: Sendable, Equatable {
    public var name: String
    public var expression: PromQL
    /// The text of `expr` as written.
    public var expressionText: String
    /// `for`: how long the condition must hold before the alert fires (0: fires at once).
    public var holdSeconds: Double
    public var labels: [String: String]
    public var annotations: [String: String]
    public var group: String

    public init(name: String, expression: String, holdSeconds: Double = 0, labels: [String: String] = [:],
                annotations: [String: String] = [:], group: String = "stacklab") throws(PromQLError) {
        self.name = name
        self.expressionText = expression
        self.expression = try PromQL.parse(expression)
        self.holdSeconds = holdSeconds
        self.labels = labels
        self.annotations = annotations
        self.group = group
    }
}

/// A problem in a rule file, worded like `promtool check rules`, with the line.
public struct RuleFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var reason: String
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)" }
}

/// Prometheus rule files (`groups:` → `rules:`), alerting rules only.
public enum RuleFile {
    /// The rules a monitor starts with when the lab has no `monitor/alerts.yml`.
    public static let defaultText = """
        # Alert rules for the lab's monitor, in Prometheus's rule-file format (promtool check rules accepts this file).
        groups:
          - name: stacklab
            rules:
              # A scrape that fails means the process is down, hung, or cut off from the monitor.
              - alert: InstanceDown
                expr: up == 0
                for: 5s
                labels:
                  severity: page
                annotations:
                  summary: "Instance {{ $labels.instance }} down"
                  description: "{{ $labels.instance }} of job {{ $labels.job }} has not answered its scrape for more than 5 seconds."
              # The balancer has taken a server out of rotation: the site runs on less capacity than designed.
              - alert: BackendServerDown
                expr: haproxy_server_status{state="DOWN"} == 1
                for: 5s
                labels:
                  severity: warning
                annotations:
                  summary: "{{ $labels.proxy }}/{{ $labels.server }} is DOWN on the balancer"
              # Every server of a backend is down: visitors get 503.
              - alert: BackendDown
                expr: haproxy_backend_active_servers == 0
                for: 0s
                labels:
                  severity: page
                annotations:
                  summary: "Backend {{ $labels.proxy }} has no server available"
              # More than 1 error per second answered by the balancer.
              - alert: HighErrorRate
                expr: sum by (proxy) (rate(haproxy_backend_http_responses_total{code="5xx"}[1m])) > 1
                for: 10s
                labels:
                  severity: warning
                annotations:
                  summary: "Backend {{ $labels.proxy }} answers {{ $value }} errors per second"

        """

    public static func load(path: String) throws -> [AlertRule] {
        let bytes: [UInt8]
        do {
            guard let read = try LabFileText.bytes(atPath: path, file: path) else {
                throw RuleFileError(file: path, line: nil, reason: "cannot read the rule file: there is no such file")
            }
            bytes = read
        } catch let error as ConfigError {
            throw RuleFileError(file: path, line: nil, reason: error.reason.replacingOccurrences(of: "cannot read", with: "cannot read the rule file"))
        }
        // YAML is UTF-8 everywhere, comments included: promtool refuses any other byte, in libyaml's words.
        switch LabFileText.yaml(bytes) {
        case .success(let text): return try parse(text, file: path)
        case .failure(let error): throw RuleFileError(file: path, line: error.line, reason: "yaml: \(error.reason)")
        }
    }

    /// How deep a rule file may nest (Prometheus's YAML reader allows 10000; Yams recurses, so stacklab stops sooner).
    static let maximumNesting = ConfigText.maximumNesting

    public static func parse(_ text: String, file: String = "alerts.yml") throws(RuleFileError) -> [AlertRule] {
        if let line = YAMLNesting.firstLine(deeperThan: maximumNesting, in: text) {
            throw RuleFileError(file: file, line: line, reason: "yaml: exceeded max depth of \(maximumNesting) (Prometheus allows 10000; "
                + "the lab's monitor reads at most \(maximumNesting) levels)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw RuleFileError(file: file, line: nil, reason: "YAML: \(error)")
        }
        guard let root else { return [] }
        func fail(_ node: Node?, _ reason: String) -> RuleFileError {
            RuleFileError(file: file, line: node?.mark.map { $0.line }, reason: reason)
        }
        guard let top = root.mapping else { throw fail(root, "a rule file is a mapping with a 'groups' list") }
        for (key, _) in top where key.string != "groups" {
            throw fail(key, "field \(key.string ?? "?") not found in type rulefmt.RuleGroups")
        }
        guard let groups = root["groups"]?.sequence else { throw fail(root, "'groups' must be a list of groups") }
        var rules: [AlertRule] = []
        var groupNames: Set<String> = []
        for group in groups {
            guard let mapping = group.mapping else { throw fail(group, "a group is a mapping with 'name' and 'rules'") }
            for (key, _) in mapping where !["name", "interval", "rules", "limit"].contains(key.string ?? "") {
                throw fail(key, "field \(key.string ?? "?") not found in type rulefmt.RuleGroup")
            }
            for (key, _) in mapping where ["interval", "limit"].contains(key.string ?? "") {
                // Prometheus knows these; the lab's monitor evaluates every group at its scrape interval, without limits.
                throw fail(key, "'\(key.string ?? "")' is not supported by the lab's monitor (it evaluates every group each scrape interval)")
            }
            guard let name = group["name"]?.string, !name.isEmpty else { throw fail(group, "groupname must not be empty") }
            guard groupNames.insert(name).inserted else { throw fail(group, "\(name): repeated in the same file") }
            for rule in group["rules"]?.sequence ?? Node.Sequence([]) {
                guard let fields = rule.mapping else { throw fail(rule, "a rule is a mapping with 'alert' and 'expr'") }
                for (key, _) in fields where !["alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"].contains(key.string ?? "") {
                    throw fail(key, "field \(key.string ?? "?") not found in type rulefmt.Rule")
                }
                if rule["keep_firing_for"] != nil {
                    throw fail(rule["keep_firing_for"], "'keep_firing_for' is not supported by the lab's monitor")
                }
                if rule["record"] != nil {
                    throw fail(rule, "recording rules ('record:') are not supported by the lab's monitor; use 'alert:'")
                }
                guard let alert = rule["alert"]?.string, !alert.isEmpty else { throw fail(rule, "one of 'record' or 'alert' must be set") }
                guard let expr = rule["expr"]?.string, !expr.isEmpty else { throw fail(rule, "field 'expr' must be set in rule \(alert)") }
                var hold = 0.0
                if let text = rule["for"]?.string {
                    guard let seconds = PromQL.parseDuration(text) else {
                        throw fail(rule["for"], "not a valid duration string: \"\(text)\" (use 5s, 1m, 1h30m)")
                    }
                    hold = seconds
                }
                func strings(_ field: String) throws(RuleFileError) -> [String: String] {
                    guard let node = rule[field] else { return [:] }
                    guard let map = node.mapping else { throw fail(node, "'\(field)' must be a mapping of names to strings") }
                    var result: [String: String] = [:]
                    for (key, value) in map {
                        guard let name = key.string, let text = value.string else { throw fail(key, "'\(field)' must map names to strings") }
                        result[name] = text
                    }
                    return result
                }
                do {
                    rules.append(try AlertRule(name: alert, expression: expr, holdSeconds: hold, labels: try strings("labels"),
                                               annotations: try strings("annotations"), group: name))
                } catch let error as PromQLError {
                    throw fail(rule["expr"], "could not parse expression: \(error)")
                } catch let error as RuleFileError {
                    throw error
                } catch {
                    throw fail(rule, "\(error)")
                }
            }
        }
        return rules
    }
}
