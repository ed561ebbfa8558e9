import Foundation
import Testing
@testable import StackLabShell

/// The real `stacklab` binary in a real terminal (tmux): a learner goes through a lesson step by step (check, hint,
/// type, back, next), and an instructor plays it as a demo, pressing Enter between steps, recorded as an asciicast.
/// Needs tmux and the built binary (`swift build --build-tests` builds it); skipped when either is missing.
@Suite(.serialized, .enabled(if: LessonTmux.available && LessonTmux.binaryExists, "needs tmux and .build/debug/stacklab"))
struct LessonTerminalTests {
    static let lesson = """
        # Two steps

        A small lesson for the terminal test.

        ## Step 1: Ask the site

        ```stacklab
        curl -i /
        ```

        > **Check:** output contains "X-Served-By: web-0"

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
        try await term.waitFor("not done yet — 'hint' helps")
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
        try await term.waitFor("✓ output contains \"X-Served-By: web-0\"")
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
@Suite(.enabled(if: LessonTmux.binaryExists, "needs .build/debug/stacklab"))
struct LessonCommandLineTests {
    @Test func aBrokenLessonFileIsAnErrorWithFileAndLine() async throws {
        let folder = temporaryFolder("stacklab-bad-lesson")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/01-broken.md"
        try "# Broken\n\nGoal.\n\n## Step 1: a\n\n```stacklab\nstatus\n```\n\n> **Check:** the site feels fast\n".write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: LessonTmux.binary)
        process.arguments = ["lesson", file, "--port-base", "14850"]
        process.environment = ["XDG_STATE_HOME": folder + "/state", "PATH": "/usr/bin:/bin"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(text.contains("stacklab: \(file):11: cannot read this check: 'the site feels fast'"), "\(text)")
    }
}

/// A tmux session running the stacklab binary (after the shell suite's helper).
struct LessonTmux {
    let name: String

    static var available: Bool { which("tmux") != nil }

    static var binary: String { repositoryRoot + "/.build/debug/stacklab" }

    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    static func which(_ tool: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(folder)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// A tmux server of this suite's own (`tmux -L`), never one that other people's sessions live in.
    static let socket = "stacklab-lessons-test-\(getpid())"

    static func start(state: String, arguments: String) throws -> LessonTmux {
        let session = LessonTmux(name: "stacklab-lesson-test-\(getpid())-\(UUID().uuidString.prefix(6))")
        let command = "env XDG_STATE_HOME='\(state)' TERM=xterm-256color timeout --foreground 120 '\(binary)' \(arguments); echo EXITED $?; sleep 60"
        // Through system(), not Process: a tmux server started here would inherit Process's internal descriptors.
        // system() still hands the new tmux server every open descriptor of this test process — including the
        // listening sockets of labs other suites run at the same time, which the server would then hold for its whole
        // life (their ports "already in use"). So bash closes everything above stderr before starting tmux.
        let quoted = command.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "$", with: "\\$")
        let tmux = "tmux -L \(socket) new-session -d -s \(session.name) -x 120 -y 50 \"\(quoted)\""
        let closing = "for fd in $(ls /proc/$$/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\"; done 2>/dev/null; exec \(tmux)"
        let script = closing.replacingOccurrences(of: "'", with: "'\\''")
        let status = system("bash -c '\(script)' </dev/null >/dev/null 2>&1")
        guard status == 0 else { throw WaitTimeout(what: "tmux new-session (status \(status))") }
        return session
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: which("tmux")!)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func send(_ keys: String...) {
        for key in keys {
            let named = ["Enter", "Tab", "Up", "C-c", "C-d", "C-u"].contains(key)
            _ = try? LessonTmux.run(["-L", LessonTmux.socket, "send-keys", "-t", name] + (named ? [key] : ["-l", key]))
        }
    }

    func capture() -> String { (try? LessonTmux.run(["-L", LessonTmux.socket, "capture-pane", "-p", "-J", "-S", "-500", "-t", name])) ?? "" }

    /// Waits until the pane shows `text` (at least `count` times); a generous deadline, no fixed sleeps.
    func waitFor(_ text: String, count: Int = 1, timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if capture().components(separatedBy: text).count - 1 >= count { return }
            // Task.sleep, not Thread.sleep: a blocked cooperative thread would starve the other suites.
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        throw WaitTimeout(what: "'\(text)' ×\(count) in the terminal; it shows:\n\(capture())")
    }

    func kill() { _ = try? LessonTmux.run(["-L", LessonTmux.socket, "kill-session", "-t", name]) }
}
