import Foundation
import Testing
@testable import StackLabShell

/// The real `stacklab` binary in a real terminal (tmux): typing, Tab, Ctrl-C out of a long load, Ctrl-D, and history
/// recalled with Up after a restart. Needs tmux and the built binary (`swift build --build-tests` builds it, as
/// `make test` does); skipped when either is missing.
@Suite(.serialized, .enabled(if: Tmux.available && Tmux.binaryExists, "needs tmux and .build/debug/stacklab"))
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

/// A tmux session running the stacklab binary.
struct Tmux {
    let name: String

    static var available: Bool { which("tmux") != nil }

    static var binary: String {
        // Tests/StackLabShellTests/TerminalTests.swift → package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/stacklab").path
    }

    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// This suite's own tmux server, never one that other people's sessions live in.
    static let socket = "stacklab-shell-test-\(getpid())"

    static func which(_ tool: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(folder)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func start(state: String, portBase: Int) throws -> Tmux {
        let session = Tmux(name: "stacklab-test-\(getpid())-\(UUID().uuidString.prefix(6))")
        let command = "env XDG_STATE_HOME='\(state)' TERM=xterm-256color timeout --foreground 120 '\(binary)' --port-base \(portBase); echo EXITED $?; sleep 60"
        // Through system(), not Process: a tmux server started here inherits Process's internal descriptors, and
        // waiting for the client would then last as long as the server. system() hands the new tmux server every open
        // descriptor of this test process — the listening sockets of labs other suites run at the same time
        // included, which it would hold for its whole life ("address already in use"): bash closes everything above
        // stderr first. The server is this suite's own (`-L`).
        let quoted = command.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "$", with: "\\$")
        let tmux = "tmux -L \(socket) new-session -d -s \(session.name) -x 120 -y 50 \"\(quoted)\""
        let closing = "for fd in $(ls /proc/$$/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\"; done 2>/dev/null; exec \(tmux)"
        let script = closing.replacingOccurrences(of: "'", with: "'\\''")
        let status = system("bash -c '\(script)' </dev/null >/dev/null 2>&1")
        guard status == 0 else { throw WaitTimeout(what: "tmux new-session (status \(status))") }
        return session
    }

    @discardableResult
    static func run(_ arguments: [String], output: Bool = true) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: which("tmux")!)
        process.arguments = ["-L", socket] + arguments
        let pipe = Pipe()
        process.standardOutput = output ? pipe : FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output ? pipe.fileHandleForReading.readDataToEndOfFile() : Data()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func send(_ keys: String...) {
        for key in keys {
            // Named keys (Enter, Tab, C-c, Up) as tmux names them; anything else is typed literally.
            let named = ["Enter", "Tab", "Up", "C-c", "C-d", "C-u"].contains(key)
            _ = try? Tmux.run(["send-keys", "-t", name] + (named ? [key] : ["-l", key]))
        }
    }

    func capture() -> String { (try? Tmux.run(["capture-pane", "-p", "-J", "-S", "-200", "-t", name])) ?? "" }

    func cursorX() -> Int { Int((try? Tmux.run(["display", "-p", "-t", name, "#{cursor_x}"]))?.trimmingSpaces ?? "") ?? -1 }

    /// Waits until the pane shows `text`; a generous deadline for slow machines, no fixed sleeps.
    func waitFor(_ text: String, timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if capture().contains(text) { return }
            // Task.sleep, not Thread.sleep: a blocked cooperative thread would starve the other suites.
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        throw WaitTimeout(what: "'\(text)' in the terminal; it shows:\n\(capture())")
    }

    func kill() { _ = try? Tmux.run(["kill-session", "-t", name]) }
}
