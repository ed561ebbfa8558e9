import ArgumentParser
import Foundation
import StackLab
import StackLabExercises

/// Where the exercise verbs find the exercises and the learner's folders; tests bind their own.
public enum ExerciseShellContext {
    @TaskLocal public static var catalog: ExerciseCatalog = .builtIn
    @TaskLocal public static var workspace: ExerciseWorkspace = .default()
}

struct ExercisesVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "exercises",
        abstract: "List the graded exercises, with your progress.",
        discussion: """
        Each exercise is a lab with something wrong or missing; fix it in the config files, then 'grade'.

        Examples:
          exercises
          exercise 1
        """)
    static let group = VerbGroup.exercises

    func execute(in shell: Shell) async throws {
        let catalog = ExerciseShellContext.catalog
        let workspace = ExerciseShellContext.workspace
        let progress = workspace.loadProgress()
        for exercise in catalog.exercises {
            let word = progress.statusWord(for: exercise)
            let painted = word.hasPrefix("done") ? shell.style.green(word) : word.hasPrefix("best") ? shell.style.yellow(word) : shell.style.dim(word)
            let marker = progress.current == exercise.id ? "▸" : " "
            shell.say("\(marker) \(String(format: "%2d", exercise.number)). \(exercise.title.padding(toLength: 58, withPad: " ", startingAt: 0)) \(painted)")
        }
        let done = catalog.exercises.filter { progress.record($0.id).passed }.count
        shell.tell("\(done) of \(catalog.exercises.count) done. Your folders: \(workspace.root)  —  'exercise N' starts one")
    }
}

struct ExerciseVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "exercise",
        abstract: "Start exercise N: copy its starter files to your folder (once) and print the task.",
        discussion: """
        The starter files are copied only the first time; your edits are never overwritten. 'exercise' alone shows
        the current exercise's task again.

        Examples:
          exercise 1
          exercise weights
        """)
    static let group = VerbGroup.exercises
    @Argument(help: "The exercise's number or name (default: the current one).") var which: String?

    func execute(in shell: Shell) async throws {
        let exercise = try which.map(ExerciseVerbs.find) ?? ExerciseVerbs.current(nil)
        // One thing at a time: 'hint' and the checks then belong to the exercise.
        if CourseSessions.of(shell).lesson != nil { try CourseSessions.of(shell).leave() }
        let workspace = ExerciseShellContext.workspace
        let begun: (folder: String, created: Bool)
        do { begun = try workspace.begin(exercise) } catch { throw ShellError("cannot write the starter files: \(error)") }
        shell.say(shell.style.bold("Exercise \(exercise.number): \(exercise.title)"))
        shell.tell(exercise.summary)
        shell.say("")
        shell.tell(begun.created ? "Starter files written to \(begun.folder)" : "Your files (kept as you left them): \(begun.folder)")
        if let needs = ScenarioTable.scenario(for: exercise.id).unavailable {
            shell.say(shell.style.yellow("note: ") + needs)
        }
        shell.tell("Edit them, then 'grade'. 'hint' helps; README.md there has the whole task. 'lab load \(begun.folder)' runs your lab.")
    }
}

struct GradeVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Grade the current exercise (or N): boot your lab, break it, print each check and the score.",
        discussion: """
        The grader runs your lab on its own ports (your running lab is not touched), sends traffic, injects faults and
        checks what the visitors saw. It never reads your files for keywords.

        Examples:
          grade
          grade 2
        """)
    static let group = VerbGroup.exercises
    @Argument(help: "The exercise's number or name (default: the current one).") var which: String?

    func execute(in shell: Shell) async throws {
        let exercise = try ExerciseVerbs.current(which)
        let workspace = ExerciseShellContext.workspace
        let folder = workspace.folder(for: exercise)
        guard FileManager.default.fileExists(atPath: folder) else {
            throw ShellError("you have not started exercise \(exercise.number) yet: 'exercise \(exercise.number)' writes its files to \(folder)")
        }
        shell.say(shell.style.dim("grading \(folder) …"))
        let style = shell.style
        let paint: (StackLabExercises.CheckResult.Status, String) -> String = { status, text in
            switch status {
            case .passed: style.green(text)
            case .failed: style.red(text)
            case .skipped: style.yellow(text)
            }
        }
        // Each check's line as soon as it is known: grading takes seconds (faults, timeouts to measure).
        let (results, sink) = AsyncStream<StackLabExercises.CheckResult>.makeStream()
        let grading = Task {
            let report = await Grader(runsDirectory: workspace.runsDirectory).grade(exercise, directory: folder) { sink.yield($0) }
            sink.finish()
            return report
        }
        shell.say("Exercise \(exercise.number): \(exercise.title)")
        for await result in results { shell.say(GradeReport.render(result, color: paint)) }
        let report = await grading.value
        shell.write(report.renderScore(color: paint))
        try? workspace.update { $0.note(report) }
        if report.unavailable == nil {
            let record = workspace.loadProgress().record(exercise.id)
            shell.say("Best: \(record.best)/\(record.maxScore) after \(record.attempts) grading\(record.attempts == 1 ? "" : "s")"
                + (record.passed ? " — " + shell.style.green("done") : " — 'hint' for a nudge"))
        }
        if !report.passed && report.unavailable == nil {
            throw ShellError("exercise \(exercise.number) is not done yet: \(report.checks.filter(\.passed).count) of \(report.checks.count) checks pass")
        }
    }
}

enum ExerciseVerbs {
    /// `hint` when no lesson is running (the verb is shared with the lessons): the current exercise's next hint.
    /// False when no exercise has been started either.
    @MainActor
    static func showHintIfExerciseStarted(in shell: Shell) throws -> Bool {
        let workspace = ExerciseShellContext.workspace
        guard let id = workspace.loadProgress().current, let exercise = ExerciseShellContext.catalog.exercise(matching: id) else { return false }
        let next: (index: Int, text: String)?? = try? workspace.update { $0.nextHint(for: exercise) }
        guard let hint = next.flatMap({ $0 }) else {
            shell.tell("No more hints for exercise \(exercise.number) (there were \(exercise.hints.count)). The task: \(exercise.folder)/README.md")
            return true
        }
        shell.tell(shell.style.bold("Hint \(hint.index + 1) of \(exercise.hints.count)") + " (exercise \(exercise.number)): " + hint.text)
        return true
    }

    static func find(_ text: String) throws -> Exercise {
        let catalog = ExerciseShellContext.catalog
        if let exercise = catalog.exercise(matching: text) { return exercise }
        let names = catalog.exercises.map { String($0.id.dropFirst(3)) }
        let near = Suggestions.nearest(text, in: names).map { " — did you mean '\($0)'?" } ?? ""
        throw ShellError("there is no exercise '\(text)'\(near) ('exercises' lists them: 1 to \(catalog.exercises.count))")
    }

    /// The named exercise, or the current one.
    static func current(_ text: String?) throws -> Exercise {
        if let text { return try find(text) }
        guard let id = ExerciseShellContext.workspace.loadProgress().current, let exercise = ExerciseShellContext.catalog.exercise(matching: id) else {
            throw ShellError("no exercise started yet — 'exercises' lists them, 'exercise 1' starts the first")
        }
        return exercise
    }
}
