import Foundation
import NIOConcurrencyHelpers
import StackLabExercises
import Testing
import StackLabTestSupport

/// A learner at a real terminal (tmux) with the real `stacklab` binary: start an exercise, grade (fail), edit a
/// file, grade (pass), see the progress; and `stacklab grade DIR --watch` grading again on save. Needs tmux and the
/// built binary (`swift build --build-tests` builds it); skipped when either is missing.
@Suite(.serialized, .enabled(if: LearnerTerminal.available, "needs tmux and .build/debug/stacklab"), .runsALab)
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
        let terminal = try LearnerTerminal.start(root: root, arguments: "--port-base \(LearnerTerminal.shellPortBase())")
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
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: LearnerTerminal.binary), "needs .build/debug/stacklab"), .runsALab)
struct ClassGradingTests {
    /// The instructor's own state: a progress file with one exercise started, and the folder of their own copy.
    static func instructor() throws -> (root: String, environment: [String: String], progress: Data) {
        let root = NSTemporaryDirectory() + "stacklab-instructor-\(UUID().uuidString.prefix(8))"
        let space = ExerciseWorkspace(root: root + "/work", progressFile: root + "/state/stacklab/exercises.json")
        try space.begin(exercise("01-weights"))
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_STATE_HOME"] = root + "/state"
        environment["STACKLAB_EXERCISES"] = root + "/work"
        return (root, environment, try Data(contentsOf: URL(fileURLWithPath: space.progressFile)))
    }

    @Test func threeStudentsPassingBrokenAndMissingAreThreeRowsWithReasonsAndTheInstructorsProgressIsUntouched() async throws {
        let (root, environment, progress) = try Self.instructor()
        let ann = try exerciseFolder("01-weights", solution: true)
        let carl = try exerciseFolder("01-weights") { folder in
            let file = folder + "/lb-01/haproxy.cfg"
            let text = try String(contentsOfFile: file, encoding: .utf8)
            try text.replacingOccurrences(of: "check inter 2s", with: "check inter \"2x\"").write(toFile: file, atomically: true, encoding: .utf8)
        }
        let dave = NSTemporaryDirectory() + "stacklab-class-missing-\(UUID().uuidString.prefix(8))"
        let csv = root + "/class.csv"
        let runs = root + "/runs"
        defer { for path in [root, ann, carl] { try? FileManager.default.removeItem(atPath: path) } }

        let result = try await ChildProcess.run(LearnerTerminal.binary, ["grade", "--csv", csv, "--runs", runs, ann, carl, dave],
                                                environment: environment)
        #expect(result.termination == .exited(1), "\(result.stdout)\(result.stderr)")
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(rows.count == 4, "\(rows)")
        guard rows.count == 4 else { return }
        #expect(rows[0] == "folder,exercise,score,max,passed,the lab loads and starts,both web servers take traffic,"
            + "web-02 serves two thirds of the requests,the ratio holds with 8 connections at once,first_failure,run", "\(rows[0])")
        let annRun = runs + "/" + (ann as NSString).lastPathComponent
        #expect(rows[1] == "\(ann),01-weights,6,6,yes,pass,pass,pass,pass,,\(annRun)", "\(rows[1])")
        #expect(rows[2].hasPrefix("\(carl),01-weights,0,6,no,fail,skip,skip,skip,"), "\(rows[2])")
        #expect(rows[2].contains("the lab loads and starts: lb-01/haproxy.cfg:"), "\(rows[2])")
        #expect(rows[2].contains("inter \"\"2x\"\""), "the reason names what was wrong: \(rows[2])")
        #expect(rows[3].hasPrefix("\(dave),,0,0,no,,,,,there is no folder \(dave)"), "\(rows[3])")
        // The summary comes before the CSV is written; each student's run is kept with its logs.
        #expect(result.stdout.contains("3 folders: 1 passed every check, 1 did not, 1 was not graded"), "\(result.stdout)")
        #expect(result.stdout.contains("     1    1    0  the lab loads and starts"), "\(result.stdout)")
        #expect(try String(contentsOfFile: annRun + "/grade.txt", encoding: .utf8).contains("Score: 6/6"))
        #expect(FileManager.default.fileExists(atPath: annRun + "/logs/web-01-nginx-access.log"))

        // Grading one student's folder on its own is not the instructor's progress either.
        let single = try await ChildProcess.run(LearnerTerminal.binary, ["grade", ann], environment: environment)
        #expect(single.stdout.contains("Score: "), "\(single.stdout)\(single.stderr)")
        let after = try Data(contentsOf: URL(fileURLWithPath: root + "/state/stacklab/exercises.json"))
        #expect(after == progress, "\(String(decoding: after, as: UTF8.self))")
    }

    @Test func twoGradersWithTheirOwnPortBasesGradeAtOnceAndBothFinish() async throws {
        let (root, environment, _) = try Self.instructor()
        let folder = try exerciseFolder("01-weights", solution: true)
        defer { for path in [root, folder] { try? FileManager.default.removeItem(atPath: path) } }
        let first = GradingPorts.offset(), second = GradingPorts.offset()
        async let one = ChildProcess.run(LearnerTerminal.binary, ["grade", "--port-base", "\(first)", folder], environment: environment)
        async let two = ChildProcess.run(LearnerTerminal.binary, ["grade", "--port-base", "\(second)", folder], environment: environment)
        let (a, b) = try await (one, two)
        // Both labs started on their own ports and both graders went to the end (on a loaded machine the ratio under
        // load may miss, which is not this test's concern).
        for run in [a, b] {
            #expect(run.termination == .exited(0) || run.termination == .exited(1), "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("PASS the lab loads and starts") && run.stdout.contains("Score: "), "\(run.stdout)\(run.stderr)")
        }
    }

    @Test func gradeWithoutAFolderOutsideAnExerciseSaysWhatToType() async throws {
        let (root, environment, _) = try Self.instructor()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try await ChildProcess.run(LearnerTerminal.binary, ["grade"], environment: environment, directory: root)
        #expect(result.termination == .exited(64), "\(result.stderr)")
        #expect(result.stderr.contains("say which exercise: a number (stacklab grade 2) or a folder (stacklab grade DIR); "
            + "'stacklab -c exercises' lists them"), "\(result.stderr)")
        #expect(!result.stderr.contains("OPTIONS:"), "no whole help: \(result.stderr)")
        let lesson = try await ChildProcess.run(LearnerTerminal.binary, ["lesson"], environment: environment)
        #expect(lesson.termination == .exited(64) && lesson.stderr.contains("say which lesson, e.g. stacklab lesson 1 (lessons: 1 tour,"),
                "\(lesson.stderr)")
        #expect(!lesson.stderr.contains("Help:"), "no parser help: \(lesson.stderr)")
        let verb = try await ChildProcess.run(LearnerTerminal.binary, ["exercise", "1"], environment: environment)
        #expect(verb.termination == .exited(64))
        #expect(verb.stderr == "stacklab: 'exercise' is a command of the shell.\n  stacklab -c \"exercise 1\"   runs it and leaves\n"
                + "  stacklab   opens the shell\n", "\(verb.stderr)")
    }
}

/// The exercises suite's terminal: the built binary with its own state and exercise folders under `root`, in the
/// shared `TerminalSession`.
enum LearnerTerminal {
    static var binary: String { Repository.root + "/.build/debug/stacklab" }
    static var available: Bool { TerminalSession.tmuxAvailable && FileManager.default.isExecutableFile(atPath: binary) }
    static let server = "stacklab-exercises-test-\(getpid())"

    /// Port bases for the labs of the learner's own shells: 15068–15968, below the graders' range (16068–23568), so
    /// a grade running in this process never holds a port such a shell was told to use. (A grader moves on when a
    /// port is taken; a shell given --port-base, as a learner's, says so and stops.)
    static let shellOffsets = (first: 15_068, last: 15_968)
    private static let nextShellOffset = NIOLockedValueBox(shellOffsets.first + (Int(getpid()) % 10) * 100)
    static func shellPortBase() -> Int {
        nextShellOffset.withLockedValue { value in
            let chosen = value
            value = value >= shellOffsets.last ? shellOffsets.first : value + 100
            return chosen
        }
    }

    static func start(root: String, arguments: String) throws -> TerminalSession {
        try TerminalSession.start(server: server, environment: ["XDG_STATE_HOME": root + "/state", "STACKLAB_EXERCISES": root + "/work", "NO_COLOR": "1"],
                                  command: "'\(binary)' \(arguments)", width: 160, height: 60, limit: 150)
    }
}
