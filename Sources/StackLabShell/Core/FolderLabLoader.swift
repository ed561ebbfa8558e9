import Foundation
import StackLab

/// Loads labs from folders with the config parsers; a built-in lab is first copied fresh into the state folder,
/// because a running lab writes logs and data next to its configs. An exercise's folder (it holds exercise.json:
/// the learner's work, graded from its files) is read where it is and writes its logs and data under the state
/// folder, never beside the learner's files.
public struct FolderLabLoader: LabLoader {
    public init() {}

    public func load(_ source: LabSource) throws -> LabDefinition {
        guard let name = source.builtIn else {
            var definition = try LabDefinition.load(directory: source.directory)
            if Self.isExerciseFolder(source.directory) { definition.stateDirectory = StatePaths.labState(source.directory) }
            return definition
        }
        do {
            let fm = FileManager.default
            if fm.fileExists(atPath: source.directory) {
                do { try fm.removeItem(atPath: source.directory) } catch {
                    throw ShellError("cannot replace the old copy of the \(name) lab at \(source.directory): \(error.localizedDescription)")
                }
            }
            try LabDefinition.writeBuiltIn(named: name, to: source.directory)
        }
        return try LabDefinition.load(directory: source.directory)
    }

    static func isExerciseFolder(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("exercise.json"))
    }

    public func writeStarter(to directory: String) throws {
        try LabDefinition.writeBuiltIn(named: "foobar", to: directory)
    }
}

/// Where stacklab keeps what outlives a run: history, the running copy of built-in labs.
public enum StatePaths {
    /// `$XDG_STATE_HOME/stacklab`, or `~/.local/state/stacklab`.
    public static func root(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/stacklab" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/state/stacklab"
    }

    public static func history(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        root(environment: environment) + "/history"
    }

    /// The folder a built-in lab runs from (`…/run/foobar`), replaced at each start.
    public static func builtInRun(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        root(environment: environment) + "/run/" + name
    }

    /// Where an exercise folder's lab writes its logs and store data (`…/labs/02-failover-1c9a4e07/web-01/logs`):
    /// the folder's name and a digest of its path, so two folders of one name keep apart, and the same folder finds
    /// its data again at the next start.
    public static func labState(_ directory: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let path = URL(fileURLWithPath: directory).standardizedFileURL.path
        var digest: UInt32 = 2_166_136_261   // FNV-1a: stable from run to run, unlike Swift's seeded Hasher
        for byte in path.utf8 { digest = (digest ^ UInt32(byte)) &* 16_777_619 }
        let name = (path as NSString).lastPathComponent
        return root(environment: environment) + "/labs/" + (name.isEmpty || name == "/" ? "lab" : name) + "-" + String(format: "%08x", digest)
    }

    /// The start of the folder a lesson's `apply` runs its version of the lab from (`…/run/lesson-health-checks-…`).
    public static func lessonRun(_ lesson: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        root(environment: environment) + "/run/lesson-" + lesson
    }
}
