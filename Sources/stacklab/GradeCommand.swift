import ArgumentParser
import Foundation
import StackLabExercises

/// `stacklab grade N|DIR [--watch]`, or a class's folders into a CSV: grades an exercise from the command line. Exit
/// status 0 only when every check passes.
struct GradeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Grade an exercise: N (your copy from 'exercise N') or DIR (a folder holding an exercise's files), or a class's folders into a CSV.",
        discussion: """
        The grader boots a lab from the files on its own ports, sends traffic, breaks things and checks what the \
        visitors saw. Exit status 0 only when every check passes. Only grading your own copy (N, or the folder \
        'exercise N' wrote) counts for your progress.

        Examples:
          stacklab grade 1
          stacklab grade ~/stacklab-exercises/02-failover --watch
          stacklab grade --csv class.csv --runs class-runs ~/class/*/02-failover
          stacklab grade --port-base 30000 --csv class.csv ~/class/*/02-failover
        """)

    @Argument(help: "An exercise number or name, or a folder with an exercise's files (exercise.json); several folders with --csv. None: the folder you are in.")
    var targets: [String] = []
    @Flag(help: "Grade again every time a file in the folder is saved (Ctrl-C to stop).") var watch = false
    @Option(help: "Grade every folder given and write one CSV row per folder (an instructor's class).") var csv: String?
    @Option(help: "Which exercise the folder holds, when it has no exercise.json (number or name).") var exercise: String?
    @Option(name: .long, help: "Put the graders' labs on ports moved up by N (another grader on this machine: give each its own N).")
    var portBase: Int?
    @Option(help: "Keep each folder's run (the lab as graded, its logs, grade.txt) in DIR, one folder per student.") var runs: String?

    func validate() throws {
        if targets.isEmpty && !FileManager.default.fileExists(atPath: "exercise.json") {
            throw ValidationError("say which exercise: a number (stacklab grade 2) or a folder (stacklab grade DIR); "
                + "'stacklab -c exercises' lists them")
        }
        if targets.count > 1 && csv == nil {
            throw ValidationError("several folders are graded into a CSV: add --csv FILE (stacklab grade --csv class.csv DIR…)")
        }
        if watch && (targets.count > 1 || csv != nil) { throw ValidationError("--watch grades one folder: stacklab grade DIR --watch") }
        if let portBase, !LabChoice.portBases.contains(portBase) {
            throw ValidationError("--port-base must be between \(LabChoice.portBases.lowerBound) and \(LabChoice.portBases.upperBound)")
        }
    }

    func run() async throws {
        let workspace = ExerciseWorkspace.default()
        // No target: the exercise folder you are in.
        let targets = self.targets.isEmpty ? ["."] : self.targets
        if let runs { try prepareRuns(runs) }
        if let csv {
            try await gradeClass(targets, into: csv, workspace: workspace)
            return
        }
        let (exercise, folder) = try resolve(targets[0], workspace: workspace)
        // Someone else's folder (a student's, a copy) is graded without touching your progress.
        let own = Self.samePath(folder, workspace.folder(for: exercise))
        let keeping: Grader.RunKeeping = runs.map { .folder(($0 as NSString).appendingPathComponent(ClassGrade.runNames(for: [folder])[0])) }
            ?? .history(workspace.runsDirectory)
        let grader = Grader(portBase: portBase, keeping: keeping)
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
            let report = await grader.grade(exercise, directory: folder) { result in
                say(GradeReport.render(result, color: paint))
            }
            say(report.renderScore(color: paint), terminator: "")
            if own { try? workspace.update { $0.note(report) } }
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

    /// Grades every folder, one after the other, into one CSV (a row per folder: the score, each check, the first
    /// failure's reason), keeps each run under --runs, and prints a summary per check.
    private func gradeClass(_ targets: [String], into file: String, workspace: ExerciseWorkspace) async throws {
        // A CSV that cannot be written is said before the class is graded, not after.
        let parent = ((file as NSString).expandingTildeInPath as NSString).deletingLastPathComponent
        guard FileManager.default.isWritableFile(atPath: parent.isEmpty ? "." : parent) else {
            complain("cannot write \(file): \(parent.isEmpty ? "." : parent) is not a folder you can write to")
            throw ExitCode(1)
        }
        var grade = ClassGrade()
        let names = ClassGrade.runNames(for: targets)
        for (number, target) in targets.enumerated() {
            let place = "[\(number + 1)/\(targets.count)] "
            // One student's folder that cannot be graded is that student's row, never the end of the class's run.
            let exercise: Exercise, folder: String
            do {
                (exercise, folder) = try resolveFolder(target)
            } catch {
                let reason = (error as? ValidationError)?.message ?? "\(error)"
                grade.add(folder: Self.absolute(target), error: reason)
                say(place + "\(Self.absolute(target)): not graded: \(reason)")
                continue
            }
            say(place + "\(folder) …")
            let keeping: Grader.RunKeeping = runs.map { .folder(($0 as NSString).appendingPathComponent(names[number])) } ?? .none
            let report = await Grader(portBase: portBase, keeping: keeping).grade(exercise, directory: folder)
            grade.add(folder: folder, report: report)
            let verdict = report.unavailable.map { "cannot grade: \($0)" }
                ?? "\(report.score)/\(report.maxScore)" + (report.passed ? " — all checks pass" : " — " + (grade.rows.last?.firstFailure ?? ""))
            say(place + "\(folder): " + verdict)
        }
        say("")
        say(grade.summary(), terminator: "")
        do {
            try grade.csv().write(toFile: (file as NSString).expandingTildeInPath, atomically: true, encoding: .utf8)
        } catch {
            complain("cannot write \(file): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        say("wrote \(targets.count) row\(targets.count == 1 ? "" : "s") to \(file)" + (runs.map { "; each run's lab and logs are in \($0)" } ?? ""))
        if !grade.allPassed { throw ExitCode(1) }
    }

    /// The folder for --runs, made before grading starts.
    private func prepareRuns(_ runs: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: (runs as NSString).expandingTildeInPath, withIntermediateDirectories: true)
        } catch {
            complain("cannot make the folder \(runs) for the runs: \(error.localizedDescription)")
            throw ExitCode(1)
        }
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL.path
    }

    /// The same folder, whichever links lead to it.
    static func samePath(_ a: String, _ b: String) -> Bool {
        URL(fileURLWithPath: absolute(a)).resolvingSymlinksInPath().path == URL(fileURLWithPath: absolute(b)).resolvingSymlinksInPath().path
    }

    /// A class's target is always a folder: the exercise is --exercise's or its exercise.json's. A folder that is
    /// not there is still graded when the exercise is known (its row says so); otherwise the row is the error.
    private func resolveFolder(_ target: String) throws -> (Exercise, String) {
        let catalog = ExerciseCatalog.builtIn
        let path = Self.absolute(target)
        if let exercise {
            guard let found = catalog.exercise(matching: exercise) else {
                throw ValidationError("there is no exercise '\(exercise)' for --exercise (exercises: 1 to \(catalog.exercises.count))")
            }
            return (found, path)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("there is no folder \(path)")
        }
        guard isDirectory.boolValue else { throw ValidationError("\(path) is a file, not an exercise's folder") }
        let manifest = (path as NSString).appendingPathComponent("exercise.json")
        if FileManager.default.fileExists(atPath: manifest) && !FileManager.default.isReadableFile(atPath: manifest) {
            throw ValidationError("cannot read \(manifest) (permission denied)")
        }
        guard let found = ExerciseCatalog.read(folder: path).flatMap({ catalog.exercise(matching: $0.id) }) else {
            throw ValidationError("\(path) holds no exercise.json: say which exercise it is with --exercise N")
        }
        return (found, path)
    }

    private func resolve(_ target: String, workspace: ExerciseWorkspace) throws -> (Exercise, String) {
        let catalog = ExerciseCatalog.builtIn
        let path = Self.absolute(target)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try resolveFolder(target)
        }
        guard let found = catalog.exercise(matching: target) else {
            throw ValidationError("there is no exercise or folder '\(target)' (exercises: 1 to \(catalog.exercises.count); "
                + "'stacklab -c exercises' lists them)")
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
