import Foundation
import StackLab

/// Where a lab comes from, so `reset` can build it again and `lab load` can swap it.
public struct LabSource: Sendable, Equatable, CustomStringConvertible {
    /// The folder the lab runs from (a learner's folder, or the fresh copy of a built-in lab).
    public var directory: String
    /// A built-in lab's name when the folder is a fresh copy of it, rewritten at each start.
    public var builtIn: String?

    public init(directory: String, builtIn: String? = nil) {
        self.directory = directory
        self.builtIn = builtIn
    }

    public var description: String { builtIn.map { "the built-in \($0) lab" } ?? directory }
}

/// Turns a lab source into a definition: the real loader reads config files; tests build definitions in code.
public protocol LabLoader: Sendable {
    /// Prepares the source's folder (for a built-in lab: writes a fresh copy) and reads it.
    func load(_ source: LabSource) throws -> LabDefinition
    /// Writes a built-in lab into a new folder (`lab init DIR`).
    func writeStarter(to directory: String) throws
}

/// The running lab the shell drives, and how to start it again.
@MainActor
public final class LabSession {
    public private(set) var lab: Lab
    public private(set) var source: LabSource
    public let options: LabOptions
    public let loader: any LabLoader
    /// The monitor of `monitor on` (none by default, as in the design); stopped when the lab is replaced or stopped.
    public var monitoring: MonitorSession?
    /// How long the last start took, in milliseconds.
    public private(set) var startMilliseconds: Int
    /// Counts the labs started in this session (a `reset` or `lab load` makes the next): what belonged to the old
    /// lab (the shell's SQL sessions) is dropped quietly.
    public private(set) var generation = 0

    public init(lab: Lab, source: LabSource, options: LabOptions, loader: any LabLoader, startMilliseconds: Int = 0) {
        self.lab = lab
        self.source = source
        self.options = options
        self.loader = loader
        self.startMilliseconds = startMilliseconds
    }

    /// Loads and starts a lab.
    public static func start(_ source: LabSource, options: LabOptions, loader: any LabLoader) async throws -> LabSession {
        let started = ContinuousClock.now
        let definition = try loader.load(source)
        let lab = try await Lab.start(definition, options: options)
        await lab.waitForFirstChecks()
        return LabSession(lab: lab, source: source, options: options, loader: loader, startMilliseconds: started.milliseconds)
    }

    /// Stops the lab and starts it again from its files: every process fresh, every fault and partition gone, and
    /// the databases as init.sql makes them (each store's data folder inside the lab's folders is removed first;
    /// logs are kept, as a server keeps its log files).
    public func reset() async throws {
        try await replace(with: source, freshData: true)
    }

    /// Stops this lab and starts another. If the new one cannot start, the old one is started again.
    public func replace(with newSource: LabSource, freshData: Bool = false) async throws {
        // Read the new lab first: a mistake in its files leaves the running lab untouched.
        let definition = try loader.load(newSource)
        try Lab.checkPortPlan(definition, options: options)
        let started = ContinuousClock.now
        await stopMonitor()
        // The old lab's threads outlive its processes until another lab runs: whatever happens below, the shell
        // always holds a lab whose event loops answer.
        let old = lab
        await old.shutdown(keepThreads: true)
        if freshData { try Self.removeStoreData(of: definition) }
        generation += 1
        do {
            lab = try await Lab.start(definition, options: options)
            await old.releaseThreads()
            await lab.waitForFirstChecks()
            source = newSource
        } catch {
            do {
                lab = try await Lab.start(try loader.load(source), options: options)
                await old.releaseThreads()
            } catch let again {
                // Nothing could start (another program took a port meanwhile): the old lab stays, every process
                // stopped, so each verb still answers.
                throw ShellError("\(error)\n(the lab that was running could not start again either: \(again) — every process "
                    + "is stopped; 'reset' tries again)")
            }
            throw error
        }
        startMilliseconds = started.milliseconds
    }

    public func shutdown() async {
        await stopMonitor()
        await lab.shutdown()
    }

    /// Removes each store's data folder, when it lies inside the lab's own folders (a `datadir` elsewhere is left).
    static func removeStoreData(of definition: LabDefinition) throws {
        let home = URL(fileURLWithPath: definition.stateDirectory ?? definition.directory).standardizedFileURL.path + "/"
        for server in definition.topology.servers {
            guard let data = definition.storeDataDirectory(server: server.name) else { continue }
            let path = URL(fileURLWithPath: data).standardizedFileURL.path
            guard path.hasPrefix(home), FileManager.default.fileExists(atPath: path) else { continue }
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw ShellError("cannot clear \(server.name)'s data folder \(path): \(error.localizedDescription)")
            }
        }
    }
}

extension ContinuousClock.Instant {
    var milliseconds: Int {
        let elapsed = ContinuousClock.now - self
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}
