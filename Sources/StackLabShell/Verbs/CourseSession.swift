import Foundation
import StackLab
import StackLabCourse

// The shell's side of the guided lessons (module StackLabCourse): which lesson runs in this shell, what the learner's
// commands printed, checking and moving between steps, and the demo player.

/// The shell's output, also kept for lesson checks ("output contains …") and, when recording, for an asciicast.
public final class CourseOutput: ShellOutput {
    public let inner: any ShellOutput
    public let transcript = Transcript()
    public let recorder: AsciicastRecorder?

    public init(_ inner: any ShellOutput, recorder: AsciicastRecorder? = nil) {
        self.inner = inner
        self.recorder = recorder
    }

    public func write(_ text: String) {
        inner.write(text)
        transcript.record(text)
        recorder?.output(text)
    }
}

/// A line editor that lets the course look after each command: when the step's checks pass, the lesson moves on by
/// itself. Wraps the real editor (libedit, piped, scripted).
public final class CourseLineEditor: LineEditor {
    let inner: any LineEditor
    let shell: Shell

    public init(_ inner: any LineEditor, shell: Shell) {
        self.inner = inner
        self.shell = shell
    }

    public func readLine(prompt: String) async -> LineInput {
        let shell = self.shell
        await CourseSessions.existing(shell)?.beforePrompt()
        let input = await inner.readLine(prompt: prompt)
        guard case .line(let line) = input else { return input }
        await MainActor.run { CourseSessions.existing(shell)?.noteCommand(line) }
        return input
    }

    public func remember(_ line: String) { inner.remember(line) }
    public func setCompleter(_ completer: Completer) { inner.setCompleter(completer) }
    public func close() { inner.close() }
    public func promptChanged(_ prompt: String) { inner.promptChanged(prompt) }
}

/// The course state of each shell (a shell has at most one lesson running).
@MainActor
public enum CourseSessions {
    /// The shell is held weakly: a new shell at a freed one's address must not inherit its lesson.
    private struct Entry {
        weak var shell: Shell?
        let session: CourseSession
    }
    private static var sessions: [ObjectIdentifier: Entry] = [:]

    public static func of(_ shell: Shell) -> CourseSession {
        if let session = existing(shell) { return session }
        sessions = sessions.filter { $0.value.shell != nil }
        let session = CourseSession(shell: shell)
        sessions[ObjectIdentifier(shell)] = Entry(shell: shell, session: session)
        return session
    }

    static func existing(_ shell: Shell) -> CourseSession? {
        guard let entry = sessions[ObjectIdentifier(shell)], entry.shell === shell else { return nil }
        return entry.session
    }

    /// Lesson names and numbers, for Tab.
    public static var completionNames: [String] { LessonLibrary.builtIn().names }
}

/// What the demo did at one step (for the test that plays every lesson, and for the summary).
public struct DemoStepResult: Sendable {
    public var lesson: Int
    public var step: Int
    /// Why the step was skipped (a feature not in this build), or nil when it ran.
    public var skipped: String?
    public var outcomes: [CheckOutcome]
    public var commandsOK: Bool
    /// Checks decide; a failing command can be the point of a step (curl through a dead balancer).
    public var passed: Bool { skipped != nil || outcomes.allSatisfy(\.passed) }
}

/// How the demo waits between steps.
public enum DemoPacing: Sendable, Equatable {
    /// Wait for Enter (q then Enter stops).
    case enter
    /// Wait this many seconds.
    case auto(Double)
}

/// One shell's lessons: the library, the running lesson and step, progress, and the demo.
@MainActor
public final class CourseSession: CheckContext {
    public unowned let shell: Shell
    public var library: LessonLibrary
    public var progressStore: ProgressStore
    public private(set) var progress: LearnerProgress
    /// The running lesson and the index of its current step.
    public private(set) var lesson: Lesson?
    public private(set) var stepIndex = 0
    /// Learner commands run since the step began (auto-advance waits for at least one).
    var commandsSinceStepBegan = 0
    private var autoCheckedAt = -1
    private var hintsShown = 0
    /// Probes already run in this lab: command → worked.
    private var probes: [String: Bool] = [:]
    /// Where a stopped demo resumes.
    public private(set) var demoResume: (lesson: Lesson, step: Int)?
    public private(set) var lastDemo: [DemoStepResult] = []
    /// How long demo mode waits for a step's checks to come true (health checks take a few seconds).
    public var demoCheckTimeout: Double = 45
    /// Seconds per typed character in demo mode (0 when not on a terminal, unless recording).
    public var typingDelay: Double?
    /// Reads the Enter between demo steps; replaceable in tests.
    public var waitForEnter: @MainActor () async throws -> String = { try await StandardInput.line() }
    private let fallbackTranscript = Transcript()

    init(shell: Shell) {
        self.shell = shell
        library = LessonLibrary.builtIn()
        progressStore = ProgressStore.standard()
        progress = progressStore.load()
    }

    /// Uses another progress file (tests; a classroom machine).
    public func useProgress(_ store: ProgressStore) {
        progressStore = store
        progress = store.load()
    }

    // MARK: - CheckContext

    public var lab: Lab? { shell.lab }
    var transcript: Transcript { (shell.output as? CourseOutput)?.transcript ?? fallbackTranscript }
    public var outputSinceStepBegan: String { transcript.sinceMark }

    public func runQuietly(_ command: String) async -> (ok: Bool, text: String) {
        let captured = CapturedOutput()
        let quiet = Shell(session: shell.session, output: captured, style: .plain, interactive: false)
        let ok = await quiet.execute(command)
        return (ok, captured.text)
    }

    // MARK: - Speaking (never counted as the learner's output)

    func say(_ text: String) { transcript.muted { shell.say(text) } }
    func write(_ text: String) { transcript.muted { shell.write(text) } }

    // MARK: - Features that land later

    /// The needs whose probe fails in this build, in words.
    func missing(_ needs: [Need]) async -> [Need] {
        var result: [Need] = []
        for need in needs {
            if probes[need.probe] == nil { probes[need.probe] = await runQuietly(need.probe).ok }
            if probes[need.probe] == false { result.append(need) }
        }
        return result
    }

    static func notLanded(_ needs: [Need]) -> String {
        needs.map { "\($0.feature) (`\($0.probe)` does not work in this build of stacklab yet)" }.joined(separator: "; ")
    }

    // MARK: - Lessons

    public func find(_ word: String) throws -> Lesson {
        if word.hasSuffix(".md") {
            do { return try LessonParser.parse(contentsOf: expandTilde(word)) } catch { throw ShellError(error.description) }
        }
        if let lesson = library.find(word) { return lesson }
        let list = library.lessons.map { "\($0.number) \($0.name)" }.joined(separator: ", ")
        throw ShellError("there is no lesson '\(word)' — lessons: \(list) ('lessons' lists them)")
    }

    /// Resets the lab and shows the first step. Returns false when the lesson cannot run in this build (said plainly).
    @discardableResult
    public func start(_ lesson: Lesson, demo: Bool = false) async throws -> Bool {
        let style = shell.style
        say(style.bold("Lesson \(lesson.number): \(lesson.title)"))
        if !lesson.goal.isEmpty { say(Self.terminalText(lesson.goal, style: style)) }
        let missing = await missing(lesson.needs)
        if !missing.isEmpty {
            say(style.yellow("This lesson needs \(Self.notLanded(missing)).")
                + " It is not available here yet; you can read it in lessons/\(String(format: "%02d", lesson.number))-\(lesson.name).md,"
                + " and it will run once that part of stacklab is built in.")
            self.lesson = nil
            return false
        }
        do {
            if let base = baseSource, shell.session.source != base {
                try await shell.session.replace(with: base)
                removeVariant()
            } else {
                try await shell.session.reset()
            }
        } catch {
            throw ShellError("could not start the lab fresh for this lesson: \(error)")
        }
        probes = [:]
        say(style.dim("(the lab was started fresh for this lesson)"))
        self.lesson = lesson
        progress.moved(lesson, to: 1)
        saveProgress()
        await begin(step: 0, demo: demo)
        return true
    }

    func begin(step index: Int, demo: Bool = false) async {
        guard let lesson else { return }
        stepIndex = index
        hintsShown = 0
        commandsSinceStepBegan = 0
        autoCheckedAt = -1
        transcript.markStepBegan()
        progress.moved(lesson, to: lesson.steps[index].number)
        saveProgress()
        await show(step: lesson.steps[index], of: lesson, demo: demo)
    }

    func show(step: Step, of lesson: Lesson, demo: Bool) async {
        let style = shell.style
        say("")
        say(style.bold("Step \(step.number) of \(lesson.steps.count): \(step.title)"))
        let prose = step.prose.trimmingCharacters(in: .whitespacesAndNewlines)
        if !prose.isEmpty { say(Self.terminalText(prose, style: style)) }
        let missing = await missing(step.needs)
        if !missing.isEmpty {
            say(style.yellow("This step needs \(Self.notLanded(missing)); 'next' skips it."))
            return
        }
        if demo { return }
        say(style.dim("Type:"))
        for command in step.commands { say("    " + style.cyan(command)) }
        say(style.dim(TerminalText.wrapStyled("(it checks itself after each command; 'check' says what is missing, 'hint' helps, "
            + "'next'/'back' move)", width: style.width)))
    }

    /// Lesson prose for the terminal: Markdown rendered and wrapped to the terminal's width.
    static func terminalText(_ markdown: String, style: Style) -> String {
        TerminalText.markdown(markdown, width: style.width, style: style)
    }

    public var currentStep: Step? { lesson.map { $0.steps[stepIndex] } }

    func requireLesson() throws -> (Lesson, Step) {
        guard let lesson else { throw ShellError("no lesson is running — 'lessons' lists them, 'lesson 1' starts the first") }
        return (lesson, lesson.steps[stepIndex])
    }

    /// `check`: says what passed and what not; when everything passed, the step is done and the next one starts.
    public func check() async throws -> Bool {
        let (lesson, step) = try requireLesson()
        let missing = await missing(step.needs)
        if !missing.isEmpty {
            say(shell.style.yellow("This step needs \(Self.notLanded(missing)); 'next' skips it."))
            return false
        }
        let results = await CheckEvaluator.evaluate(step, in: self)
        for (check, outcome) in results {
            let mark = outcome.passed ? shell.style.green("✓") : shell.style.red("✗")
            say("\(mark) \(check.text) — \(outcome.why)")
        }
        let passed = results.allSatisfy { $0.1.passed }
        if passed {
            await complete(step, of: lesson)
        } else {
            say(shell.style.dim("not done yet" + (step.hints.isEmpty ? "" : " — 'hint' helps")))
        }
        return passed
    }

    func complete(_ step: Step, of lesson: Lesson) async {
        progress.stepDone(lesson, step: step.number)
        saveProgress()
        say(shell.style.green("Step \(step.number) done."))
        if stepIndex + 1 < lesson.steps.count {
            await begin(step: stepIndex + 1)
        } else {
            finish(lesson)
        }
    }

    func finish(_ lesson: Lesson) {
        say("")
        say(shell.style.bold("Lesson \(lesson.number) complete: \(lesson.title).")
            + (library.lessons.contains { $0.number == lesson.number + 1 } ? " Next: 'lesson \(lesson.number + 1)'." : ""))
        self.lesson = nil
    }

    public func next() async throws {
        let (lesson, _) = try requireLesson()
        guard stepIndex + 1 < lesson.steps.count else {
            throw ShellError("this is the last step — 'check' finishes the lesson, 'lessons' lists the others")
        }
        await begin(step: stepIndex + 1)
    }

    public func back() async throws {
        _ = try requireLesson()
        guard stepIndex > 0 else { throw ShellError("this is the first step") }
        await begin(step: stepIndex - 1)
    }

    public func hint() throws {
        let (_, step) = try requireLesson()
        if hintsShown < step.hints.count {
            say(shell.style.yellow("Hint: ") + step.hints[hintsShown])
            hintsShown += 1
        } else {
            say(shell.style.yellow("No more hints.") + " The commands of this step are:")
            for command in step.commands { say("    " + shell.style.cyan(command)) }
        }
    }

    /// After each learner command (called before the next prompt): moves on quietly when the step's checks pass.
    func beforePrompt() async {
        guard let lesson, commandsSinceStepBegan > 0, autoCheckedAt != commandsSinceStepBegan else { return }
        autoCheckedAt = commandsSinceStepBegan
        let step = lesson.steps[stepIndex]
        guard await missing(step.needs).isEmpty else { return }
        let results = await CheckEvaluator.evaluate(step, in: self)
        guard results.allSatisfy({ $0.1.passed }) else { return }
        for (check, outcome) in results { say(shell.style.green("✓") + " \(check.text) — \(outcome.why)") }
        await complete(step, of: lesson)
    }

    static let courseVerbs: Set<String> = ["lessons", "lesson", "check", "next", "back", "hint", "demo", "help", "?"]

    func noteCommand(_ line: String) {
        let first = line.split(separator: " ").first.map(String.init) ?? ""
        if !first.isEmpty && !Self.courseVerbs.contains(first) { commandsSinceStepBegan += 1 }
    }

    func saveProgress() {
        do { try progressStore.save(progress) } catch {
            say(shell.style.dim("(could not save progress to \(progressStore.path): \(error.localizedDescription))"))
        }
    }

    // MARK: - Lesson files

    /// The lab the learner had before a lesson changed files (`apply`), to go back to.
    private var baseSource: LabSource?
    private var variantFolder: String?

    /// `apply`: a copy of the lab with this step's files in it, started in place of the running lab.
    public func applyFiles(builtInLab: String? = nil) async throws {
        let (lesson, step) = try requireLesson()
        guard !step.files.isEmpty || builtInLab != nil else {
            throw ShellError("this step has no lesson files to apply (apply NAME starts a built-in lab instead, e.g. 'apply foobar-hardened')")
        }
        let base = baseSource ?? shell.session.source
        baseSource = base
        let folder = NSTemporaryDirectory() + "stacklab-lesson-\(lesson.name)-\(UUID().uuidString.prefix(8))"
        do {
            if let builtInLab {
                try LabDefinition.writeBuiltIn(named: builtInLab, to: folder)
            } else if let builtIn = base.builtIn {
                try LabDefinition.writeBuiltIn(named: builtIn, to: folder)
            } else {
                try Self.copyLab(from: base.directory, to: folder)
            }
            for file in step.files {
                let path = (folder as NSString).appendingPathComponent(file.path)
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try file.text.write(toFile: path, atomically: true, encoding: .utf8)
            }
            try await shell.session.replace(with: LabSource(directory: folder))
        } catch let error as ShellError {
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw ShellError("could not start the lab with the lesson's files: \(error)")
        }
        removeVariant()
        variantFolder = folder
        if let builtInLab { say("a fresh copy of the built-in \(builtInLab) lab") }
        for file in step.files {
            say("\(file.path): the lesson's version (\(file.text.split(separator: "\n").count) lines)")
        }
        say("lab \(shell.lab.topology.name) restarted with it in \(shell.session.startMilliseconds) ms")
    }

    private func removeVariant() {
        if let variantFolder { try? FileManager.default.removeItem(atPath: variantFolder) }
        variantFolder = nil
    }

    /// Copies a lab folder's files, leaving out what the lab wrote while running (store data, logs).
    static func copyLab(from source: String, to destination: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: destination, withIntermediateDirectories: true)
        guard let walker = manager.enumerator(atPath: source) else { return }
        while let path = walker.nextObject() as? String {
            let parts = path.split(separator: "/")
            if parts.contains("data") || parts.contains("logs") {
                walker.skipDescendants()
                continue
            }
            var isFolder: ObjCBool = false
            manager.fileExists(atPath: source + "/" + path, isDirectory: &isFolder)
            if isFolder.boolValue {
                try manager.createDirectory(atPath: destination + "/" + path, withIntermediateDirectories: true)
            } else {
                try manager.copyItem(atPath: source + "/" + path, toPath: destination + "/" + path)
            }
        }
    }

    // MARK: - Commands in the background

    /// `COMMAND &` in the demo: the shell's background job (see `BackgroundJobs`), started before the next command.
    public func runInBackground(_ line: String) async {
        await shell.execute(line)
    }

    /// Waits for background commands to end (a `tap -n 4` ends after four messages); stops them after `timeout`.
    func finishBackground(timeout: Double = 10) async {
        await shell.jobs.finish(timeout: timeout)
    }

    // MARK: - Listing

    public func listing() async -> String {
        let style = shell.style
        var out = ""
        let width = library.lessons.map(\.name.count).max() ?? 10
        for lesson in library.lessons {
            let mark = progress.mark(for: lesson)
            let missing = await missing(lesson.needs)
            var line = " \(mark == "✓" ? style.green(mark) : mark) \(String(format: "%2d", lesson.number))  "
                + lesson.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + lesson.title
            if !missing.isEmpty { line += style.dim("  (not yet: \(missing.map(\.feature).joined(separator: ", ")))") }
            out += line + "\n"
        }
        for problem in library.problems { out += style.red("   ✗ \(problem.description)") + "\n" }
        out += style.dim("✓ done · … started · 'lesson N' starts one (the lab is reset) · 'demo N' plays it") + "\n"
        return out
    }

    // MARK: - Demo

    /// Plays a lesson: types each command at a readable speed, runs it, waits for the checks, pauses between steps.
    /// Ctrl-C (or q at a pause) stops; `demo` resumes where it stopped.
    @discardableResult
    public func demo(_ lesson: Lesson, fromStep: Int = 0, pacing: DemoPacing) async throws -> [DemoStepResult] {
        lastDemo = []
        if fromStep == 0 {
            guard try await start(lesson, demo: true) else {
                lastDemo = [DemoStepResult(lesson: lesson.number, step: 0, skipped: Self.notLanded(await missing(lesson.needs)),
                                           outcomes: [], commandsOK: true)]
                return lastDemo
            }
        } else {
            self.lesson = lesson
            await begin(step: fromStep, demo: true)
        }
        let style = shell.style
        let recorder = (shell.output as? CourseOutput)?.recorder
        let delay = typingDelay ?? (style.terminal ? 0.04 : 0)
        var index = fromStep
        while index < lesson.steps.count {
            let step = lesson.steps[index]
            demoResume = (lesson, index)
            let missing = await missing(step.needs)
            if !missing.isEmpty {
                lastDemo.append(DemoStepResult(lesson: lesson.number, step: step.number, skipped: Self.notLanded(missing), outcomes: [], commandsOK: true))
            } else {
                var commandsOK = true
                for command in step.commands {
                    try Task.checkCancellation()
                    write(shell.prompt.replacingOccurrences(of: "\u{01}", with: ""))
                    for character in command {
                        write(String(character))
                        if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000)) } else { recorder?.advance(seconds: 0.04) }
                    }
                    write("\n")
                    recorder?.advance(seconds: delay > 0 ? 0 : 0.4)
                    if command.hasSuffix("&") {
                        await runInBackground(command)
                        continue
                    }
                    if !(await shell.execute(command)) { commandsOK = false }
                    if shell.interruptedScript { throw CancellationError() }
                }
                await finishBackground()
                let outcomes = try await waitForChecks(step)
                for (check, outcome) in zip(step.checks, outcomes) {
                    say((outcome.passed ? style.green("✓") : style.red("✗")) + " \(check.text) — \(outcome.why)")
                }
                let result = DemoStepResult(lesson: lesson.number, step: step.number, skipped: nil, outcomes: outcomes, commandsOK: commandsOK)
                lastDemo.append(result)
                if result.passed { progress.stepDone(lesson, step: step.number); saveProgress() }
            }
            index += 1
            guard index < lesson.steps.count else { break }
            switch pacing {
            case .auto(let seconds):
                if seconds > 0 { try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000)) } else { recorder?.advance(seconds: 1.5) }
            case .enter:
                say(style.dim("— Enter: next step · q: stop —"))
                let answer = try await waitForEnter()
                if answer.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("q") {
                    demoResume = (lesson, index)
                    say(style.dim("demo stopped before step \(lesson.steps[index].number) — 'demo' resumes"))
                    return lastDemo
                }
            }
            await begin(step: index, demo: true)
        }
        demoResume = nil
        if lastDemo.allSatisfy(\.passed) {
            finish(lesson)
        } else {
            say("")
            say(shell.style.red("Demo of lesson \(lesson.number) ended, but not every check passed."))
            self.lesson = nil
        }
        return lastDemo
    }

    /// Polls the step's checks until they pass or the timeout (health checks and alerts need a few seconds).
    func waitForChecks(_ step: Step) async throws -> [CheckOutcome] {
        let deadline = ContinuousClock.now + .milliseconds(Int(demoCheckTimeout * 1000))
        while true {
            let outcomes = await CheckEvaluator.evaluate(step, in: self).map(\.1)
            if outcomes.allSatisfy(\.passed) || ContinuousClock.now >= deadline { return outcomes }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
    }
}

/// Reads a line from standard input while the shell waits (a demo's pause), giving up when the task is cancelled.
enum StandardInput {
    static func line() async throws -> String {
        var bytes: [UInt8] = []
        while true {
            try Task.checkCancellation()
            var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready <= 0 {
                try await Task.sleep(nanoseconds: 1_000_000)
                continue
            }
            var byte: UInt8 = 0
            let count = read(STDIN_FILENO, &byte, 1)
            if count <= 0 { return "q" }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }
}
