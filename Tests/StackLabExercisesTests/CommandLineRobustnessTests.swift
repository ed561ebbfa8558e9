import Foundation
import StackLab
import StackLabExercises
import Testing
import StackLabTestSupport

/// The real binary with a hostile lab folder: `serve` refuses it with the file and line, and one student's folder never
/// ends a class's run — a folder that crashed the grader (50,000 nested blocks) or that cannot be graded at all is that
/// student's row, and the others are graded.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: LearnerTerminal.binary), "needs .build/debug/stacklab"), .runsALab)
struct CommandLineRobustnessTests {
    @Test func serveRefusesFiftyThousandNestedBlocksWithTheLine() async throws {
        let folder = NSTemporaryDirectory() + "stacklab-serve-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
        let file = folder + "/web-01/nginx.conf"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try HostileFiles.nestedNginx(text, levels: 50_000).write(toFile: file, atomically: true, encoding: .utf8)
        // A lab that started would serve until stopped: give it a generous minute to refuse.
        let result = try await ChildProcess.run(LearnerTerminal.binary, ["serve", "--lab", folder, "--port-base", "\(LearnerTerminal.shellPortBase())"],
                                                timeout: 60)
        let said = result.stderr
        #expect(result.termination == .exited(1), "\(said)")
        #expect(said.contains("web-01/nginx.conf:\(HostileFiles.firstNestedLine(text) + 98): \"location\": blocks { } nested more than 100 deep"),
                "\(said)")
    }

    @Test func aHostileFolderIsItsOwnRowAndTheClassIsGraded() async throws {
        let ann = try exerciseFolder("01-weights", solution: true)
        let carol = try exerciseFolder("01-weights") { folder in
            let file = folder + "/web-01/nginx.conf"
            let text = try String(contentsOfFile: file, encoding: .utf8)
            try HostileFiles.nestedNginx(text, levels: 50_000).write(toFile: file, atomically: true, encoding: .utf8)
        }
        let dave = NSTemporaryDirectory() + "stacklab-class-empty-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dave, withIntermediateDirectories: true)
        let csv = NSTemporaryDirectory() + "stacklab-class-\(UUID().uuidString.prefix(8)).csv"
        defer { for path in [ann, carol, dave, csv] { try? FileManager.default.removeItem(atPath: path) } }
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_STATE_HOME"] = NSTemporaryDirectory() + "stacklab-class-state-\(UUID().uuidString.prefix(8))"
        let result = try await ChildProcess.run(LearnerTerminal.binary, ["grade", "--csv", csv, carol, dave, ann], environment: environment)
        #expect(result.termination == .exited(1), "\(result.stderr)")
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(rows.count == 4, "\(rows)")
        guard rows.count == 4 else { return }
        #expect(rows[1].hasPrefix("\(carol),01-weights,0,6,no,fail,skip,skip,skip,") && rows[1].contains("the lab loads and starts: "), "\(rows[1])")
        #expect(rows[2].hasPrefix("\(dave),,0,0,no,,,,,") && rows[2].contains("holds no exercise.json"), "\(rows[2])")
        #expect(rows[3] == "\(ann),01-weights,6,6,yes,pass,pass,pass,pass,")
    }
}
