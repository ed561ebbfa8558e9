import Foundation
import StackLab

/// Loads labs from folders with the config parsers; a built-in lab is first copied fresh into the state folder,
/// because a running lab writes logs and data next to its configs.
public struct FolderLabLoader: LabLoader {
    public init() {}

    public func load(_ source: LabSource) throws -> LabDefinition {
        if let name = source.builtIn {
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
}
