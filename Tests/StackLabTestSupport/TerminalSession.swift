import Foundation

/// The real `stacklab` binary in a real terminal: a tmux session on a tmux server of the suite's own, keys sent as a
/// person types them, the screen read back.
public struct TerminalSession: Sendable {
    public let name: String
    /// The suite's own tmux server (`tmux -L`), never one that other people's sessions live in.
    public let server: String

    public static let tmuxPath: String? = {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(folder)/tmux"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    public static var tmuxAvailable: Bool { tmuxPath != nil && FileManager.default.fileExists(atPath: "/proc/self/fd") }

    /// `.build/debug/stacklab` of the package a test file belongs to (pass `#filePath`); `swift build --build-tests`
    /// builds it.
    public static func stacklabBinary(testFile: String = #filePath) -> String {
        var folder = URL(fileURLWithPath: testFile).deletingLastPathComponent()
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent(".build/debug/stacklab").path
    }

    /// Starts `command` (a shell command line) in a new session; when it ends the pane shows `EXITED <status>`.
    /// `history`: lines of scrollback to keep, for a test that reads back a long session (tmux keeps 2000).
    public static func start(server: String, environment: [String: String], command: String, width: Int = 120, height: Int = 50,
                             limit: Int = 120, history: Int? = nil) throws -> TerminalSession {
        let session = TerminalSession(name: "stacklab-test-\(getpid())-\(UUID().uuidString.prefix(6))", server: server)
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        // A crash prints its whole backtrace at once, without waiting for keys, so a failed wait shows where it was.
        let line = "env SWIFT_BACKTRACE=interactive=no,color=no,symbolicate=fast \(env) TERM=xterm-256color "
            + "timeout --foreground \(limit) \(command); echo EXITED $?; sleep 60"
        // A tmux server started here lives on after the test; ChildProcess hands it no descriptor of the test process
        // (the listening sockets of labs other suites run at the same time would stay bound: "address already in use").
        guard let path = tmuxPath else { throw WaitTimeout(what: "tmux (not installed)") }
        // A pane whose command has ended stays readable until the test kills it, so a wait that fails long after an
        // early exit still shows what the program printed.
        let options = ["start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";"]
            + (history.map { ["set-option", "-g", "history-limit", "\($0)", ";"] } ?? [])
        let result = try ChildProcess.runBlocking(path, ["-L", server] + options
                                                    + ["new-session", "-d", "-s", session.name, "-x", "\(width)", "-y", "\(height)", line],
                                                  mergingStderr: true, timeout: 60)
        guard result.status == 0 else { throw WaitTimeout(what: "tmux new-session (\(result.termination)): \(result.stdout)") }
        return session
    }

    /// A tmux command on the suite's server; its output, or "" when it could not run.
    @discardableResult
    func tmux(_ arguments: [String]) -> String {
        guard let path = Self.tmuxPath,
              let result = try? ChildProcess.runBlocking(path, ["-L", server] + arguments, timeout: 60) else { return "" }
        return result.stdout
    }

    /// Named keys (Enter, Tab, Up, C-c, C-d, C-u) as tmux names them; anything else is typed literally.
    public func send(_ keys: String...) {
        for key in keys {
            let named = ["Enter", "Tab", "Up", "C-c", "C-d", "C-u"].contains(key)
            tmux(["send-keys", "-t", name] + (named ? [key] : ["-l", key]))
        }
    }

    public func capture(lines: Int = 500) -> String { tmux(captureArguments(lines: lines)) }

    /// `capture` for `waitFor`, which asks many times a second: tmux waited for on a Dispatch thread, never on the
    /// cooperative threads the suites share.
    private func screen() async -> String {
        guard let path = Self.tmuxPath,
              let result = try? await ChildProcess.run(path, ["-L", server] + captureArguments(lines: 500), timeout: 60) else { return "" }
        return result.stdout
    }

    private func captureArguments(lines: Int) -> [String] { ["capture-pane", "-p", "-J", "-S", "-\(lines)", "-t", name] }

    public func cursorX() -> Int {
        Int(tmux(["display", "-p", "-t", name, "#{cursor_x}"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Waits until the pane shows `text` (`count` times); generous deadlines, no fixed sleeps. Task.sleep, never
    /// Thread.sleep: a blocked cooperative thread would starve the other suites.
    /// A program that has ended ends the wait at once.
    public func waitFor(_ text: String, count: Int = 1, timeout: Double = 30) async throws {
        let what = "'\(text)'\(count > 1 ? " ×\(count)" : "")"
        var ended = false
        do {
            try await waitUntil(timeout: timeout, every: 0.05) {
                let shown = await screen()
                if shown.components(separatedBy: text).count - 1 >= count { return true }
                ended = Self.hasEnded(shown)
                return ended
            }
        } catch is WaitTimeout {
            throw WaitTimeout(what: "\(what) in the terminal; it shows:\n\(await screen())")
        }
        let last = await screen()
        if ended && last.components(separatedBy: text).count - 1 < count {
            throw WaitTimeout(what: "\(what), but the program ended first; the terminal shows:\n\(last)")
        }
    }

    /// Whether the pane shows the `EXITED <status>` line of a command that has ended.
    public static func hasEnded(_ screen: String) -> Bool {
        screen.split(separator: "\n").contains { $0.wholeMatch(of: /EXITED \d+\s*/) != nil }
    }

    public func kill() { tmux(["kill-session", "-t", name]) }
}
