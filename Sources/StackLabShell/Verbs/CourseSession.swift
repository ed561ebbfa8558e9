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
        if silenced.current > 0 { return }
        inner.write(text)
        transcript.record(text)
        recorder?.output(text)
    }

    /// While above zero nothing is written (a resumed lesson replaying the steps before it).
    let silenced = LockedBox(0)
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
        // A step that asks a question first reads the answer at a prompt of its own.
        let question = await MainActor.run { CourseSessions.existing(shell)?.questionPrompt }
        let input = await inner.readLine(prompt: question ?? prompt)
        guard case .line(let line) = input else { return input }
        if question != nil, await MainActor.run(body: { CourseSessions.existing(shell)?.answer(line) ?? false }) {
            return .line("")
        }
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

    /// After the shell's lab has stopped: removes what its lessons wrote under the state folder for that lab (the
    /// lesson's version of the lab that `apply` ran).
    public static func cleanUp(after shell: Shell) {
        existing(shell)?.removeVariant()
    }

    /// Lesson names and numbers, for Tab.
    public static var completionNames: [String] { LessonLibrary.builtIn().names }
}

/// What the demo did at one step (for the test that plays every lesson, and for the summary).
public struct DemoStepResult: Sendable {
    public var lesson: Int
    public var step: Int
    public var outcomes: [CheckOutcome]
    public var commandsOK: Bool
    /// Checks decide; a failing command can be the point of a step (curl through a dead balancer).
    public var passed: Bool { outcomes.allSatisfy(\.passed) }
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
    /// Which of the step's commands the learner has typed; its checks run once the ending one is in.
    public private(set) var stepCommands: StepCommands?
    /// Learner commands noted since the step began, and how many had been when the checks last ran by themselves.
    private var commandsNoted = 0
    private var autoCheckedAt = -1
    /// What the last automatic check said was missing (said once, not after every command).
    private var lastNotYet: String?
    private var hintsShown = 0
    /// What the learner's commands and the lab reported in this lesson.
    public private(set) var facts = FactLog()
    private let watcher = LabWatcher()
    /// The current step's question is waiting for an answer.
    public private(set) var questionPending = false
    /// The learner's answer to the current step's question.
    public private(set) var prediction: String?
    /// How long a step's checks are tried again while the lab settles (a health check due, replication restarting).
    public var settleSeconds: Double = 20
    /// How long a step waits for the state it needs before its commands (`> **Wait for:**`).
    public var waitForSeconds: Double = 150
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
    public var monitor: Monitor? { shell.session.monitoring?.monitor }
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
    /// One check's line, wrapped between words to the terminal, its continuation under the text (not the mark).
    func sayCheck(_ mark: String, _ line: String) {
        say(TerminalText.wrapStyled(line, width: shell.style.width, lead: mark + " ", indent: "  "))
    }
    func write(_ text: String) { transcript.muted { shell.write(text) } }

    // MARK: - Facts

    /// A verb's result or a lab event, kept while a lesson runs.
    func record(_ fact: Fact, at time: Date = Date()) {
        guard lesson != nil else { return }
        facts.append(fact, at: time)
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

    /// Resets the lab and shows the step the learner was on (the first for a new, a finished or a restarted lesson; a
    /// demo always from the top). A resumed lesson first brings the fresh lab to where that step begins, replaying
    /// quietly what the steps before it changed.
    public func start(_ lesson: Lesson, demo: Bool = false, restart: Bool = false) async throws {
        let style = shell.style
        say(style.bold("Lesson \(lesson.number): \(lesson.title)"))
        if !lesson.goal.isEmpty { say(Self.terminalText(lesson.goal, style: style)) }
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
        self.lesson = lesson
        facts = FactLog()
        watcher.start(for: self)
        if restart { progress.restarted(lesson) }
        let resumeAt = demo ? 0 : lesson.steps.firstIndex { $0.number == progress.resumeStep(for: lesson) } ?? 0
        if resumeAt > 0 {
            let replayed = await replay(lesson, upTo: resumeAt)
            say(style.dim("(resuming at step \(lesson.steps[resumeAt].number) of \(lesson.steps.count) — 'lesson \(lesson.number) --restart' starts over;"
                + " the lab was started fresh" + (replayed.isEmpty ? ")" : " and brought to where this step begins: " + replayed.joined(separator: " · ") + ")")))
        } else {
            say(style.dim("(the lab was started fresh for this lesson)"))
        }
        saveProgress()
        await begin(step: resumeAt, demo: demo)
    }

    /// Runs, without a word, the commands of the steps before `index` that change the lab (faults, files, SQL
    /// writes, posts, firewall rules, the monitor); returns them.
    func replay(_ lesson: Lesson, upTo index: Int) async -> [String] {
        let output = shell.output as? CourseOutput
        output?.silenced.withValue { $0 += 1 }
        defer { output?.silenced.withValue { $0 -= 1 } }
        var replayed: [String] = []
        for position in 0..<index {
            stepIndex = position
            for command in lesson.steps[position].commands where Self.changesTheLab(command) {
                _ = await shell.execute(command)
                replayed.append(command)
            }
        }
        return replayed
    }

    /// Whether a lesson command changes the lab (rather than looking at it or sending reads).
    static func changesTheLab(_ line: String) -> Bool {
        guard !line.trimmingCharacters(in: .whitespaces).hasSuffix("&"),
              let words = (try? CommandLineText.commands(in: line))?.first?.words, let verb = words.first else { return false }
        switch VerbTable.aliases[verb] ?? verb {
        case "kill", "stop", "hang", "slow", "revive", "partition", "heal", "apply", "ufw", "monitor", "reset": return true
        case "sql":
            let statement = words.dropFirst().first { !$0.contains("-") && !$0.contains("/") }?.uppercased() ?? ""
            return !["SELECT", "SHOW"].contains(statement)
        case "curl":
            if words.contains("-d") { return true }
            guard let x = words.firstIndex(of: "-X"), x + 1 < words.count else { return false }
            return !["GET", "HEAD"].contains(words[x + 1].uppercased())
        default: return false
        }
    }

    func begin(step index: Int, demo: Bool = false) async {
        guard let lesson else { return }
        stepIndex = index
        let step = lesson.steps[index]
        hintsShown = 0
        stepCommands = StepCommands(step)
        commandsNoted = 0
        autoCheckedAt = -1
        lastNotYet = nil
        questionPending = false
        prediction = nil
        transcript.markStepBegan()
        facts.markStepBegan(step: step.number)
        progress.moved(lesson, to: step.number)
        saveProgress()
        await show(step: step, of: lesson, demo: demo)
    }

    func show(step: Step, of lesson: Lesson, demo: Bool) async {
        let style = shell.style
        say("")
        say(style.bold("Step \(step.number) of \(lesson.steps.count): \(step.title)"))
        let prose = step.prose.trimmingCharacters(in: .whitespacesAndNewlines)
        if !prose.isEmpty { say(Self.terminalText(prose, style: style)) }
        if !step.waitFor.isEmpty { await waitBefore(step) }
        if let question = step.prediction {
            say(style.bold("Predict first: ") + Self.terminalText(question.question, style: style))
            say("    " + question.answers.map { style.cyan($0) }.joined(separator: " · "))
            if demo { return }
            questionPending = true
            say(style.dim("(type your answer; 'skip' goes on without one)"))
            return
        }
        if demo { return }
        showCommands(step)
    }

    func showCommands(_ step: Step) {
        let style = shell.style
        say(style.dim("Type:"))
        for command in step.commands { say("    " + style.cyan(command)) }
        say(style.dim(TerminalText.wrapStyled("(the step checks itself after them; 'check', 'hint', 'next' and 'back' help)",
                                              width: style.width)))
    }

    /// `> **Wait for:**`: the lab must get there first (a replica applying a delayed change); the wait shows it
    /// getting there, Ctrl-C ends it.
    func waitBefore(_ step: Step) async {
        let style = shell.style
        say(style.dim("Waiting until " + step.waitFor.map(\.text).joined(separator: " and ") + " …"))
        let results = await settle(step.waitFor, window: waitForSeconds, saying: "")
        for (check, outcome) in results {
            sayCheck(outcome.passed ? style.green("✓") : style.yellow("…"), outcome.line(for: check))
        }
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
        let results = await CheckEvaluator.evaluate(step, in: self)
        for (check, outcome) in results {
            sayCheck(outcome.passed ? shell.style.green("✓") : shell.style.red("✗"), outcome.line(for: check))
        }
        let passed = results.allSatisfy { $0.1.passed }
        if passed {
            await complete(step, of: lesson)
        } else {
            let waiting = stepCommands?.next.map { " — the step still waits for '\($0)'" } ?? ""
            say(shell.style.dim("not done yet" + waiting + (step.hints.isEmpty ? "" : " ('hint' helps)")))
        }
        return passed
    }

    func complete(_ step: Step, of lesson: Lesson) async {
        if let question = step.prediction { observe(question, at: step, of: lesson) }
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
        progress.finished(lesson)
        saveProgress()
        let score = progress.of(lesson).predictionScore
        say("")
        say(TerminalText.wrapStyled(shell.style.bold("Lesson \(lesson.number) complete: \(lesson.title).")
            + (score.graded > 0 ? " Predictions: \(score.right) of \(score.graded) right." : "")
            + (library.lessons.contains { $0.number == lesson.number + 1 } ? " Next: 'lesson \(lesson.number + 1)'." : ""),
            width: shell.style.width))
        end()
    }

    /// No lesson runs any more (finished, or left with `lesson stop`).
    func end() {
        lesson = nil
        stepCommands = nil
        questionPending = false
        watcher.stop()
    }

    /// `lesson stop`: leaves the lesson; its step is kept for `lesson N`.
    public func leave() throws {
        let (lesson, step) = try requireLesson()
        say("Left lesson \(lesson.number) at step \(step.number) of \(lesson.steps.count) — 'lesson \(lesson.number)' picks up there,"
            + " 'lesson \(lesson.number) --restart' starts over.")
        end()
    }

    /// `lesson` alone: the current step again.
    public func showCurrent() async throws {
        let (lesson, step) = try requireLesson()
        await show(step: step, of: lesson, demo: false)
    }

    // MARK: - Predict, then observe

    /// The prompt while the step's question waits for an answer.
    var questionPrompt: String? {
        guard questionPending, let question = currentStep?.prediction else { return nil }
        return "your prediction (\(question.answers.joined(separator: " · "))) ▸ "
    }

    /// A line typed at the question's prompt: an answer (or `skip`) is taken and the commands shown; a lesson verb
    /// (`next`, `hint`, `lesson stop` …) runs as usual (false); anything else asks again.
    func answer(_ line: String) -> Bool {
        guard questionPending, let step = currentStep, let question = step.prediction else { return false }
        let words = line.trimmingCharacters(in: .whitespaces)
        if words.lowercased() == "skip" {
            questionPending = false
            say(shell.style.dim("No prediction this time."))
            showCommands(step)
            return true
        }
        if let chosen = question.answer(for: words) {
            questionPending = false
            prediction = chosen
            say("Your prediction: " + shell.style.bold(chosen) + ". Now see what happens.")
            showCommands(step)
            return true
        }
        let first = words.split(separator: " ").first.map(String.init) ?? ""
        if Self.courseVerbs.contains(first) || ["quit", "exit"].contains(first) { return false }
        if !words.isEmpty {
            say(shell.style.yellow("Answer one of: ") + question.answers.joined(separator: " · ") + shell.style.dim(" ('skip' goes on without a prediction)"))
        }
        return true
    }

    /// The prediction next to what the live run showed, graded on it; kept in progress.
    func observe(_ question: Prediction, at step: Step, of lesson: Lesson) {
        let style = shell.style
        let observed = question.observation.observe(in: self)
        // `never — nobody noticed …`, but `3 of 8 failed`, not `3 — 3 of 8 failed`.
        let lead = observed.value.flatMap { observed.words.hasPrefix($0 + " ") ? nil : style.bold($0) + " — " } ?? ""
        let happened = lead + observed.words
        guard let answer = prediction else {
            say("  what happened  " + happened)
            return
        }
        let right = question.grade(answer, against: observed)
        say("  you predicted  " + style.bold(answer))
        say("  what happened  " + happened)
        switch right {
        case true?: say("  " + style.green("✓ right"))
        case false?: say("  " + style.red("✗ not this time") + style.dim(" — the run says \(observed.value ?? "?")"))
        case nil: say("  " + style.dim("(this run could not tell)"))
        }
        progress.predicted(lesson, .init(step: step.number, answer: answer, observed: observed.value ?? observed.words, right: right))
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

    // MARK: - Checking by itself

    /// After the learner's commands (called before the next prompt): once the step's ending command has run, its
    /// checks run — again and again for a while when they look at a lab that is still settling — and the lesson
    /// moves on when they pass.
    func beforePrompt() async {
        guard let lesson, let stepCommands, stepCommands.reachedEnd, autoCheckedAt != commandsNoted else { return }
        autoCheckedAt = commandsNoted
        let step = lesson.steps[stepIndex]
        let results = await settle(step.checks, window: settleSeconds)
        guard self.lesson != nil, currentStep == step else { return }
        if results.allSatisfy({ $0.1.passed }) {
            for (check, outcome) in results { sayCheck(shell.style.green("✓"), outcome.line(for: check)) }
            await complete(step, of: lesson)
            return
        }
        let missing = results.filter { !$0.1.passed }.map { shell.style.red("✗") + " " + $0.1.line(for: $0.0) }.joined(separator: "\n")
        guard missing != lastNotYet else { return }
        lastNotYet = missing
        say(missing)
        say(shell.style.dim("not done yet" + (step.hints.isEmpty ? "" : " — 'hint' helps") + ", 'check' looks again"))
    }

    /// Runs checks until they pass; while the ones failing read the lab (or a background command may still report),
    /// tries again for up to `window` seconds, showing how the lab changes. Ctrl-C stops the wait.
    func settle(_ checks: [Check], window: Double, saying intro: String = "waiting") async -> [(Check, CheckOutcome)] {
        let style = shell.style
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int(window * 1000))
        let stopped = LockedBox(false)
        let arm = !shell.interrupts.armed
        if arm { shell.interrupts.arm { stopped.withValue { $0 = true } } }
        defer { if arm { shell.interrupts.disarm() } }
        var shown: String?
        var shownAt = started
        while true {
            let results = await CheckEvaluator.evaluate(checks, in: self)
            let failing = results.filter { !$0.1.passed }
            if failing.isEmpty { return results }
            let now = ContinuousClock.now
            let canWait = failing.allSatisfy { $0.0.readsTheLab } || backgroundRunning
            if stopped.current || Task.isCancelled {
                say(style.dim("(stopped waiting — 'check' looks again)"))
                return results
            }
            if !canWait || now >= deadline { return results }
            let words = failing.map(\.1.why).joined(separator: "; ")
            // A state that changes (UP 2/3 → UP 1/3) is shown as it changes; a countdown every 10 s.
            let countdown = shown.map { Self.digitsOnlyDiffer($0, words) } ?? false
            let gap: Duration = countdown ? .seconds(10) : .milliseconds(1500)
            if now - started >= .milliseconds(600), words != shown, shown == nil || now - shownAt >= gap {
                let left = Int((deadline - now).components.seconds)
                say(style.dim(shown == nil ? (intro.isEmpty ? "" : "\(intro) up to \(left) s (Ctrl-C stops): ") + words : "  … " + words))
                shown = words
                shownAt = now
            }
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
    }

    /// `applies it in 58 s` and `… in 56 s`: the same words, other seconds.
    static func digitsOnlyDiffer(_ a: String, _ b: String) -> Bool {
        a.replacing(#/\d+ s\b/#, with: "# s") == b.replacing(#/\d+ s\b/#, with: "# s")
    }

    static let courseVerbs: Set<String> = ["lessons", "lesson", "check", "next", "back", "hint", "demo", "help", "?"]

    /// A line the learner typed, before it runs: each command that names a verb and parses counts for the step.
    func noteCommand(_ line: String) {
        guard lesson != nil else { return }
        var text = line.trimmingCharacters(in: .whitespaces)
        let background = text.hasSuffix("&") && !text.hasSuffix("&&")
        if background { text = String(text.dropLast()).trimmingCharacters(in: .whitespaces) }
        guard let commands = try? CommandLineText.commands(in: text) else { return }
        for command in commands {
            let verb = command.words[0]
            guard !Self.courseVerbs.contains(verb), let type = VerbTable.verb(named: verb) else { continue }
            if case .error = Shell.parse(type, command: command) { continue }
            let typed = command.text + (background ? " &" : "")
            record(.command(typed))
            stepCommands?.note(typed)
            commandsNoted += 1
        }
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
        // Under the state folder, where the lab also writes its logs and data; removed when the lab is replaced or
        // the shell ends.
        let folder = StatePaths.lessonRun(lesson.name) + "-" + UUID().uuidString.prefix(8).lowercased()
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

    func removeVariant() {
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

    /// A background command is still running (and may still report what it sees).
    var backgroundRunning: Bool { !shell.jobs.running.isEmpty }

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
            out += " \(mark == "✓" ? style.green(mark) : mark) \(String(format: "%2d", lesson.number))  "
                + lesson.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + lesson.title + "\n"
            let summary = progress.summary(for: lesson)
            if !summary.isEmpty && summary != "done" {
                out += String(repeating: " ", count: 7 + width + 2) + style.dim(summary) + "\n"
            }
        }
        for problem in library.problems { out += style.red("   ✗ \(problem.description)") + "\n" }
        out += style.dim("✓ done · … started · 'lesson N' picks up where you left it · 'demo N' plays it") + "\n"
        return out
    }

    // MARK: - Demo

    /// Plays a lesson: types each command at a readable speed, runs it, waits for the checks, pauses between steps.
    /// Ctrl-C (or q at a pause) stops; `demo` resumes where it stopped.
    @discardableResult
    public func demo(_ lesson: Lesson, fromStep: Int = 0, pacing: DemoPacing) async throws -> [DemoStepResult] {
        lastDemo = []
        if fromStep == 0 {
            try await start(lesson, demo: true)
        } else {
            self.lesson = lesson
            watcher.start(for: self)
            await begin(step: fromStep, demo: true)
        }
        let style = shell.style
        let recorder = (shell.output as? CourseOutput)?.recorder
        let delay = typingDelay ?? (style.terminal ? 0.04 : 0)
        var index = fromStep
        while index < lesson.steps.count {
            let step = lesson.steps[index]
            demoResume = (lesson, index)
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
                record(.command(command))
                if command.hasSuffix("&") {
                    await runInBackground(command)
                    continue
                }
                if !(await shell.execute(command)) { commandsOK = false }
                if shell.interruptedScript { throw CancellationError() }
            }
            await finishBackground()
            let results = await settle(step.checks, window: demoCheckTimeout)
            try Task.checkCancellation()
            for (check, outcome) in results {
                sayCheck(outcome.passed ? style.green("✓") : style.red("✗"), outcome.line(for: check))
            }
            if let question = step.prediction { observe(question, at: step, of: lesson) }
            let result = DemoStepResult(lesson: lesson.number, step: step.number, outcomes: results.map(\.1), commandsOK: commandsOK)
            lastDemo.append(result)
            if result.passed { progress.stepDone(lesson, step: step.number); saveProgress() }
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
            end()
        }
        return lastDemo
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
