import Foundation

/// A step's check, written in the lesson as a declaration (`> **Check:** lb-01 sees web-01 DOWN`), never as code.
///
/// What a check can say (words in CAPITALS are yours):
///
/// - `BALANCER sees SERVER STATUS` — the balancer's health-check view: `lb-01 sees web-01 DOWN`, `… UP`, `… DOWN 1/2`
/// - `TARGET is [not] STATE` — a process or every process of a server: `web-01/nginx is crashed`; states are
///   running, crashed, stopped, hung, slow; for a store also `read-only` and `writable`
/// - `replica lag is above N` — Seconds_Behind_Source on the replica is more than N seconds
/// - `replication is running|stopped` — the replica's IO and SQL threads
/// - `output contains "TEXT"`, `output does not contain "TEXT"` — what the learner's commands printed in this step
/// - `at least N requests succeeded|failed since the step began` — counted from what `load` and `curl` printed
/// - `` `COMMAND` shows "TEXT" `` — runs a harmless command (`alerts`, `replication`) and looks at what it prints
public struct Check: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case balancerSees(balancer: String, server: String, status: String)
        case processState(target: String, state: String, negated: Bool)
        case replicaLagAbove(seconds: Int)
        case replicationRunning(Bool)
        case outputContains(String, negated: Bool)
        case requests(atLeast: Int, succeeded: Bool)
        case commandShows(command: String, text: String, negated: Bool)
    }

    public var kind: Kind
    /// As written in the lesson.
    public var text: String
    public var description: String { text }

    public init(kind: Kind, text: String) {
        self.kind = kind
        self.text = text
    }

    static let processStates = ["running", "crashed", "stopped", "hung", "slow", "read-only", "writable"]

    /// The forms a check can take, for the error when one is not understood.
    public static let forms = """
        BALANCER sees SERVER STATUS · TARGET is [not] running|crashed|stopped|hung|slow|read-only|writable · \
        replica lag is above N · replication is running|stopped · output [does not] contain(s) "TEXT" · \
        at least N requests succeeded|failed since the step began · `COMMAND` shows "TEXT"
        """

    /// Reads one check; nil when the text fits none of the forms.
    public static func parse(_ raw: String) -> Check? {
        let text = collapsingSpaces(raw)
        guard !text.isEmpty else { return nil }
        func make(_ kind: Kind) -> Check { Check(kind: kind, text: text) }

        if let m = text.wholeMatch(of: #/`([^`]+)` (shows|does not show) "(.*)"/#) {
            return make(.commandShows(command: String(m.1), text: String(m.3), negated: m.2 == "does not show"))
        }
        if let m = text.wholeMatch(of: #/output (contains|does not contain) "(.*)"/#) {
            return make(.outputContains(String(m.2), negated: m.1 != "contains"))
        }
        if let m = text.wholeMatch(of: #/at least (\d+) requests? (succeeded|failed)( since the step began)?/#), let n = Int(m.1) {
            return make(.requests(atLeast: n, succeeded: m.2 == "succeeded"))
        }
        if let m = text.wholeMatch(of: #/replica lag is above (\d+)( s| seconds?)?/#), let n = Int(m.1) {
            return make(.replicaLagAbove(seconds: n))
        }
        if let m = text.wholeMatch(of: #/replication is (running|stopped)/#) {
            return make(.replicationRunning(m.1 == "running"))
        }
        if let m = text.wholeMatch(of: #/([a-z0-9-]+) sees ([a-z0-9-]+) ((?:UP|DOWN|MAINT|NOLB|no check)(?: \d+/\d+)?)/#) {
            return make(.balancerSees(balancer: String(m.1), server: String(m.2), status: String(m.3)))
        }
        if let m = text.wholeMatch(of: #/([a-z0-9/-]+) is (not )?([a-z-]+)/#), processStates.contains(String(m.3)) {
            return make(.processState(target: String(m.1), state: String(m.3), negated: m.2 != nil))
        }
        return nil
    }
}

/// Runs of spaces become one, except inside "quotes" and `backticks` (where they are part of the text to find).
func collapsingSpaces(_ raw: String) -> String {
    var out = ""
    var quote: Character?
    var lastWasSpace = false
    for character in raw.trimmingCharacters(in: .whitespaces) {
        if let open = quote {
            out.append(character)
            if character == open { quote = nil }
            continue
        }
        if character == "\"" || character == "`" { quote = character }
        if character == " " || character == "\t" {
            if !lastWasSpace { out.append(" ") }
            lastWasSpace = true
            continue
        }
        lastWasSpace = false
        out.append(character)
    }
    return out
}

/// Whether a check passed, and why — in words the learner can act on.
public struct CheckOutcome: Sendable, Equatable {
    public var passed: Bool
    public var why: String
    public init(passed: Bool, why: String) {
        self.passed = passed
        self.why = why
    }
    static func pass(_ why: String) -> CheckOutcome { CheckOutcome(passed: true, why: why) }
    static func fail(_ why: String) -> CheckOutcome { CheckOutcome(passed: false, why: why) }
}
