import Foundation

/// A class's folders graded one after the other: one row per folder (its grade, or why it could not be graded),
/// written as one CSV, with a summary per check for the instructor's terminal.
///
/// ```swift
/// var grade = ClassGrade()
/// grade.add(folder: "/class/ann/02-failover", report: await Grader().grade(failover, directory: "/class/ann/02-failover"))
/// grade.add(folder: "/class/bob", error: "/class/bob holds no exercise.json")
/// print(grade.summary())
/// try grade.csv().write(toFile: "class.csv", atomically: true, encoding: .utf8)
/// ```
public struct ClassGrade: Sendable {
    public struct Row: Sendable {
        public var folder: String
        public var report: GradeReport?
        /// Why the folder could not be graded at all (no exercise to grade it as).
        public var error: String?

        public var passed: Bool { report?.passed ?? false }

        /// The first failed check and what it saw, the reason the exercise cannot be graded, or the row's error.
        public var firstFailure: String {
            if let error { return error }
            guard let report else { return "" }
            if let unavailable = report.unavailable { return "cannot grade: " + unavailable }
            return report.checks.first { $0.status == .failed }.map { "\($0.name): \($0.message)" } ?? ""
        }
    }

    public private(set) var rows: [Row] = []

    public init() {}

    public mutating func add(folder: String, report: GradeReport) { rows.append(Row(folder: folder, report: report)) }
    public mutating func add(folder: String, error: String) { rows.append(Row(folder: folder, error: error)) }

    public var allPassed: Bool { !rows.isEmpty && rows.allSatisfy(\.passed) }

    /// Every check of the exercises graded, in order of first appearance (one exercise: its checks in order).
    public var checkNames: [String] {
        var names: [String] = []
        for check in rows.compactMap(\.report).flatMap(\.checks) where !names.contains(check.name) { names.append(check.name) }
        return names
    }

    /// `folder,exercise,score,max,passed,CHECK…,first_failure` (and `run` when runs were kept): each check
    /// `pass`, `fail` or `skip`, empty when the folder's exercise has no such check or was not graded.
    public func csv() -> String {
        let checks = checkNames
        let withRuns = rows.contains { $0.report?.runFolder != nil }
        var header = ["folder", "exercise", "score", "max", "passed"] + checks + ["first_failure"]
        if withRuns { header.append("run") }
        var lines = [header.map(Self.csvField).joined(separator: ",")]
        for row in rows {
            let report = row.report
            var fields = [row.folder, report?.exercise.id ?? "", "\(report?.score ?? 0)", "\(report?.maxScore ?? 0)", row.passed ? "yes" : "no"]
            for name in checks {
                let word: String = switch report?.checks.first(where: { $0.name == name })?.status {
                case .passed?: "pass"
                case .failed?: "fail"
                case .skipped?: "skip"
                case nil: ""
                }
                fields.append(word)
            }
            fields.append(row.firstFailure)
            if withRuns { fields.append(report?.runFolder ?? "") }
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
    public static func csvField(_ text: String) -> String {
        text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    /// Per check, how many folders passed, failed and skipped it; then the folders not graded. Fits 80 columns.
    ///
    /// ```
    /// 3 folders: 1 passed every check, 1 did not, 1 was not graded
    ///   pass fail skip  check
    ///      2    1    0  the lab loads and starts
    ///      1    1    1  killing web-01 under load fails no request
    /// ```
    public func summary() -> String {
        let graded = rows.filter { $0.report != nil && $0.report?.unavailable == nil }
        let passed = rows.filter(\.passed).count
        let notGraded = rows.count - graded.count
        var head = "\(rows.count) folder\(rows.count == 1 ? "" : "s"): \(passed) passed every check"
        if graded.count - passed > 0 { head += ", \(graded.count - passed) did not" }
        if notGraded > 0 { head += ", \(notGraded) \(notGraded == 1 ? "was" : "were") not graded" }
        var lines = [head]
        let checks = checkNames
        if !checks.isEmpty {
            lines.append("  pass fail skip  check")
            for name in checks {
                let results = graded.compactMap { $0.report?.checks.first { $0.name == name } }
                func count(_ status: CheckResult.Status) -> String {
                    let n = results.filter { $0.status == status }.count
                    return String(repeating: " ", count: max(0, 4 - "\(n)".count)) + "\(n)"
                }
                let label = name.count > 60 ? String(name.prefix(59)) + "…" : name
                lines.append("  \(count(.passed)) \(count(.failed)) \(count(.skipped))  \(label)")
            }
        }
        for row in rows where row.report == nil || row.report?.unavailable != nil {
            lines.append("not graded: \(row.folder): \(row.firstFailure)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A run folder's name for each graded folder, as an instructor finds it: the folder's name, with its parent's
    /// in front when the folder is named for its exercise (`ann-02-failover` for `class/ann/02-failover`); a name
    /// taken twice gets `-2`, `-3` ….
    public static func runNames(for folders: [String]) -> [String] {
        var used: Set<String> = []
        return folders.map { folder in
            let path = URL(fileURLWithPath: (folder as NSString).expandingTildeInPath).standardizedFileURL
            let last = path.lastPathComponent
            let parent = path.deletingLastPathComponent().lastPathComponent
            let namedForExercise = last.count > 3 && last.prefix(2).allSatisfy(\.isNumber) && last.dropFirst(2).first == "-"
            var name = namedForExercise && !parent.isEmpty && parent != "/" ? parent + "-" + last : last
            if name.isEmpty || name == "/" || name == "." || name == ".." { name = "folder" }
            var candidate = name, count = 1
            while used.contains(candidate) {
                count += 1
                candidate = "\(name)-\(count)"
            }
            used.insert(candidate)
            return candidate
        }
    }
}
