import Foundation

/// What happened, as the shell's verbs and the lab report it: the structured results lesson checks read, never the
/// printed text. `curl` reports a request, `load` its counts, `sql` its result, the fault verbs what they broke, and
/// the lab its events (health checks, alerts, replication) as they change.
public enum Fact: Sendable, Equatable {
    /// A command the learner typed (one of a line's `;` commands), as typed.
    case command(String)
    case request(RequestFact)
    case load(LoadFact)
    case sql(SQLFact)
    /// What `replication` showed, one entry a replica.
    case replication([ReplicaFact])
    case fault(FaultFact)
    case tap(TapFact)
    case scan(ScanFact)
    case event(LabEvent)
}

/// How a request ended: an HTTP answer, or no answer and why (as curl and wrk name it).
public enum RequestOutcome: Sendable, Hashable, CustomStringConvertible {
    case status(Int)
    case refused
    case timedOut
    case reset
    /// Any other way of getting no answer (`closed without answer`, a TLS failure …), in words.
    case noAnswer(String)

    /// An answer below 400.
    public var succeeded: Bool { if case .status(let code) = self { code < 400 } else { false } }
    /// A 5xx answer, or no answer at all (a 4xx is the client's mistake: neither).
    public var failed: Bool {
        if case .status(let code) = self { return code >= 500 }
        return true
    }

    public var description: String {
        switch self {
        case .status(let code): String(code)
        case .refused: "connection refused"
        case .timedOut: "timed out"
        case .reset: "connection reset"
        case .noAnswer(let words): words
        }
    }

    /// The words `load` reports failures with (`connection refused`, `timed out (no answer)` …) as an outcome.
    public init(loadWords words: String) {
        switch words {
        case "connection refused": self = .refused
        case "connect timed out", "timed out (no answer)": self = .timedOut
        case "connection reset", "closed without answer": self = .reset
        default: self = .noAnswer(words)
        }
    }
}

/// One hop of a request's trace.
public struct HopFact: Sendable, Equatable {
    /// `lb-01/haproxy`, `web-02/mysql`.
    public var process: String
    public var status: Int
    public var note: String
    /// For a database hop: `primary` or `replica` (what that store was when the request crossed it).
    public var role: String?
    public init(process: String, status: Int = 0, note: String = "", role: String? = nil) {
        self.process = process
        self.status = status
        self.note = note
        self.role = role
    }
}

/// One request `curl` sent.
public struct RequestFact: Sendable, Equatable {
    public var method: String
    public var path: String
    public var outcome: RequestOutcome
    public var reason: String
    /// The `X-Served-By` header: which web server's app answered.
    public var servedBy: String?
    public var location: String?
    /// The answer's body (its first 64 KB).
    public var body: String
    /// What was sent (`-d`).
    public var sentBody: String?
    public var hops: [HopFact]

    public init(method: String, path: String, outcome: RequestOutcome, reason: String = "", servedBy: String? = nil,
                location: String? = nil, body: String = "", sentBody: String? = nil, hops: [HopFact] = []) {
        self.method = method.uppercased()
        self.path = path
        self.outcome = outcome
        self.reason = reason
        self.servedBy = servedBy
        self.location = location
        self.body = String(body.prefix(65_536))
        self.sentBody = sentBody
        self.hops = hops
    }

    /// GET and HEAD read; everything else writes.
    public var isRead: Bool { method == "GET" || method == "HEAD" }
    /// A read that the database answered from a replica.
    public var readFromReplica: Bool { isRead && hops.contains { $0.role == "replica" } }

    /// The words for one request: `200 OK from web-02`, `connection refused`.
    public var words: String {
        switch outcome {
        case .status(let code): "\(code)\(reason.isEmpty ? "" : " " + reason)" + (servedBy.map { " from \($0)" } ?? "")
        default: outcome.description
        }
    }
}

/// One `load` run's counts.
public struct LoadFact: Sendable, Equatable {
    public var method: String
    public var path: String
    /// Answers by HTTP status.
    public var statuses: [Int: Int]
    /// Requests that got no answer, by how they ended.
    public var failures: [RequestOutcome: Int]
    /// Answers by `X-Served-By` (`-` when the header was missing).
    public var servedBy: [String: Int]
    public init(method: String = "GET", path: String = "/", statuses: [Int: Int] = [:], failures: [RequestOutcome: Int] = [:],
                servedBy: [String: Int] = [:]) {
        self.method = method.uppercased()
        self.path = path
        self.statuses = statuses
        self.failures = failures
        self.servedBy = servedBy
    }
}

/// One `sql` statement's result.
public struct SQLFact: Sendable, Equatable {
    /// `web-02` (the server whose store ran it).
    public var server: String
    public var statement: String
    public var columns: [String]
    /// The first 500 rows.
    public var rows: [[String?]]
    public var affectedRows: Int
    /// The MySQL error number (1290) and message when it failed.
    public var errorCode: Int?
    public var errorMessage: String?

    public init(server: String, statement: String, columns: [String] = [], rows: [[String?]] = [], affectedRows: Int = 0,
                errorCode: Int? = nil, errorMessage: String? = nil) {
        self.server = server
        self.statement = statement
        self.columns = columns
        self.rows = Array(rows.prefix(500))
        self.affectedRows = affectedRows
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}

/// A replica as `replication` showed it.
public struct ReplicaFact: Sendable, Equatable {
    public var store: String
    public var ioRunning: Bool
    public var sqlRunning: Bool
    public var secondsBehindSource: Int?
    public init(store: String, ioRunning: Bool, sqlRunning: Bool, secondsBehindSource: Int?) {
        self.store = store
        self.ioRunning = ioRunning
        self.sqlRunning = sqlRunning
        self.secondsBehindSource = secondsBehindSource
    }
}

/// What a fault verb did: `kill web-02` crashed web-02's processes.
public struct FaultFact: Sendable, Equatable {
    /// crash, stop, hang, slow, revive.
    public var fault: String
    /// As typed: `web-02`, `web-01/nginx`.
    public var target: String
    public var processes: [String]
    public init(fault: String, target: String, processes: [String]) {
        self.fault = fault
        self.target = target
        self.processes = processes
    }
}

/// One message a `tap` showed.
public struct TapFact: Sendable, Equatable {
    /// text, tls, mysql or binary.
    public var kind: String
    public var text: String
    public init(kind: String, text: String) {
        self.kind = kind
        self.text = String(text.prefix(16_384))
    }
}

/// One server's `scan`.
public struct ScanFact: Sendable, Equatable {
    public struct Port: Sendable, Equatable {
        public var port: Int
        /// open, closed, filtered.
        public var state: String
        public init(port: Int, state: String) {
            self.port = port
            self.state = state
        }
    }
    public var server: String
    public var ports: [Port]
    public init(server: String, ports: [Port]) {
        self.server = server
        self.ports = ports
    }
}

/// A change in the lab, seen as it happened.
public enum LabEvent: Sendable, Equatable {
    /// A balancer's view of a server changed (`UP` → `UP 2/3` → `DOWN`).
    case health(balancer: String, server: String, status: String)
    /// A process changed state (running, crashed, hung …).
    case process(name: String, state: String)
    /// A replica's threads started or stopped.
    case replication(store: String, running: Bool)
    /// An alert changed state: pending, firing, or resolved.
    case alert(name: String, instance: String?, state: String)
}

/// A fact with when it happened and the step it happened in.
public struct RecordedFact: Sendable, Equatable {
    public var time: Date
    public var step: Int
    public var fact: Fact
    public init(time: Date, step: Int, fact: Fact) {
        self.time = time
        self.step = step
        self.fact = fact
    }
}

/// The facts of one lesson run, in order; a check reads the current step's (and, for "the new post" or "the kill",
/// the lesson's so far). Bounded: a very long session keeps its last 20 000 facts.
public struct FactLog: Sendable, Equatable {
    public private(set) var entries: [RecordedFact] = []
    public private(set) var step = 0
    private var stepStart = 0

    public init() {}

    /// A log from recorded facts (tests).
    public init(lesson earlier: [Fact] = [], step facts: [Fact], at time: Date = Date()) {
        for fact in earlier { append(fact, at: time) }
        markStepBegan(step: 1)
        for fact in facts { append(fact, at: time) }
    }

    public mutating func markStepBegan(step: Int) {
        self.step = step
        stepStart = entries.count
    }

    public mutating func append(_ fact: Fact, at time: Date = Date()) {
        entries.append(RecordedFact(time: time, step: step, fact: fact))
        if entries.count > 20_000 {
            let drop = entries.count - 20_000
            entries.removeFirst(drop)
            stepStart = max(0, stepStart - drop)
        }
    }

    public mutating func clear() {
        entries = []
        stepStart = 0
    }

    /// The facts since the current step began.
    public var inStep: ArraySlice<RecordedFact> { entries[stepStart...] }

    /// The last post made in the lesson, and this step's facts that came after it (a read before the post cannot
    /// show it, so it does not count).
    var newPost: (post: NewPost, after: ArraySlice<RecordedFact>)? {
        guard let (post, at) = NewPost.last(in: entries) else { return nil }
        return (post, entries[max(at + 1, stepStart)...])
    }
}

// MARK: - Reading facts

extension Collection where Element == RecordedFact {
    var requests: [RequestFact] { compactMap { if case .request(let r) = $0.fact { r } else { nil } } }
    var loads: [LoadFact] { compactMap { if case .load(let l) = $0.fact { l } else { nil } } }
    var sqls: [SQLFact] { compactMap { if case .sql(let s) = $0.fact { s } else { nil } } }
    var taps: [TapFact] { compactMap { if case .tap(let t) = $0.fact { t } else { nil } } }
    var scans: [ScanFact] { compactMap { if case .scan(let s) = $0.fact { s } else { nil } } }
    var replicationReports: [[ReplicaFact]] { compactMap { if case .replication(let r) = $0.fact { r } else { nil } } }
    var commands: [String] { compactMap { if case .command(let c) = $0.fact { c } else { nil } } }

    /// Every request of `load` and `curl`, counted by outcome and by server.
    var tally: RequestCounts {
        var counts = RequestCounts()
        for load in loads {
            for (status, count) in load.statuses { counts.add(.status(status), count) }
            for (outcome, count) in load.failures { counts.add(outcome, count) }
            for (server, count) in load.servedBy { counts.servedBy[server, default: 0] += count }
        }
        for request in requests {
            counts.add(request.outcome, 1)
            if case .status = request.outcome { counts.servedBy[request.servedBy ?? "-", default: 0] += 1 }
        }
        return counts
    }
}

/// Requests counted by how they ended and who answered.
public struct RequestCounts: Sendable, Equatable {
    public var byOutcome: [RequestOutcome: Int] = [:]
    public var servedBy: [String: Int] = [:]
    public init() {}

    mutating func add(_ outcome: RequestOutcome, _ count: Int) { byOutcome[outcome, default: 0] += count }

    public var total: Int { byOutcome.values.reduce(0, +) }
    public var succeeded: Int { byOutcome.filter { $0.key.succeeded }.values.reduce(0, +) }
    public var failed: Int { byOutcome.filter { $0.key.failed }.values.reduce(0, +) }
    /// Requests that got an HTTP answer (the ones with a server to count).
    public var answered: Int { byOutcome.filter { if case .status = $0.key { true } else { false } }.values.reduce(0, +) }

    /// `503 × 4, connection refused × 2`: the failures by kind, most first.
    public var failureWords: String {
        byOutcome.filter { $0.key.failed }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.description < $1.key.description }
            .map { "\($0.key) × \($0.value)" }.joined(separator: ", ")
    }

    /// `web-01 500 (50%), web-02 500 (50%)`.
    public var servedWords: String {
        let total = max(1, answered)
        return servedBy.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) (\(percent($0.value, of: total))%)" }.joined(separator: ", ")
    }

    public func share(of server: String) -> Double {
        answered == 0 ? 0 : Double(servedBy[server] ?? 0) * 100 / Double(answered)
    }
}

func percent(_ part: Int, of total: Int) -> String {
    let value = Double(part) * 100 / Double(max(1, total))
    return value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
}

/// The post a learner made last (a successful write to /api/posts): its id from the answer, its text from the form.
public struct NewPost: Sendable, Equatable {
    public var id: Int
    public var body: String?

    /// The last post created in these facts, if any, and where in them it was made.
    static func last<C: BidirectionalCollection<RecordedFact>>(in facts: C) -> (post: NewPost, at: C.Index)? {
        var index = facts.endIndex
        while index != facts.startIndex {
            index = facts.index(before: index)
            guard case .request(let request) = facts[index].fact, !request.isRead, request.path.hasPrefix("/api/posts"),
                  case .status(let code) = request.outcome, code < 300,
                  let match = request.body.firstMatch(of: #/"id"\s*:\s*(\d+)/#), let id = Int(match.1) else { continue }
            return (NewPost(id: id, body: request.sentBody.flatMap(Self.text(ofForm:))), index)
        }
        return nil
    }

    /// `author=me&body=where is my post` → `where is my post` (a form, or JSON with a "body").
    static func text(ofForm form: String) -> String? {
        if let data = form.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            return object["body"] as? String
        }
        for pair in form.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "body" else { continue }
            let spaced = parts[1].replacingOccurrences(of: "+", with: " ")
            return spaced.removingPercentEncoding ?? spaced
        }
        return nil
    }

    /// Whether a list of posts (the JSON of GET /api/posts) holds this post.
    func isListed(in body: String) -> Bool {
        if let data = body.data(using: .utf8), let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] {
            return list.contains { ($0["id"] as? NSNumber)?.intValue == id }
        }
        return body.contains("\"id\": \(id),") || body.contains("\"id\":\(id),")
    }

    /// Whether a SQL result holds this post: a row whose `id` is its id, or a cell with its text.
    func isListed(in result: SQLFact) -> Bool {
        let idColumn = result.columns.firstIndex { $0.lowercased() == "id" }
        return result.rows.contains { row in
            if let idColumn, idColumn < row.count, row[idColumn] == String(id) { return true }
            if let body, row.contains(where: { $0 == body }) { return true }
            return false
        }
    }

    var words: String { "post \(id)" + (body.map { " (\"\($0)\")" } ?? "") }
}
