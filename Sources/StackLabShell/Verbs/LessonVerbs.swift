import ArgumentParser
import Foundation
import StackLab
import StackLabCourse

struct LessonsVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "lessons",
        abstract: "List the guided lessons, with ✓ for the ones you finished.",
        discussion: """
        Example:
          lessons
        """)
    static let group = VerbGroup.course

    func execute(in shell: Shell) async throws {
        let course = CourseSessions.of(shell)
        course.write(await course.listing())
    }
}

struct LessonVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "lesson",
        abstract: "Start a guided lesson (N, a name, or a .md file) where you left it; 'lesson stop' leaves it.",
        discussion: """
        The lab is reset and the lesson picks up at the step you were on (--restart: from the top). Each step says
        what to type; once you have typed it, the step checks the lab and moves on by itself. 'check' says what is
        still missing, 'hint' helps, 'next' and 'back' move between steps, 'lesson' alone shows the step again.

        Examples:
          lesson 1
          lesson health-checks --restart
          lesson ~/my-lesson.md
          lesson stop
        """)
    static let group = VerbGroup.course
    @Argument(help: "A lesson number, name, or Markdown file; 'stop' leaves the running lesson.") var lesson: String?
    @Flag(help: "Start from the first step instead of where you left it.") var restart = false

    func execute(in shell: Shell) async throws {
        let course = CourseSessions.of(shell)
        switch lesson {
        case nil:
            guard course.lesson != nil else { throw ShellError("no lesson is running — 'lessons' lists them, 'lesson 1' starts the first") }
            try await course.showCurrent()
        case "stop":
            if restart { throw ShellError("'lesson stop' leaves the lesson; --restart goes with a lesson: 'lesson 3 --restart'") }
            try course.leave()
        case let word?:
            try await course.start(try course.find(word), restart: restart)
        }
    }
}

struct CheckVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Is the lesson's step done? Each check with ✓ or ✗ and why; when all pass, the next step starts.",
        discussion: """
        Example:
          check
        """)
    static let group = VerbGroup.course

    func execute(in shell: Shell) async throws {
        _ = try await CourseSessions.of(shell).check()
    }
}

struct NextVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "next",
        abstract: "Go to the lesson's next step (without finishing this one).",
        discussion: """
        Example:
          next
        """)
    static let group = VerbGroup.course

    func execute(in shell: Shell) async throws { try await CourseSessions.of(shell).next() }
}

struct BackVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "back",
        abstract: "Go back to the lesson's previous step.",
        discussion: """
        Example:
          back
        """)
    static let group = VerbGroup.course

    func execute(in shell: Shell) async throws { try await CourseSessions.of(shell).back() }
}

struct HintVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "hint",
        abstract: "A hint for the lesson's current step, or, with no lesson running, for the current exercise (again for the next).",
        discussion: """
        Example:
          hint
        """)
    static let group = VerbGroup.course

    func execute(in shell: Shell) async throws {
        // One `hint` for lessons and exercises: the lesson's step while one runs, else the current exercise's.
        if CourseSessions.of(shell).lesson == nil, try ExerciseVerbs.showHintIfExerciseStarted(in: shell) { return }
        try CourseSessions.of(shell).hint()
    }
}

struct DemoVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Play a lesson for a class: commands typed out and run, a pause between steps; 'demo' alone resumes.",
        discussion: """
        Between steps the demo waits for Enter (q then Enter stops), or --auto SECONDS. Ctrl-C stops it at any time;
        'demo' with no lesson resumes at the step where it stopped.

        Examples:
          demo 3
          demo 3 --auto 5
          demo
        """)
    static let group = VerbGroup.course
    @Argument(help: "A lesson number, name, or Markdown file; leave out to resume a stopped demo.") var lesson: String?
    @Option(help: "Go on after this many seconds instead of waiting for Enter.") var auto: Double?

    func validate() throws {
        if let auto, !(0...3600).contains(auto) { throw ValidationError("--auto is between 0 and 3600 seconds, e.g. --auto 5") }
    }

    func execute(in shell: Shell) async throws {
        let course = CourseSessions.of(shell)
        // A script cannot press Enter: without --auto it goes on after a short pause.
        let pacing: DemoPacing = auto.map { .auto($0) } ?? (shell.interactive ? .enter : .auto(1))
        let results: [DemoStepResult]
        if let lesson {
            results = try await course.demo(try course.find(lesson), pacing: pacing)
        } else {
            guard let resume = course.demoResume else { throw ShellError("no demo to resume — 'demo N' plays lesson N") }
            results = try await course.demo(resume.lesson, fromStep: resume.step, pacing: pacing)
        }
        let failed = results.filter { !$0.passed }
        if !failed.isEmpty {
            throw ShellError("the demo's checks did not pass at step \(failed.map { String($0.step) }.joined(separator: ", "))")
        }
    }
}

struct ApplyVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Put the lesson step's version of a lab file (e.g. lb-01/haproxy.cfg) in place and restart the lab.",
        discussion: """
        What you would do on a real server by editing the file and reloading the service. The lesson shows the file;
        'lab show FILE' prints what is running now. With a NAME, the lab becomes a fresh copy of that built-in lab
        (foobar, foobar-hardened) instead.

        Examples:
          apply
          apply foobar-hardened
        """)
    static let group = VerbGroup.course
    @Argument(help: "A built-in lab to start instead (foobar-hardened).") var lab: String?

    func execute(in shell: Shell) async throws { try await CourseSessions.of(shell).applyFiles(builtInLab: lab) }
}
