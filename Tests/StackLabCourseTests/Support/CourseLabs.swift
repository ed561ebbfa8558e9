import Foundation
import StackLab
import StackLabTestSupport
import StackLabCourse
@testable import StackLabShell

/// Port offsets for the course suite: 12050, 12150, … 14550 (multiples of 100 plus 50), apart from every other suite;
/// 14650 to 14950 are for the terminal tests (the real binary with --port-base).
enum CourseTestPorts {
    private static let next = LockedBox(12_050 + Int(getpid() % 10) * 100)
    static func offset() -> Int {
        next.withValue { value in
            defer { value = value >= 14_550 ? 12_050 : value + 100 }
            return value
        }
    }
}

/// The repository's folder (for lessons/).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    return FileManager.default.currentDirectoryPath
}()

func temporaryFolder(_ name: String = "stacklab-course-test") -> String {
    let path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The built-in foobar lab from its real files, with fast health checks (`fastHealthChecks`).
func writeFastFoobar(to folder: String) throws {
    try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
    let haproxy = folder + "/lb-01/haproxy.cfg"
    guard let fast = fastHealthChecks(try String(contentsOfFile: haproxy, encoding: .utf8)) else {
        throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: haproxy])
    }
    try fast.write(toFile: haproxy, atomically: true, encoding: .utf8)
}

/// Starts the foobar lab and a shell on it whose output is recorded for lessons (and captured for the test), with the
/// repository's lessons and a progress file of its own; always stops the lab.
@MainActor
func withCourseShell(interactive: Bool = false, lessonsFolder: String? = nil,
                     _ body: (Shell, CourseSession, CapturedOutput) async throws -> Void) async throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try writeFastFoobar(to: folder + "/lab")
    let session = try await LabSession.start(LabSource(directory: folder + "/lab"), options: LabOptions(portOffset: CourseTestPorts.offset()),
                                             loader: FolderLabLoader())
    let captured = CapturedOutput()
    let shell = Shell(session: session, output: CourseOutput(captured), style: .plain, interactive: interactive)
    let course = CourseSessions.of(shell)
    course.library = LessonLibrary.load(folder: lessonsFolder ?? repositoryRoot + "/lessons")
    course.useProgress(ProgressStore(path: folder + "/state/progress.json"))
    do {
        try await body(shell, course, captured)
    } catch {
        await session.shutdown()
        CourseSessions.cleanUp(after: shell)
        throw error
    }
    await session.shutdown()
    CourseSessions.cleanUp(after: shell)
}


/// A check context with recorded facts, made-up output and commands, for checks that do not look at the lab.
@MainActor
final class FakeContext: CheckContext {
    let lab: Lab?
    let monitor: Monitor? = nil
    var facts: FactLog
    var outputSinceStepBegan: String
    var commands: [String: (Bool, String)]
    init(lab: Lab? = nil, facts: FactLog = FactLog(), output: String = "", commands: [String: (Bool, String)] = [:]) {
        self.lab = lab
        self.facts = facts
        self.outputSinceStepBegan = output
        self.commands = commands
    }
    func runQuietly(_ command: String) async -> (ok: Bool, text: String) { commands[command] ?? (false, "unknown command '\(command)'") }
}
