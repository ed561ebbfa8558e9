import Foundation
import NIOConcurrencyHelpers
@testable import StackLab
import StackLabTestSupport

/// Port offsets for the security suites: 15050, 15150 … 23950 — a +50 shift, so they never equal the other suites'
/// offsets (multiples of 100), and every lab port (8443 + offset at most) stays below Linux's ephemeral range.
enum SecurityPorts {
    private static let next = NIOLockedValueBox(15_050 + (Int(getpid()) % 30) * 100)
    static func offset() -> Int {
        next.withLockedValue { value in
            value += 100
            if value > 22_950 { value = 15_050 }
            return value
        }
    }
}

/// A built-in lab copied to a temporary folder and started; `cleanup` stops it and removes the folder.
struct RunningLab {
    let lab: Lab
    let folder: String

    static func start(_ name: String) async throws -> RunningLab {
        let folder = makeLabFolder(name) + "/lab"
        try LabDefinition.writeBuiltIn(named: name, to: folder)
        let lab = try await Lab.start(try LabDefinition.load(directory: folder), options: LabOptions(portOffset: SecurityPorts.offset()))
        try await waitUntil("lb-01 sees both servers UP") { lab.balancers[0].serverStatuses.allSatisfy { $0.status == "UP" } }
        return RunningLab(lab: lab, folder: folder)
    }

    func cleanup() async {
        await lab.shutdown()
        try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent)
    }

    func port(_ configured: Int) -> Int { lab.network.port(configured) }
    var caFile: String { folder + "/ca.pem" }
}

/// Collects a tap's messages in the background, so a test can send traffic and then wait for what it expects.
final class TapRecorder: Sendable {
    private let box = NIOLockedValueBox<[TapMessage]>([])
    private let task: Task<Void, Never>

    init(_ tap: Tap) {
        let box = self.box
        task = Task { for await message in tap.messages { box.withLockedValue { $0.append(message) } } }
    }

    var messages: [TapMessage] { box.withLockedValue { $0 } }

    func wait(for what: String, timeout: Double = 20, _ condition: @escaping ([TapMessage]) -> Bool) async throws {
        try await waitUntil(timeout: timeout, what) { condition(self.messages) }
    }

    deinit { task.cancel() }
}

/// A real command-line tool (curl, openssl), run to its end with a deadline.
enum Tool {
    static let curl = RealTool.find("curl")
    static let openssl = RealTool.find("openssl")

    struct Result {
        var status: Int32
        var output: String
        var seconds: Double
    }

    static func run(_ executable: String, _ arguments: [String], input: String? = nil) async throws -> Result {
        let started = Date()
        let result = try await ChildProcess.run(executable, arguments, input: input ?? "", mergingStderr: true)
        return Result(status: result.status, output: result.stdout, seconds: Date().timeIntervalSince(started))
    }
}
