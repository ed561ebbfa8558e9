import Foundation
import Testing
@testable import StackLabShell
import StackLabTestSupport

/// The real `stacklab` binary in a real terminal (tmux): a learner goes through a lesson step by step (check, hint,
/// type, back, next), and an instructor plays it as a demo, pressing Enter between steps, recorded as an asciicast.
/// Needs tmux and the built binary (`swift build --build-tests` builds it); skipped when either is missing.
@Suite(.serialized, .enabled(if: LessonTmux.available && LessonTmux.binaryExists, "needs tmux and .build/debug/stacklab"), .runsALab)
struct LessonTerminalTests {
    static let lesson = """
        # Two steps

        A small lesson for the terminal test.

        ## Step 1: Ask the site

        ```stacklab
        curl -i /
        ```

        > **Check:** output contains "x-served-by: web-0"

        > **Hint:** curl -i shows the headers.

        ## Step 2: Crash an app server

        ```stacklab
        kill web-02/gunicorn
        ```

        > **Check:** web-02/gunicorn is crashed
        """

    @Test func aLearnerGoesThroughALessonStepByStep() async throws {
        let folder = temporaryFolder("stacklab-tmux-lesson")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.lesson.write(toFile: folder + "/01-two-steps.md", atomically: true, encoding: .utf8)
        let term = try LessonTmux.start(state: folder + "/state", arguments: "lesson '\(folder)/01-two-steps.md' --port-base 14850")
        defer { term.kill() }
        try await term.waitFor("Step 1 of 2: Ask the site")
        try await term.waitFor("foobar ●")
        term.send("check", "Enter")
        try await term.waitFor("not done yet — the step still waits for 'curl -i /' ('hint' helps)")
        term.send("hint", "Enter")
        try await term.waitFor("Hint: curl -i shows the headers.")
        term.send("curl -i /", "Enter")
        // No 'check' typed: the step finishes by itself after the command.
        try await term.waitFor("Step 1 done.")
        try await term.waitFor("Step 2 of 2: Crash an app server")
        term.send("back", "Enter")
        try await term.waitFor("Step 1 of 2", count: 2)
        term.send("next", "Enter")
        try await term.waitFor("Step 2 of 2", count: 2)
        term.send("kill web-02/gunicorn", "Enter")
        try await term.waitFor("Lesson 1 complete: Two steps.")
        term.send("C-d")
        try await term.waitFor("EXITED 0")
        let progress = try String(contentsOfFile: folder + "/state/stacklab/progress.json", encoding: .utf8)
        #expect(progress.contains("\"finished\" : true"), "\(progress)")
    }

    @Test func anInstructorPlaysTheLessonAsADemoAndRecordsIt() async throws {
        let folder = temporaryFolder("stacklab-tmux-demo")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.lesson.write(toFile: folder + "/01-two-steps.md", atomically: true, encoding: .utf8)
        let cast = folder + "/demo.cast"
        let term = try LessonTmux.start(state: folder + "/state",
                                        arguments: "lesson '\(folder)/01-two-steps.md' --demo --record '\(cast)' --port-base 14950")
        defer { term.kill() }
        // Typed out, run, checked; then it waits for Enter.
        try await term.waitFor("foobar ● curl -i /")
        try await term.waitFor("✓ output contains \"x-served-by: web-0\"")
        try await term.waitFor("— Enter: next step · q: stop —")
        #expect(!term.capture().contains("Step 2 of 2"), "the demo waits for Enter")
        term.send("Enter")
        try await term.waitFor("✓ web-02/gunicorn is crashed")
        try await term.waitFor("Lesson 1 complete: Two steps.")
        try await term.waitFor("EXITED 0")
        let lines = try String(contentsOfFile: cast, encoding: .utf8).split(separator: "\n")
        let header = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(header["version"] as? Int == 2)
        #expect((header["width"] as? Int ?? 0) > 0 && (header["height"] as? Int ?? 0) > 0)
        let events = try lines.dropFirst().map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Any]) }
        let text = events.compactMap { $0[2] as? String }.joined()
        #expect(text.contains("kill web-02/gunicorn"))
        #expect(text.contains("Lesson 1 complete"))
        let times = events.compactMap { $0[0] as? Double }
        #expect(times == times.sorted(), "event times never go back")
    }
}

/// `stacklab lesson FILE` with a broken file: the error names file and line, and no lab starts.
@Suite(.enabled(if: LessonTmux.binaryExists, "needs .build/debug/stacklab"), .runsALab)
struct LessonCommandLineTests {
    @Test func aBrokenLessonFileIsAnErrorWithFileAndLine() async throws {
        let folder = temporaryFolder("stacklab-bad-lesson")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/01-broken.md"
        try "# Broken\n\nGoal.\n\n## Step 1: a\n\n```stacklab\nstatus\n```\n\n> **Check:** the site feels fast\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.run(LessonTmux.binary, ["lesson", file, "--port-base", "14850"],
                                                environment: ["XDG_STATE_HOME": folder + "/state", "PATH": "/usr/bin:/bin"])
        let text = result.stderr
        #expect(result.status == 1)
        #expect(text.contains("stacklab: \(file):11: cannot read this check: 'the site feels fast'"), "\(text)")
    }
}

/// The lessons suite's terminal: the built binary with its own state folder, in the shared `TerminalSession`.
enum LessonTmux {
    static var available: Bool { TerminalSession.tmuxAvailable }
    static var binary: String { repositoryRoot + "/.build/debug/stacklab" }
    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    static let server = "stacklab-lessons-test-\(getpid())"

    static func start(state: String, arguments: String) throws -> TerminalSession {
        try TerminalSession.start(server: server, environment: ["XDG_STATE_HOME": state], command: "'\(binary)' \(arguments)")
    }
}
