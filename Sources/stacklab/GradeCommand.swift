import ArgumentParser
import Foundation
import StackLabExercises

/// `stacklab grade N|DIR [--watch]`: grades an exercise from the command line. Exit status 0 only when every check
/// passes.
struct GradeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Grade an exercise: N (your copy from 'exercise N') or DIR (a folder holding an exercise's files), or a class's folders into a CSV.",
        discussion: """
        The grader boots a lab from the files on its own ports, sends traffic, breaks things and checks what the
        visitors saw. Exit status 0 only when every check passes.

        Examples:
          stacklab grade 1
          stacklab grade ~/stacklab-exercises/02-failover --watch
          stacklab grade --csv class.csv ~/class/*/02-failover
        """)

    @Argument(help: "An exercise number or name, or a folder with an exercise's files (exercise.json); several folders with --csv.")
    var targets: [String] = []
    @Flag(help: "Grade again every time a file in the folder is saved (Ctrl-C to stop).") var watch = false
    @Option(help: "Grade every folder given and write one CSV row per folder (an instructor's class).") var csv: String?
    @Option(help: "Which exercise the folder holds, when it has no exercise.json (number or name).") var exercise: String?

    func validate() throws {
        if targets.isEmpty { throw ValidationError("say which exercise: a number (stacklab grade 2) or a folder (stacklab grade DIR)") }
        if targets.count > 1 && csv == nil { throw ValidationError("several folders are graded into a CSV: add --csv FILE") }
        if watch && (targets.count > 1 || csv != nil) { throw ValidationError("--watch grades one folder") }
    }

    func run() async throws {
        let workspace = ExerciseWorkspace.default()
        if let csv {
            try await gradeClass(into: csv, workspace: workspace)
            return
        }
        let (exercise, folder) = try resolve(targets[0], workspace: workspace)
        let style = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let paint: @Sendable (CheckResult.Status, String) -> String = { status, text in
            guard style else { return text }
            let code = switch status {
            case .passed: "32"
            case .failed: "31"
            case .skipped: "33"
            }
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
        func gradeOnce() async -> GradeReport {
            say("grading \(folder) …")
            say("Exercise \(exercise.number): \(exercise.title)")
            // Each check's line as soon as it is known.
            let report = await Grader(runsDirectory: workspace.runsDirectory).grade(exercise, directory: folder) { result in
                say(GradeReport.render(result, color: paint))
            }
            say(report.renderScore(color: paint), terminator: "")
            try? workspace.update { $0.note(report) }
            return report
        }
        var report = await gradeOnce()
        guard watch else {
            if !report.passed { throw ExitCode(1) }
            return
        }
        // Ctrl-C ends the watch: say so and exit with the last grade's status (a script can tell done from not).
        let last = LastGrade(passed: report.passed)
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .main)
        interrupt.setEventHandler {
            say("\nstopped watching")
            Foundation.exit(last.passed ? 0 : 1)
        }
        interrupt.resume()
        let watcher = FolderWatch(folder: folder)
        while true {
            say("watching \(folder) — save a file to grade again (Ctrl-C to stop)")
            guard let changed = await watcher.nextChange(after: watcher.snapshot()) else { break }
            say("\nchanged: \(changed.joined(separator: ", "))")
            report = await gradeOnce()
            last.passed = report.passed
        }
        if !report.passed { throw ExitCode(1) }
    }

    /// Grades every folder, one after the other, into one CSV (folder, exercise, score, max, passed, failed checks).
    private func gradeClass(into file: String, workspace: ExerciseWorkspace) async throws {
        var rows = ["folder,exercise,score,max,passed,failed_checks"]
        var allPassed = true
        for target in targets {
            // One student's folder that cannot be graded is that student's row, never the end of the class's run.
            let exercise: Exercise, folder: String
            do {
                (exercise, folder) = try resolve(target, workspace: workspace)
            } catch {
                allPassed = false
                let reason = (error as? ValidationError)?.message ?? "\(error)"
                rows.append([target, self.exercise ?? "", "0", "0", "no", reason].map(Self.csvField).joined(separator: ","))
                say("\(target): not graded: \(reason)")
                continue
            }
            let report = await Grader().grade(exercise, directory: folder)
            allPassed = allPassed && report.passed
            let failed = report.unavailable ?? report.checks.filter { !$0.passed }.map(\.name).joined(separator: "; ")
            rows.append([folder, exercise.id, "\(report.score)", "\(report.maxScore)", report.passed ? "yes" : "no", failed]
                .map(Self.csvField).joined(separator: ","))
            say("\(folder): \(report.score)/\(report.maxScore)\(report.passed ? " done" : "")")
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        say("wrote \(targets.count) row\(targets.count == 1 ? "" : "s") to \(file)")
        if !allPassed { throw ExitCode(1) }
    }

    /// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
    static func csvField(_ text: String) -> String {
        text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    private func resolve(_ target: String, workspace: ExerciseWorkspace) throws -> (Exercise, String) {
        let catalog = ExerciseCatalog.builtIn
        let path = URL(fileURLWithPath: (target as NSString).expandingTildeInPath).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            let named = exercise.flatMap { catalog.exercise(matching: $0) }
                ?? ExerciseCatalog.read(folder: path).flatMap { catalog.exercise(matching: $0.id) }
            guard let found = named else {
                throw ValidationError("\(path) holds no exercise.json: say which exercise it is with --exercise N")
            }
            return (found, path)
        }
        guard let found = catalog.exercise(matching: target) else {
            throw ValidationError("there is no exercise or folder '\(target)' (exercises: 1 to \(catalog.exercises.count))")
        }
        let folder = workspace.folder(for: found)
        guard FileManager.default.fileExists(atPath: folder) else {
            throw ValidationError("you have not started exercise \(found.number): run 'stacklab -c \"exercise \(found.number)\"' to write its files to \(folder)")
        }
        return (found, folder)
    }
}

/// The last grade's verdict, written by the watch loop and read by the Ctrl-C handler.
private final class LastGrade: @unchecked Sendable {
    // Sendable because every access to `value` holds `lock`.
    private let lock = NSLock()
    private var value: Bool
    init(passed: Bool) { value = passed }
    var passed: Bool {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// Unbuffered output for `grade`, so a pipe (a class's log, a CI job) sees each check as it ends, in order.
private func say(_ text: String, terminator: String = "\n") {
    FileHandle.standardOutput.write(Data((text + terminator).utf8))
}
