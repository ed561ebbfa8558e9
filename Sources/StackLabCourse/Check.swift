import Foundation

/// A step's check, written in the lesson as a declaration (`> **Check:** lb-01 sees web-01 DOWN`), never as code.
///
/// Two families (words in CAPITALS are yours; lessons/README.md has the table):
///
/// The lab now — re-checked for a while after the step's commands, as the lab settles:
/// - `BALANCER sees SERVER STATUS` — the balancer's health-check view: `lb-01 sees web-01 DOWN`, `… UP`, `… DOWN 1/2`
/// - `TARGET is [not] STATE` — a process or every process of a server: `web-01/nginx is crashed`; states are
///   running, crashed, stopped, hung, slow; for a store also `read-only` and `writable`
/// - `replica lag is above N`, `replica delay is N s`, `replication is running|stopped`, `the replica has the new post`
/// - `alert NAME is inactive|pending|firing [for INSTANCE]`, `the firewall on SERVER is active|inactive`,
///   `SERVER speaks HTTPS`
/// - `` `COMMAND` shows "TEXT" `` — runs a harmless command (`alerts`) and looks at what it prints
///
/// What the learner's commands did in this step — read from what the verbs reported:
/// - `` you ran `COMMAND` ``; `at least N requests succeeded|failed`; `no request failed`
/// - `requests split evenly between A and B (±5 %)`; `SERVER served N % of the requests (±T %)`;
///   `requests were served by A and B`
/// - `the last request|read|write got NNN|succeeded|failed`; `the last request went through|did not go through P, Q`;
///   `the last request was redirected to "PREFIX"`; `the last read [from the replica] showed|did not show the new post`
/// - `the last sql [on SERVER] failed with ERROR N|succeeded|showed|did not show the new post|"TEXT"`
/// - `the last replication report showed lag above N`; `the tap showed|did not show "TEXT"`;
///   `the tap saw only KIND messages`; `the last scan found port N open|closed|filtered`
/// - `output [does not] contain(s) "TEXT"` — printed text, for what no verb reports
public struct Check: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        // The lab now.
        case balancerSees(balancer: String, server: String, status: String)
        case processState(target: String, state: String, negated: Bool)
        case replicaLagAbove(seconds: Int)
        case replicationRunning(Bool)
        case replicaDelay(seconds: Int)
        case replicaHasNewPost
        case alert(name: String, state: String, instance: String?)
        case firewall(server: String, active: Bool)
        case speaksHTTPS(server: String)
        case commandShows(command: String, text: String, negated: Bool)
        // What the step's commands did.
        case ran(String)
        case requests(atLeast: Int, succeeded: Bool)
        case noRequestFailed
        case splitEvenly(String, String, tolerance: Double)
        case served(server: String, percent: Double, tolerance: Double)
        case servedByAll([String])
        case lastRequest(RequestSelector, RequestExpectation)
        case lastRequestHops([String], negated: Bool)
        case lastRequestRedirected(to: String)
        case lastReadNewPost(fromReplica: Bool, shown: Bool)
        case lastSQL(server: String?, SQLExpectation)
        case replicationReportLagAbove(seconds: Int)
        case tapShows(String, negated: Bool)
        case tapOnly(kind: String)
        case scanFound(port: Int, state: String)
        case outputContains(String, negated: Bool)
    }

    public enum RequestSelector: String, Sendable, Equatable { case request, read, write }
    public enum RequestExpectation: Sendable, Equatable { case status(Int), succeeded, failed }
    public enum SQLExpectation: Sendable, Equatable {
        case failedWith(Int)
        case succeeded
        case newPost(shown: Bool)
        case text(String, shown: Bool)
    }

    public var kind: Kind
    /// As written in the lesson.
    public var text: String
    public var description: String { text }

    public init(kind: Kind, text: String) {
        self.kind = kind
        self.text = text
    }

    /// Whether the check reads the lab as it is now (so waiting can make it pass), rather than what the learner's
    /// commands reported (which only another command changes).
    public var readsTheLab: Bool {
        switch kind {
        case .balancerSees, .processState, .replicaLagAbove, .replicationRunning, .replicaDelay, .replicaHasNewPost, .alert,
             .firewall, .speaksHTTPS, .commandShows: true
        default: false
        }
    }

    static let processStates = ["running", "crashed", "stopped", "hung", "slow", "read-only", "writable"]

    /// The forms a check can take, for the error when one is not understood.
    public static let forms = """
        BALANCER sees SERVER STATUS · TARGET is [not] running|crashed|stopped|hung|slow|read-only|writable · \
        replica lag is above N · replica delay is N s · replication is running|stopped · the replica has the new post · \
        alert NAME is inactive|pending|firing [for INSTANCE] · the firewall on SERVER is active|inactive · SERVER speaks HTTPS · \
        `COMMAND` shows "TEXT" · you ran `COMMAND` · at least N requests succeeded|failed · no request failed · \
        requests split evenly between A and B (±5 %) · SERVER served N % of the requests (±T %) · \
        requests were served by A and B · the last request|read|write got NNN|succeeded|failed · \
        the last request went through|did not go through P, Q · the last request was redirected to "PREFIX" · \
        the last read [from the replica] showed|did not show the new post · \
        the last sql [on SERVER] failed with ERROR N|succeeded|showed|did not show the new post|"TEXT" · \
        the last replication report showed lag above N · the tap showed|did not show "TEXT" · \
        the tap saw only KIND messages · the last scan found port N open|closed|filtered · output [does not] contain(s) "TEXT"
        """

    /// Reads one check; nil when the text fits none of the forms.
    public static func parse(_ raw: String) -> Check? {
        let text = collapsingSpaces(raw)
        guard !text.isEmpty, let kind = kind(of: text) else { return nil }
        return Check(kind: kind, text: text)
    }

    static func kind(of text: String) -> Kind? {
        if let m = text.wholeMatch(of: #/`([^`]+)` (shows|does not show) "(.*)"/#) {
            return .commandShows(command: String(m.1), text: String(m.3), negated: m.2 == "does not show")
        }
        if let m = text.wholeMatch(of: #/output (contains|does not contain) "(.*)"/#) {
            return .outputContains(String(m.2), negated: m.1 != "contains")
        }
        if let m = text.wholeMatch(of: #/you ran `([^`]+)`/#) { return .ran(collapsingSpaces(String(m.1))) }
        if let m = text.wholeMatch(of: #/at least (\d+) requests? (succeeded|failed)( since the step began)?/#), let n = Int(m.1) {
            return .requests(atLeast: n, succeeded: m.2 == "succeeded")
        }
        if text.wholeMatch(of: #/no requests? failed/#) != nil { return .noRequestFailed }
        if let m = text.wholeMatch(of: #/requests split evenly between ([a-z0-9-]+) and ([a-z0-9-]+)(?: \(± ?(\d+(?:\.\d+)?) ?%\))?/#) {
            return .splitEvenly(String(m.1), String(m.2), tolerance: m.3.flatMap { Double($0) } ?? 5)
        }
        if let m = text.wholeMatch(of: #/([a-z0-9-]+) served (\d+(?:\.\d+)?) ?% of the requests(?: \(± ?(\d+(?:\.\d+)?) ?%\))?/#),
           let share = Double(m.2), share <= 100 {
            return .served(server: String(m.1), percent: share, tolerance: m.3.flatMap { Double($0) } ?? 0)
        }
        if let m = text.wholeMatch(of: #/requests were served by ([a-z0-9-]+(?:(?:, | and |, and )[a-z0-9-]+)*)/#) {
            return .servedByAll(list(String(m.1)))
        }
        if let m = text.wholeMatch(of: #/the last (request|read|write) (?:got (\d{3})|(succeeded|failed))/#),
           let selector = RequestSelector(rawValue: String(m.1)) {
            if let status = m.2.flatMap({ Int($0) }) { return .lastRequest(selector, .status(status)) }
            return .lastRequest(selector, m.3 == "succeeded" ? .succeeded : .failed)
        }
        if let m = text.wholeMatch(of: #/the last request (went|did not go) through ([a-z0-9/, -]+)/#) {
            return .lastRequestHops(list(String(m.2)), negated: m.1 != "went")
        }
        if let m = text.wholeMatch(of: #/the last request was redirected to "(.+)"/#) { return .lastRequestRedirected(to: String(m.1)) }
        if let m = text.wholeMatch(of: #/the last read( from the replica)? (showed|did not show) the new post/#) {
            return .lastReadNewPost(fromReplica: m.1 != nil, shown: m.2 == "showed")
        }
        if text == "the replica has the new post" { return .replicaHasNewPost }
        if let m = text.wholeMatch(of: #/the last sql(?: on ([a-z0-9/-]+))? (.+)/#) {
            let server = m.1.map { String($0.split(separator: "/")[0]) }
            let rest = String(m.2)
            if let e = rest.wholeMatch(of: #/failed with ERROR (\d+)/#), let code = Int(e.1) { return .lastSQL(server: server, .failedWith(code)) }
            if rest == "succeeded" { return .lastSQL(server: server, .succeeded) }
            if let e = rest.wholeMatch(of: #/(showed|did not show) the new post/#) { return .lastSQL(server: server, .newPost(shown: e.1 == "showed")) }
            if let e = rest.wholeMatch(of: #/(showed|did not show) "(.+)"/#) { return .lastSQL(server: server, .text(String(e.2), shown: e.1 == "showed")) }
            return nil
        }
        if let m = text.wholeMatch(of: #/the last replication report showed lag above (\d+)( s| seconds?)?/#), let n = Int(m.1) {
            return .replicationReportLagAbove(seconds: n)
        }
        if let m = text.wholeMatch(of: #/the tap (showed|did not show) "(.+)"/#) { return .tapShows(String(m.2), negated: m.1 != "showed") }
        if let m = text.wholeMatch(of: #/the tap saw only ([A-Za-z]+) (?:messages|records)/#) {
            let kind = m.1.lowercased()
            return ["text", "tls", "mysql", "binary"].contains(kind) ? .tapOnly(kind: kind) : nil
        }
        if let m = text.wholeMatch(of: #/the last scan found port (\d+) (open|closed|filtered)/#), let port = Int(m.1) {
            return .scanFound(port: port, state: String(m.2))
        }
        if let m = text.wholeMatch(of: #/replica lag is above (\d+)( s| seconds?)?/#), let n = Int(m.1) {
            return .replicaLagAbove(seconds: n)
        }
        if let m = text.wholeMatch(of: #/replica delay is (\d+)( s| seconds?)?/#), let n = Int(m.1) { return .replicaDelay(seconds: n) }
        if let m = text.wholeMatch(of: #/replication is (running|stopped)/#) {
            return .replicationRunning(m.1 == "running")
        }
        if let m = text.wholeMatch(of: #/alert ([A-Za-z_:][A-Za-z0-9_:]*) is (inactive|pending|firing)(?: for ([a-z0-9/-]+))?/#) {
            return .alert(name: String(m.1), state: String(m.2), instance: m.3.map(String.init))
        }
        if let m = text.wholeMatch(of: #/the firewall on ([a-z0-9-]+) is (active|inactive)/#) {
            return .firewall(server: String(m.1), active: m.2 == "active")
        }
        if let m = text.wholeMatch(of: #/([a-z0-9-]+) speaks HTTPS/#) { return .speaksHTTPS(server: String(m.1)) }
        if let m = text.wholeMatch(of: #/([a-z0-9-]+) sees ([a-z0-9-]+) ((?:UP|DOWN|MAINT|NOLB|no check)(?: \d+/\d+)?)/#) {
            return .balancerSees(balancer: String(m.1), server: String(m.2), status: String(m.3))
        }
        if let m = text.wholeMatch(of: #/([a-z0-9/-]+) is (not )?([a-z-]+)/#), processStates.contains(String(m.3)) {
            return .processState(target: String(m.1), state: String(m.3), negated: m.2 != nil)
        }
        return nil
    }

    /// `web-01, web-02 and web-03` → the three names.
    static func list(_ text: String) -> [String] {
        text.replacingOccurrences(of: ", and ", with: ",").replacingOccurrences(of: " and ", with: ",")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
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

/// Whether a check passed, and why — in words the learner can act on. A passing check's `why` adds what was seen
/// (`20 failed: connection refused × 20`), or is empty when the check's own words say it all.
public struct CheckOutcome: Sendable, Equatable {
    public var passed: Bool
    public var why: String
    public init(passed: Bool, why: String) {
        self.passed = passed
        self.why = why
    }
    static func pass(_ why: String = "") -> CheckOutcome { CheckOutcome(passed: true, why: why) }
    static func fail(_ why: String) -> CheckOutcome { CheckOutcome(passed: false, why: why) }

    /// `✓ lb-01 sees web-01 UP`, `✗ load saw … — 1 failed so far`: the check, then why, unless that says the same.
    public func line(for check: Check) -> String {
        let words = why.trimmingCharacters(in: .whitespaces)
        if words.isEmpty || words == check.text || check.text.hasSuffix(words) { return check.text }
        return "\(check.text) — \(words)"
    }
}
