import Foundation
import StackLabExercises
import Testing

/// A learner at a real terminal (tmux) with the real `stacklab` binary: start an exercise, grade (fail), edit a
/// file, grade (pass), see the progress; and `stacklab grade DIR --watch` grading again on save. Needs tmux and the
/// built binary (`swift build --build-tests` builds it); skipped when either is missing.
@Suite(.serialized, .enabled(if: LearnerTerminal.available, "needs tmux and .build/debug/stacklab"))
struct LearnerTerminalTests {
    static func giveWeb02TwiceTheWeight(in folder: String) throws {
        let cfg = folder + "/lb-01/haproxy.cfg"
        let text = try String(contentsOfFile: cfg, encoding: .utf8)
        let fixed = text.replacingOccurrences(of: "server web-02 127.0.1.12:8080 check inter 2s fall 3 rise 2",
                                              with: "server web-02 127.0.1.12:8080 check inter 2s fall 3 rise 2 weight 2")
        #expect(fixed != text)
        try fixed.write(toFile: cfg, atomically: true, encoding: .utf8)
    }

    @Test func aLearnerStartsGradesFailsEditsGradesPassesAndSeesProgress() async throws {
        let root = NSTemporaryDirectory() + "stacklab-learner-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let terminal = try LearnerTerminal.start(root: root, arguments: "--port-base \(GradingPorts.offset())")
        defer { terminal.kill() }
        try await terminal.waitFor("foobar ●")
        terminal.send("exercise 1", "Enter")
        try await terminal.waitFor("Starter files written to \(root)/work/01-weights")
        terminal.send("hint", "Enter")
        try await terminal.waitFor("Hint 1 of 3")
        terminal.send("grade", "Enter")
        try await terminal.waitFor("exercise 1 is not done yet: 2 of 4 checks pass", timeout: 60)
        #expect(terminal.capture().contains("FAIL web-02 serves two thirds of the requests"))

        // The learner edits the file in their editor.
        try Self.giveWeb02TwiceTheWeight(in: root + "/work/01-weights")
        terminal.send("grade", "Enter")
        try await terminal.waitFor("all checks pass", timeout: 60)
        terminal.send("exercises", "Enter")
        try await terminal.waitFor("1 of 8 done")
        #expect(terminal.capture().contains("done 6/6"))
        terminal.send("quit", "Enter")
        try await terminal.waitFor("EXITED 0")
        let progress = try String(contentsOfFile: root + "/state/stacklab/exercises.json", encoding: .utf8)
        #expect(progress.contains("\"passed\" : true"))
    }

    @Test func gradeOnTheCommandLineExitsNonZeroUntilDoneAndWatchGradesAgainOnSave() async throws {
        let root = NSTemporaryDirectory() + "stacklab-learner-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folder = try exerciseFolder("01-weights")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let terminal = try LearnerTerminal.start(root: root, arguments: "grade '\(folder)' --watch")
        defer { terminal.kill() }
        try await terminal.waitFor("Score: 2/6", timeout: 60)
        try await terminal.waitFor("save a file to grade again")
        try Self.giveWeb02TwiceTheWeight(in: folder)
        try await terminal.waitFor("changed: lb-01/haproxy.cfg", timeout: 30)
        try await terminal.waitFor("Score: 6/6 — all checks pass", timeout: 60)
        terminal.send("C-c")
        try await terminal.waitFor("EXITED")

        let once = try LearnerTerminal.start(root: root, arguments: "grade '\(folder)'")
        defer { once.kill() }
        try await once.waitFor("EXITED 0", timeout: 60)
        try FileManager.default.removeItem(atPath: folder + "/lb-01/haproxy.cfg")
        let broken = try LearnerTerminal.start(root: root, arguments: "grade '\(folder)'")
        defer { broken.kill() }
        try await broken.waitFor("EXITED 1", timeout: 60)
        #expect(broken.capture().contains("lb-01/haproxy.cfg: missing"))
    }
}

/// An instructor grades a class's folders into one CSV with the real binary.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: LearnerTerminal.binary), "needs .build/debug/stacklab"))
struct ClassGradingTests {
    @Test func aClassIsGradedIntoOneCSVRowPerFolder() async throws {
        let ann = try exerciseFolder("01-weights", solution: true)
        let bob = try exerciseFolder("01-weights")
        let csv = NSTemporaryDirectory() + "stacklab-class-\(UUID().uuidString.prefix(8)).csv"
        defer { for path in [ann, bob, csv] { try? FileManager.default.removeItem(atPath: path) } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: LearnerTerminal.binary)
        process.arguments = ["grade", "--csv", csv, ann, bob]
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_STATE_HOME"] = NSTemporaryDirectory() + "stacklab-class-state-\(UUID().uuidString.prefix(8))"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)   // bob is not done
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(rows.count == 3)
        #expect(rows[0] == "folder,exercise,score,max,passed,failed_checks")
        #expect(rows[1] == "\(ann),01-weights,6,6,yes,")
        #expect(rows[2] == "\(bob),01-weights,2,6,no,web-02 serves two thirds of the requests; the ratio holds with 8 connections at once")
    }
}

/// A tmux session running the stacklab binary with its own state and exercise folders under `root`.
struct LearnerTerminal {
    let name: String

    static var binary: String { Repository.root + "/.build/debug/stacklab" }
    static var tmux: String? {
        ((ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/tmux" })
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    static var available: Bool { tmux != nil && FileManager.default.isExecutableFile(atPath: binary) && FileManager.default.fileExists(atPath: "/proc/self/fd") }
    /// This suite's own tmux server, never one that other people's sessions live in.
    static let socket = "stacklab-exercises-test-\(getpid())"

    static func start(root: String, arguments: String) throws -> LearnerTerminal {
        let session = LearnerTerminal(name: "stacklab-learner-\(getpid())-\(UUID().uuidString.prefix(6))")
        let command = "env XDG_STATE_HOME='\(root)/state' STACKLAB_EXERCISES='\(root)/work' NO_COLOR=1 TERM=xterm-256color "
            + "timeout --foreground 150 '\(binary)' \(arguments); echo EXITED $?; sleep 60"
        // Through system(), not Process (a tmux server would inherit Process's internal descriptors). system() hands
        // the new tmux server every open descriptor of this process, the listening sockets of labs running beside
        // this test included, which it would then hold: bash closes everything above stderr first. The server is
        // this suite's own (`-L`).
        let quoted = command.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "$", with: "\\$")
        let tmux = "tmux -L \(socket) new-session -d -s \(session.name) -x 160 -y 60 \"\(quoted)\""
        let closing = "for fd in $(ls /proc/$$/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\"; done 2>/dev/null; exec \(tmux)"
        let script = closing.replacingOccurrences(of: "'", with: "'\\''")
        let status = system("bash -c '\(script)' </dev/null >/dev/null 2>&1")
        guard status == 0 else { throw TerminalTimeout(what: "tmux new-session (status \(status))") }
        return session
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tmux!)
        process.arguments = ["-L", socket] + arguments
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
            let named = ["Enter", "C-c", "C-d"].contains(key)
            _ = try? Self.run(["send-keys", "-t", name] + (named ? [key] : ["-l", key]))
        }
    }

    func capture() -> String { (try? Self.run(["capture-pane", "-p", "-J", "-S", "-400", "-t", name])) ?? "" }

    /// Waits until the pane shows `text`; generous deadlines, no fixed sleeps.
    func waitFor(_ text: String, timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if capture().contains(text) { return }
            // Task.sleep, not Thread.sleep: a blocked cooperative thread would starve the other suites.
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        throw TerminalTimeout(what: "'\(text)' in the terminal; it shows:\n\(capture())")
    }

    func kill() { _ = try? Self.run(["kill-session", "-t", name]) }
}

struct TerminalTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}
