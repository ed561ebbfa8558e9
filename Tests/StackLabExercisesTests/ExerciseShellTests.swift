import Foundation
import StackLab
import StackLabExercises
import Testing
import StackLabTestSupport
@testable import StackLabShell

/// The learner's loop in the shell: list, start, hint, grade (fail), edit, grade (pass), progress.
@Suite(.serialized, .runsALab)
struct ExerciseShellTests {
    @MainActor
    @Test func aLearnerStartsAnExerciseGradesFailsFixesItAndSeesProgress() async throws {
        let root = NSTemporaryDirectory() + "stacklab-exercise-shell-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let space = ExerciseWorkspace(root: root + "/work", progressFile: root + "/state/exercises.json")
        // The shell needs a running lab; the learner's lab from the exercise folder is a fine one (the grader
        // starts its own, on its own ports).
        let labFolder = try exerciseFolder("01-weights")
        defer {
            try? FileManager.default.removeItem(atPath: labFolder)
            // An exercise folder's lab writes its logs under the state folder.
            for folder in [labFolder, root + "/work/01-weights"] { try? FileManager.default.removeItem(atPath: StatePaths.labState(folder)) }
        }
        let session = try await onFreeOffset {
            try await LabSession.start(LabSource(directory: labFolder), options: LabOptions(portOffset: $0), loader: FolderLabLoader())
        }
        let output = CapturedOutput()
        let shell = Shell(session: session, output: output, style: .plain)
        func run(_ line: String) async -> (ok: Bool, text: String) {
            await ExerciseShellContext.$workspace.withValue(space) {
                output.clear()
                let ok = await shell.execute(line)
                return (ok, output.text)
            }
        }

        let noneYet = await run("grade")
        #expect(!noneYet.ok && noneYet.text.contains("no exercise started yet"))
        let which = await run("exercise")
        let words = which.text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(!which.ok && words == "error: no exercise started yet — 'exercises' lists them, 'exercise 1' starts the first", "\(which.text)")
        let list = await run("exercises")
        #expect(list.ok && list.text.contains(" 1. Weighted round robin") && list.text.contains("not started"), "\(list.text)")
        let start = await run("exercise 1")
        #expect(start.ok && start.text.contains("Starter files written to \(root)/work/01-weights"), "\(start.text)")
        let again = await run("exercise")
        #expect(again.ok && again.text.contains("Exercise 1: Weighted round robin") && again.text.contains("kept as you left them"), "\(again.text)")
        // The learner runs their own lab: its logs go under the state folder, not among their files.
        let load = await run("lab load \(root)/work/01-weights")
        #expect(load.ok && load.text.contains("its logs and store data are kept apart from your files"), "\(load.text)")
        _ = await run("curl /")
        #expect(FileManager.default.fileExists(atPath: StatePaths.labState(root + "/work/01-weights") + "/web-01/logs/access.log"))
        let written = try FileManager.default.subpathsOfDirectory(atPath: root + "/work/01-weights")
        #expect(!written.contains { $0.split(separator: "/").contains("logs") || $0.split(separator: "/").contains("data") }, "\(written)")
        let hint = await run("hint")
        #expect(hint.ok && hint.text.contains("Hint 1 of 3"), "\(hint.text)")
        let failing = await run("grade")
        #expect(!failing.ok)
        #expect(failing.text.contains("FAIL web-02 serves two thirds of the requests"), "\(failing.text)")
        #expect(failing.text.contains("exercise 1 is not done yet"), "\(failing.text)")

        // The learner edits their copy.
        let cfg = root + "/work/01-weights/lb-01/haproxy.cfg"
        let text = try String(contentsOfFile: cfg, encoding: .utf8)
        try text.replacingOccurrences(of: "server web-02 127.0.1.12:8080 check inter 2s fall 3 rise 2",
                                      with: "server web-02 127.0.1.12:8080 check inter 2s fall 3 rise 2 weight 2")
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let passing = await run("grade")
        #expect(passing.ok, "\(passing.text)")
        #expect(passing.text.contains("all checks pass") && passing.text.contains("done"), "\(passing.text)")
        let progress = await run("exercises")
        #expect(progress.text.contains("done 6/6") && progress.text.contains("1 of 8 done"), "\(progress.text)")
        let once = await run("exercise 1")
        #expect(once.text.contains("kept as you left them"))
        await session.shutdown()
    }
}
