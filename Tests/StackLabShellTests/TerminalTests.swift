import Foundation
import Testing
@testable import StackLabShell
import StackLabTestSupport

/// The real `stacklab` binary in a real terminal (tmux): typing, Tab, Ctrl-C out of a long load, Ctrl-D, and history
/// recalled with Up after a restart. Needs tmux and the built binary (`swift build --build-tests` builds it, as
/// `make test` does); skipped when either is missing.
@Suite(.serialized, .enabled(if: Tmux.available && Tmux.binaryExists, "needs tmux and .build/debug/stacklab"), .runsALab)
struct TerminalTests {
    @Test func typeTabCtrlCHistoryInARealTerminal() async throws {
        let state = temporaryFolder("stacklab-tmux-state")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let offset = ShellTestPorts.terminal

        let first = try Tmux.start(state: state, portBase: offset)
        defer { first.kill() }
        try await first.waitFor("foobar ●")
        // Tab completes the verb; the cursor lands right after it (the prompt's colour codes take no room).
        first.send("sta", "Tab")
        try await first.waitFor("foobar ● status")
        #expect(first.cursorX() == "foobar ● status ".count)
        first.send("Enter")
        try await first.waitFor("CHECK BY lb-01")
        // Ctrl-C stops a 60 s load and the shell carries on.
        first.send("load -d 60", "Enter")
        try await first.waitFor("responses")
        first.send("C-c")
        try await first.waitFor("(stopped)")
        first.send("curl /health", "Enter")
        try await first.waitFor("\nOK")
        // Ctrl-C on a half-typed line cancels just the line.
        first.send("kill web-0", "C-c")
        try await first.waitFor("kill web-0^C")
        first.send("C-d")
        try await first.waitFor("EXITED 0")

        // A new shell remembers the last command: Up brings it back.
        let second = try Tmux.start(state: state, portBase: offset)
        defer { second.kill() }
        try await second.waitFor("foobar ●")
        second.send("Up")
        try await second.waitFor("foobar ● curl /health")
        second.send("C-u", "quit", "Enter")
        try await second.waitFor("EXITED 0")
    }
}

extension TerminalTests {
    /// `load -n 200 &` while the learner types: the job's lines appear above the prompt, the half-typed line stays
    /// as it was (and can be finished), a line says the job ended, and a prompt follows. At 80×24, as a learner's
    /// terminal.
    @Test func aBackgroundJobPrintsAboveThePromptAndTheTypedLineStays() async throws {
        let state = temporaryFolder("stacklab-tmux-jobs")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let term = try Tmux.start(state: state, portBase: ShellTestPorts.terminal, width: 80, height: 24)
        defer { term.kill() }
        try await term.waitFor("foobar ●")
        term.send("load -n 200 &", "Enter")
        try await term.waitFor("[1] load -n 200")
        term.send("curl /hea")
        // The job's end, then the prompt drawn again with what was typed (a moment after the end's line).
        try await term.waitFor("[1] done: load -n 200\nfoobar ● curl /hea")
        let screen = term.capture()
        let lines = screen.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        // The job's report, then its end, then the prompt with what was typed, untouched.
        let report = try #require(lines.lastIndex { $0.hasPrefix("served by") }, "\(screen)")
        let done = try #require(lines.lastIndex { $0.contains("[1] done: load -n 200") }, "\(screen)")
        #expect(report < done, "\(screen)")
        #expect(lines.last == "foobar ● curl /hea", "\(screen)")
        #expect(term.cursorX() == "foobar ● curl /hea".count)
        // Nothing was drawn over the prompt: it shows once after the job started, at the bottom.
        #expect(!lines.contains { $0.contains("foobar ●") && $0.contains("responses") }, "\(screen)")
        for line in lines { #expect(line.count <= 80) }
        term.send("lth", "Enter")
        try await term.waitFor("\nOK")
        term.send("C-d")
        try await term.waitFor("EXITED 0")
    }
}

/// The shell suite's terminal: the built binary on the lab's terminal-test ports, in the shared `TerminalSession`.
enum Tmux {
    static var available: Bool { TerminalSession.tmuxAvailable }
    static var binary: String { TerminalSession.stacklabBinary() }
    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    static let server = "stacklab-shell-test-\(getpid())"

    static func start(state: String, portBase: Int, width: Int = 120, height: Int = 50) throws -> TerminalSession {
        try TerminalSession.start(server: server, environment: ["XDG_STATE_HOME": state], command: "'\(binary)' --port-base \(portBase)",
                                  width: width, height: height)
    }
}
