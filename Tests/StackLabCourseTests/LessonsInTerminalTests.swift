import Foundation
import Testing
@testable import StackLabCourse
import StackLabTestSupport

/// Every lesson played as a learner would, in a real terminal (the built binary in tmux, 80×24): exactly the commands
/// of each step's blocks, typed once, in order — never `check`, `next` or `hint` — answering each question with its
/// first answer. Every step must complete by itself and the lesson end complete. The second run types a wrong command
/// first at every step (a typo of the step's last command, a command of another step) and asserts that the step does
/// not complete on it.
///
/// `make test` plays lessons 1 and 6; `make lessons-in-terminal` plays all nine (STACKLAB_LESSONS_IN_TERMINAL=all, or a
/// list: 3,5).
@Suite(.serialized, .enabled(if: LessonTmux.available && LessonTmux.binaryExists, "needs tmux and .build/debug/stacklab"), .runsALab)
struct LessonsInTerminalTests {
    static let lessons = LessonLibrary.load(folder: repositoryRoot + "/lessons").lessons

    static let chosen: [Int] = {
        let all = lessons.map(\.number)
        guard let wanted = ProcessInfo.processInfo.environment["STACKLAB_LESSONS_IN_TERMINAL"], !wanted.isEmpty else { return [1, 6] }
        if wanted == "all" { return all }
        return wanted.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter(all.contains)
    }()

    @Test(arguments: chosen)
    func aLearnerTypesEachStepOnceAndEveryStepCompletesByItself(number: Int) async throws {
        try await play(number, wrongFirst: false, portBases: [14_650, 14_750])
    }

    @Test(arguments: chosen)
    func aWrongCommandFirstDoesNotCompleteTheStep(number: Int) async throws {
        try await play(number, wrongFirst: true, portBases: [14_750, 14_650])
    }

    /// `portBases`: the suite runs one test at a time, so either of its two bases will do; the second is tried when
    /// a program outside the suite holds a port of the first (the shell, as a learner's given --port-base, stops).
    func play(_ number: Int, wrongFirst: Bool, portBases: [Int]) async throws {
        let lesson = try #require(Self.lessons.first { $0.number == number })
        let folder = temporaryFolder("stacklab-lesson-\(number)-in-terminal")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let started = Date()
        var refused: [String] = []
        var opened: TerminalSession?
        for base in portBases where opened == nil {
            let term = try TerminalSession.start(server: LessonTmux.server, environment: ["XDG_STATE_HOME": folder + "/state"],
                                                 command: "'\(LessonTmux.binary)' lesson \(number) --port-base \(base)",
                                                 width: 80, height: 24, limit: 900, history: 100_000)
            let screen = LearnerScreen(term: term)
            try await screen.waitForScreen("the lesson's first step", timeout: 200) {
                screen.text.contains("Step 1 of ") || TerminalSession.hasEnded(screen.text)
            }
            if screen.text.contains("already in use") && TerminalSession.hasEnded(screen.text) {
                refused.append("--port-base \(base):\n\(screen.text.trimmingCharacters(in: .whitespacesAndNewlines))\n\(await Self.listeners())")
                term.kill()
            } else {
                opened = term
            }
        }
        guard let term = opened else {
            Issue.record("every port base of the suite is taken:\n\(refused.joined(separator: "\n"))")
            return
        }
        defer { term.kill() }
        if !refused.isEmpty { print("lesson \(number): \(refused.joined(separator: "\n"))") }
        let screen = LearnerScreen(term: term)
        for step in lesson.steps {
            let done = "Step \(step.number) done."
            try await screen.waitFor("Step \(step.number) of \(lesson.steps.count): ", timeout: 200)
            if let question = step.prediction {
                // (An alert noticed while the question waits redraws the shell's prompt in front of it.)
                try await screen.waitForLastLine("the question's prompt") { $0.contains("your prediction (") }
                term.send(question.answers[0], "Enter")
            }
            if wrongFirst {
                for wrong in Self.wrongCommands(for: step, in: lesson) {
                    try await screen.run(wrong)
                    #expect(!screen.text.contains(done), "lesson \(number) step \(step.number) completed on '\(wrong)':\n\(screen.tail)")
                }
            }
            for (index, command) in step.commands.enumerated() {
                if index < step.commands.count - 1 {
                    try await screen.run(command)
                    #expect(!screen.text.contains(done), "lesson \(number) step \(step.number) completed before its last command:\n\(screen.tail)")
                } else {
                    term.send(command, "Enter")
                }
            }
            try await screen.waitFor(done, timeout: 200)
        }
        try await screen.waitFor("Lesson \(number) complete", timeout: 60)
        let text = screen.text
        #expect(!text.contains("not done yet"), "a step's checks failed after its commands:\n\(text.suffix(4000))")
        #expect(!text.contains("(stopped waiting"))
        term.send("C-d")
        try await screen.waitFor("EXITED 0", timeout: 60)
        let progress = try String(contentsOfFile: folder + "/state/stacklab/progress.json", encoding: .utf8)
        #expect(progress.contains("\"finished\" : true"), "\(progress)")
        print("lesson \(number)\(wrongFirst ? " (wrong command first)" : ""): \(String(format: "%.0f", Date().timeIntervalSince(started))) s in the terminal")
    }

    /// Who listens on loopback now (`ss -ltnp`), to name the program that held a port.
    static func listeners() async -> String {
        (try? await ChildProcess.run("/usr/bin/ss", ["-ltnpH"], mergingStderr: true, timeout: 30).stdout) ?? "(ss did not run)"
    }

    /// A typo of the step's last command, and a command of another step that only looks (and whose verb this step
    /// does not use, so it cannot stand in for one of the step's commands).
    static func wrongCommands(for step: Step, in lesson: Lesson) -> [String] {
        var typo = step.commands[step.endingCommand]
        let verb = typo.prefix { $0 != " " }
        typo = String(verb.dropLast()) + typo.dropFirst(verb.count)
        let verbs = Set(step.commands.map { String($0.prefix { $0 != " " }) })
        let lookers = ["status", "diagram", "replication", "tls"]
        let other = lesson.steps.filter { $0.number != step.number }.flatMap(\.commands).first { command in
            let word = String(command.prefix { $0 != " " })
            return lookers.contains(word) && !verbs.contains(word)
        } ?? (verbs.contains("diagram") ? "replication" : "diagram")
        return [typo, other]
    }
}

/// The terminal as a learner reads it: the whole scrollback, and the line the cursor is on.
struct LearnerScreen {
    let term: TerminalSession

    var text: String { term.capture(lines: 100_000) }
    var tail: String { String(text.suffix(3000)) }

    /// The last line that is not empty.
    var lastLine: String {
        text.split(separator: "\n", omittingEmptySubsequences: true).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// `foobar ●`, `foobar ● 2 problems`: the shell waits for a command.
    static func isPrompt(_ line: String) -> Bool { line.wholeMatch(of: #/[a-z0-9-]+ ●( \d+ problems?)?/#) != nil }

    /// Waits until `condition` holds of the pane (read every 100 ms: each read is a tmux process); a timeout says
    /// what the pane shows.
    /// The shell's end ends the wait at once.
    func waitForScreen(_ what: String, timeout: Double, _ condition: () -> Bool) async throws {
        var ended = false
        do {
            try await waitUntil(timeout: timeout, every: 0.1) {
                if condition() { return true }
                ended = TerminalSession.hasEnded(text)
                return ended
            }
        } catch is WaitTimeout {
            throw WaitTimeout(what: "\(what) in the terminal; it shows:\n\(tail)")
        }
        if ended && !condition() { throw WaitTimeout(what: "\(what), but the shell ended first; the terminal shows:\n\(tail)") }
    }

    func waitFor(_ wanted: String, timeout: Double) async throws {
        try await waitForScreen("'\(wanted)'", timeout: timeout) { text.contains(wanted) }
    }

    func waitForLastLine(_ what: String, timeout: Double = 60, _ condition: (String) -> Bool) async throws {
        try await waitForScreen(what, timeout: timeout) { condition(lastLine) }
    }

    /// Types a command and waits until it has run: it shows after a prompt, and a new prompt waits below it.
    func run(_ command: String) async throws {
        func typed() -> Int { text.split(separator: "\n").filter { $0.contains("● ") && $0.hasSuffix(" " + command) }.count }
        let before = typed()
        try await waitForLastLine("a prompt before '\(command)'") { Self.isPrompt($0) }
        term.send(command, "Enter")
        try await waitForScreen("'\(command)' to run", timeout: 200) { typed() > before && Self.isPrompt(lastLine) }
    }
}
