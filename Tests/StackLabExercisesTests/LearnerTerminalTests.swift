import Foundation
import StackLabExercises
import Testing
import StackLabTestSupport

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
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_STATE_HOME"] = NSTemporaryDirectory() + "stacklab-class-state-\(UUID().uuidString.prefix(8))"
        let result = try await ChildProcess.run(LearnerTerminal.binary, ["grade", "--csv", csv, ann, bob], environment: environment)
        #expect(result.status == 1, "\(result.stderr)")   // bob is not done
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(rows.count == 3)
        #expect(rows[0] == "folder,exercise,score,max,passed,failed_checks")
        #expect(rows[1] == "\(ann),01-weights,6,6,yes,")
        #expect(rows[2] == "\(bob),01-weights,2,6,no,web-02 serves two thirds of the requests; the ratio holds with 8 connections at once")
    }
}

/// The exercises suite's terminal: the built binary with its own state and exercise folders under `root`, in the
/// shared `TerminalSession`.
enum LearnerTerminal {
    static var binary: String { Repository.root + "/.build/debug/stacklab" }
    static var available: Bool { TerminalSession.tmuxAvailable && FileManager.default.isExecutableFile(atPath: binary) }
    static let server = "stacklab-exercises-test-\(getpid())"

    static func start(root: String, arguments: String) throws -> TerminalSession {
        try TerminalSession.start(server: server, environment: ["XDG_STATE_HOME": root + "/state", "STACKLAB_EXERCISES": root + "/work", "NO_COLOR": "1"],
                                  command: "'\(binary)' \(arguments)", width: 160, height: 60, limit: 150)
    }
}
