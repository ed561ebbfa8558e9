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
        let line = "env \(env) TERM=xterm-256color timeout --foreground \(limit) \(command); echo EXITED $?; sleep 60"
        // Through system(), not Process: a tmux server started by Process inherits its internal descriptors, and
        // waiting for the client would then last as long as the server. system() hands the new tmux server every open
        // descriptor of the test process — the listening sockets of labs other suites run at the same time included,
        // which it would hold for its whole life ("address already in use"): bash closes everything above stderr first.
        let quoted = line.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "$", with: "\\$")
        let scrollback = history.map { "start-server \\; set-option -g history-limit \($0) \\; " } ?? ""
        let tmux = "tmux -L \(server) \(scrollback)new-session -d -s \(session.name) -x \(width) -y \(height) \"\(quoted)\""
        let closing = "for fd in $(ls /proc/$$/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\"; done 2>/dev/null; exec \(tmux)"
        let script = closing.replacingOccurrences(of: "'", with: "'\\''")
        let status = system("bash -c '\(script)' </dev/null >/dev/null 2>&1")
        guard status == 0 else { throw WaitTimeout(what: "tmux new-session (status \(status))") }
        return session
    }

    @discardableResult
    func tmux(_ arguments: [String]) -> String {
        guard let path = Self.tmuxPath else { return "" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-L", server] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Named keys (Enter, Tab, Up, C-c, C-d, C-u) as tmux names them; anything else is typed literally.
    public func send(_ keys: String...) {
        for key in keys {
            let named = ["Enter", "Tab", "Up", "C-c", "C-d", "C-u"].contains(key)
            tmux(["send-keys", "-t", name] + (named ? [key] : ["-l", key]))
        }
    }

    public func capture(lines: Int = 500) -> String { tmux(["capture-pane", "-p", "-J", "-S", "-\(lines)", "-t", name]) }

    public func cursorX() -> Int {
        Int(tmux(["display", "-p", "-t", name, "#{cursor_x}"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Waits until the pane shows `text` (`count` times); generous deadlines, no fixed sleeps. Task.sleep, never
    /// Thread.sleep: a blocked cooperative thread would starve the other suites.
    public func waitFor(_ text: String, count: Int = 1, timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if capture().components(separatedBy: text).count - 1 >= count { return }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        throw WaitTimeout(what: "'\(text)'\(count > 1 ? " ×\(count)" : "") in the terminal; it shows:\n\(capture())")
    }

    public func kill() { tmux(["kill-session", "-t", name]) }
}
