import Foundation

/// What a check saw: passed or not, and what was observed, in words a learner can act on
/// ("3 of 200 requests failed while web-01 was down; the limit is 0").
public enum CheckOutcome: Sendable, Equatable {
    case pass(String)
    case fail(String)
    /// The check could not run (what stacklab lacks, or an earlier failure it depends on).
    case skip(String)

    /// A pass or a fail with the same words: what was measured and its limit.
    public init(passed: Bool, _ message: String) { self = passed ? .pass(message) : .fail(message) }

    public var message: String {
        switch self {
        case .pass(let m), .fail(let m), .skip(let m): m
        }
    }
}

/// One check of an exercise: a scenario run against the learner's running lab.
public struct Check: Sendable {
    public var name: String
    public var points: Int
    public var run: @Sendable (GradingContext) async -> CheckOutcome

    public init(_ name: String, points: Int, run: @escaping @Sendable (GradingContext) async -> CheckOutcome) {
        self.name = name
        self.points = points
        self.run = run
    }
}

/// A check's result in a grade.
public struct CheckResult: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Equatable, Codable { case passed, failed, skipped }
    public var name: String
    public var points: Int
    public var status: Status
    public var message: String
    public var seconds: Double

    public var passed: Bool { status == .passed }
    public var earned: Int { passed ? points : 0 }
}

/// Everything one grading run found.
public struct GradeReport: Sendable, Equatable {
    public var exercise: Exercise
    public var checks: [CheckResult]
    public var seconds: Double
    /// Set when the whole exercise cannot be graded by this build (it needs a part stacklab does not have yet).
    public var unavailable: String?
    /// The kept run folder (the lab as graded, `logs/`, `grade.txt`), when the grader keeps runs.
    public var runFolder: String?

    public var score: Int { checks.map(\.earned).reduce(0, +) }
    public var maxScore: Int { checks.map(\.points).reduce(0, +) }
    public var passed: Bool { unavailable == nil && !checks.isEmpty && checks.allSatisfy(\.passed) }

    /// A line per check and the score, as `grade` prints it (without colours).
    public func render(color: (CheckResult.Status, String) -> String = { $1 }) -> String {
        var lines = ["Exercise \(exercise.number): \(exercise.title)"]
        if let unavailable {
            lines.append("  " + color(.skipped, "cannot grade") + ": " + unavailable)
            return lines.joined(separator: "\n") + "\n"
        }
        for check in checks { lines.append(Self.render(check, color: color)) }
        return lines.joined(separator: "\n") + "\n" + renderScore(color: color)
    }

    /// One check: `  FAIL name (3 pts)` and, indented below, what was observed.
    public static func render(_ check: CheckResult, color: (CheckResult.Status, String) -> String = { $1 }) -> String {
        let mark = switch check.status {
        case .passed: color(.passed, "PASS")
        case .failed: color(.failed, "FAIL")
        case .skipped: color(.skipped, "SKIP")
        }
        let line = "  \(mark) \(check.name) (\(check.points) pt\(check.points == 1 ? "" : "s"))"
        return check.message.isEmpty ? line : line + "\n       " + check.message
    }

    /// The score line (and where the run was kept), for printing after the checks as they came.
    public func renderScore(color: (CheckResult.Status, String) -> String = { $1 }) -> String {
        if let unavailable { return "  " + color(.skipped, "cannot grade") + ": " + unavailable + "\n" }
        var lines: [String] = []
        let verdict = passed ? color(.passed, "all checks pass") : "\(checks.filter(\.passed).count) of \(checks.count) checks pass"
        lines.append("Score: \(score)/\(maxScore) — \(verdict) (graded in \(String(format: "%.1f", seconds)) s)")
        if let runFolder { lines.append("This run's lab and logs: \(runFolder)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
