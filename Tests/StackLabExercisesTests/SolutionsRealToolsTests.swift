import Foundation
import Testing
@testable import StackLab
import StackLabExercises
import StackLabTestSupport

/// The reference solutions' files must pass the real tools too (DESIGN principle 3): what a learner writes here
/// transfers. haproxy -c (with the minted crt files, from the balancer's folder as the runtime reads them), nginx -t,
/// keepalived -t — each where installed.
@Suite(.runsALab) struct SolutionsRealToolsTests {
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin"]
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let haproxy = find("haproxy")
    static let nginx = find("nginx")
    static let keepalived = find("keepalived")

    static func run(_ executable: String, _ arguments: [String], in folder: String) async throws -> (status: Int32, output: String) {
        let result = try await ChildProcess.run(executable, arguments, directory: folder, mergingStderr: true)
        return (result.status, result.stdout)
    }

    /// Each solution, laid over its starter, with its TLS files minted.
    static func solutions() throws -> [(id: String, folder: String)] {
        try ExerciseCatalog(directory: Repository.exercises).exercises.map { exercise in
            let folder = try exerciseFolder(exercise.id, solution: true)
            try TLSMaterial.mintMissing(for: try LabDefinition.load(directory: folder))
            return (exercise.id, folder)
        }
    }

    static func servers(in folder: String, with file: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            .filter { FileManager.default.fileExists(atPath: "\(folder)/\($0)/\(file)") }
    }

    @Test(.enabled(if: haproxy != nil, "haproxy is not installed"))
    func everySolutionsHAProxyConfigPassesHAProxyCheck() async throws {
        for (id, folder) in try Self.solutions() {
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for server in Self.servers(in: folder, with: "haproxy.cfg") {
                let result = try await Self.run(Self.haproxy!, ["-c", "-f", "haproxy.cfg"], in: "\(folder)/\(server)")
                #expect(result.status == 0, "\(id) \(server): haproxy -c said:\n\(result.output)")
                #expect(!result.output.contains("[WARNING]"), "\(id) \(server): haproxy -c warned:\n\(result.output)")
            }
        }
    }

    @Test(.enabled(if: nginx != nil, "nginx is not installed"))
    func everySolutionsNginxConfigPassesNginxTest() async throws {
        for (id, folder) in try Self.solutions() {
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for server in Self.servers(in: folder, with: "nginx.conf") {
                let serverFolder = "\(folder)/\(server)"
                try FileManager.default.createDirectory(atPath: serverFolder + "/logs", withIntermediateDirectories: true)
                let result = try await Self.run(Self.nginx!, ["-t", "-p", serverFolder + "/", "-c", "nginx.conf", "-e", "logs/error.log"], in: serverFolder)
                #expect(result.status == 0, "\(id) \(server): nginx -t said:\n\(result.output)")
            }
        }
    }

    @Test(.enabled(if: keepalived != nil, "keepalived is not installed"))
    func everySolutionsKeepalivedConfigPassesKeepalivedTest() async throws {
        for (id, folder) in try Self.solutions() {
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for server in Self.servers(in: folder, with: "keepalived.conf") {
                let result = try await Self.run(Self.keepalived!, ["-t", "-f", "\(folder)/\(server)/keepalived.conf"], in: "\(folder)/\(server)")
                #expect(result.status == 0, "\(id) \(server): keepalived -t said:\n\(result.output)")
            }
        }
    }
}
