import Foundation
import NIOCore
import StackLab

/// Grades an exercise by behaviour: boots a lab from the learner's files (a copy, so the learner's folder is not
/// filled with data and logs), runs the exercise's checks in order — traffic, faults, assertions on what clients
/// saw — and stops the lab. Never reads the learner's files for keywords.
///
/// ```swift
/// let report = await Grader().grade(ExerciseCatalog.builtIn.exercise(matching: "1")!, directory: "~/stacklab-exercises/01-weights")
/// print(report.render())
/// ```
public struct Grader: Sendable {
    /// Where a graded run is kept.
    public enum RunKeeping: Sendable, Equatable {
        /// In a temporary folder, removed when grading ends.
        case none
        /// In `DIRECTORY/NN-name/TIMESTAMP`, the last few per exercise, behind a `latest` link (a learner's history).
        case history(String)
        /// In exactly this folder (a class's `--runs DIR/ann`); a run kept there before is replaced.
        case folder(String)
    }

    /// The first port offset to try; nil takes the next of `GradingPorts`. Either way a port another program holds
    /// moves the lab 100 up, a few times.
    public var portBase: Int?
    public var keeping: RunKeeping
    /// Runs kept per exercise.
    public static let keptRuns = 5
    /// The file a kept run's report is written to (it also marks a folder as a kept run).
    public static let reportFile = "grade.txt"

    public init(portBase: Int? = nil, keeping: RunKeeping = .none) {
        self.portBase = portBase
        self.keeping = keeping
    }

    /// Keeps each run in `runsDirectory` (`.history`); nil keeps none.
    public init(portBase: Int? = nil, runsDirectory: String?) {
        self.init(portBase: portBase, keeping: runsDirectory.map { .history($0) } ?? .none)
    }

    public static let loadCheckName = "the lab loads and starts"

    public func grade(_ exercise: Exercise, directory: String, progress: (@Sendable (CheckResult) -> Void)? = nil) async -> GradeReport {
        let started = Date()
        let scenario = ScenarioTable.scenario(for: exercise.id)
        var report = GradeReport(exercise: exercise, checks: [], seconds: 0)
        func finish() -> GradeReport {
            report.seconds = Date().timeIntervalSince(started)
            return report
        }
        if let missing = scenario.unavailable {
            report.unavailable = missing
            return finish()
        }
        func record(_ result: CheckResult) {
            report.checks.append(result)
            progress?(result)
        }
        func skipRest(_ why: String) {
            for check in scenario.checks { record(CheckResult(name: check.name, points: check.points, status: .skipped, message: why, seconds: 0)) }
        }

        // A copy of the learner's folder: the lab writes data/ and logs/ into its folder.
        let run: String
        do {
            run = try Self.copyForGrading(directory, exercise: exercise, keeping: keeping)
        } catch {
            record(CheckResult(name: Self.loadCheckName, points: 1, status: .failed, message: "\(error)", seconds: 0))
            skipRest("not run: the lab did not load")
            return finish()
        }
        let keeps = keeping != .none
        if keeps { report.runFolder = run }
        defer {
            if keeps {
                try? report.render().write(toFile: (run as NSString).appendingPathComponent(Self.reportFile), atomically: true, encoding: .utf8)
            } else {
                try? FileManager.default.removeItem(atPath: run)
            }
        }

        let loadStarted = Date()
        let definition: LabDefinition
        do {
            definition = try scenario.prepare(try LabDefinition.load(directory: run))
        } catch {
            record(CheckResult(name: Self.loadCheckName, points: 1, status: .failed, message: "\(error)", seconds: Date().timeIntervalSince(loadStarted)))
            skipRest("not run: the lab does not load")
            return finish()
        }
        let lab: Lab
        do {
            lab = try await startLab(definition)
        } catch {
            record(CheckResult(name: Self.loadCheckName, points: 1, status: .failed, message: "the lab does not start: \(error)",
                               seconds: Date().timeIntervalSince(loadStarted)))
            skipRest("not run: the lab did not start")
            return finish()
        }
        let context = GradingContext(lab: lab)
        let ready = await scenario.ready(context)
        record(CheckResult(name: Self.loadCheckName, points: 1, status: ready == nil ? .passed : .failed,
                           message: ready ?? "", seconds: Date().timeIntervalSince(loadStarted)))
        if ready != nil {
            skipRest("not run: the lab is not ready")
        } else {
            for check in scenario.checks {
                let checkStarted = Date()
                let outcome = await check.run(context)
                let status: CheckResult.Status = switch outcome {
                case .pass: .passed
                case .fail: .failed
                case .skip: .skipped
                }
                record(CheckResult(name: check.name, points: check.points, status: status, message: outcome.message,
                                   seconds: Date().timeIntervalSince(checkStarted)))
            }
        }
        await context.stop()
        await lab.shutdown()
        if keeps { Self.gatherLogs(of: lab, in: run) }
        return finish()
    }

    /// Starts the lab on the chosen offset; a port another program holds (a learner's second shell, a grade running
    /// beside this one) moves the lab to the next offset, a few times.
    private func startLab(_ definition: LabDefinition) async throws -> Lab {
        var attempt = 0
        while true {
            let offset = portBase.map { $0 + attempt * 100 } ?? GradingPorts.offset()
            attempt += 1
            do {
                return try await Lab.start(definition, options: LabOptions(portOffset: offset, threads: 2))
            } catch where attempt < 5 && "\(error)".contains("already in use") {
                continue
            }
        }
    }

    /// Copies the lab files of `directory` to the run's folder, leaving out what a lab writes (data/, logs/).
    static func copyForGrading(_ directory: String, exercise: Exercise, keeping: RunKeeping = .none) throws -> String {
        let fm = FileManager.default
        let source = URL(fileURLWithPath: (directory as NSString).expandingTildeInPath).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
            throw GradeError("there is no folder \(source.path) — 'exercise \(exercise.number)' writes the starter files there")
        }
        guard isDirectory.boolValue else { throw GradeError("\(source.path) is a file, not an exercise's folder") }
        guard fm.isReadableFile(atPath: source.path), fm.isExecutableFile(atPath: source.path) else {
            throw GradeError("cannot read the folder \(source.path) (permission denied)")
        }
        let run: String
        var runs: String?
        switch keeping {
        case .history(let directory):
            runs = directory
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            let parent = (directory as NSString).appendingPathComponent(exercise.id)
            var name = formatter.string(from: Date())
            if fm.fileExists(atPath: (parent as NSString).appendingPathComponent(name)) { name += "-\(UUID().uuidString.prefix(4))" }
            run = (parent as NSString).appendingPathComponent(name)
            try fm.createDirectory(atPath: run, withIntermediateDirectories: true)
            let latest = (parent as NSString).appendingPathComponent("latest")
            try? fm.removeItem(atPath: latest)
            try? fm.createSymbolicLink(atPath: latest, withDestinationPath: name)
            // Keep the last few runs.
            let old = ((try? fm.contentsOfDirectory(atPath: parent)) ?? []).filter { $0 != "latest" }.sorted().dropLast(keptRuns)
            for item in old { try? fm.removeItem(atPath: (parent as NSString).appendingPathComponent(item)) }
        case .folder(let folder):
            run = URL(fileURLWithPath: (folder as NSString).expandingTildeInPath).standardizedFileURL.path
            guard run != source.path, !source.path.hasPrefix(run + "/") else {
                throw GradeError("the run would be kept in \(run), the graded folder itself: choose another folder for the runs")
            }
            if fm.fileExists(atPath: run) {
                // Only a run kept before is replaced: never a folder of someone's files.
                guard isKeptRun(run) else { throw GradeError("\(run) exists and is not a kept run: choose another folder for the runs") }
                try fm.removeItem(atPath: run)
            }
            try fm.createDirectory(atPath: run, withIntermediateDirectories: true)
        case .none:
            run = NSTemporaryDirectory() + "stacklab-grade-\(exercise.id)-\(UUID().uuidString.prefix(8))"
            try fm.createDirectory(atPath: run, withIntermediateDirectories: true)
        }
        // Never the run folders themselves (a state folder inside the graded one would copy itself forever).
        let keep = [run, runs].compactMap { $0.map { URL(fileURLWithPath: $0).standardizedFileURL.path } }
        do {
            try copyTree(source.path, to: run, skipping: ["data", "logs", ".git"], excluding: Set(keep))
        } catch {
            throw GradeError("cannot copy \(source.path) to grade it: \((error as NSError).localizedDescription)")
        }
        return run
    }

    /// A folder the grader kept a run in (it holds the report), or an empty one.
    public static func isKeptRun(_ folder: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: (folder as NSString).appendingPathComponent(reportFile))
            || (try? fm.contentsOfDirectory(atPath: folder).isEmpty) == true
    }

    /// Every process's logs in the run's `logs/` folder, one file per log named for its process
    /// (`lb-01-haproxy.log`, `web-01-nginx-access.log`): a log the lab wrote to a file in the run is moved there
    /// whole, a log kept in memory is written out.
    static func gatherLogs(of lab: Lab, in run: String) {
        let fm = FileManager.default
        let folder = (run as NSString).appendingPathComponent("logs")
        try? fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: run).standardizedFileURL.path + "/"
        var moved: Set<String> = []
        for process in lab.processes {
            for (stream, book) in process.logBooks {
                let name = "\(process.serverName)-\(process.kind.rawValue)" + (stream.map { "-\($0)" } ?? "") + ".log"
                let destination = (folder as NSString).appendingPathComponent(name)
                if let file = book.file.map({ URL(fileURLWithPath: $0).standardizedFileURL.path }), fm.fileExists(atPath: file) {
                    // Two logs sharing one file (gunicorn's accesslog and errorlog alike) are that file once.
                    if moved.contains(file) { continue }
                    moved.insert(file)
                    if file.hasPrefix(root) {
                        try? fm.moveItem(atPath: file, toPath: destination)
                    } else {
                        try? fm.copyItem(atPath: file, toPath: destination)
                    }
                    continue
                }
                let text = book.tail().joined(separator: "\n")
                try? (text.isEmpty ? "" : text + "\n").write(toFile: destination, atomically: true, encoding: .utf8)
            }
        }
        // The servers' own logs/ folders, left empty by the move.
        for server in lab.topology.servers {
            let logs = (run as NSString).appendingPathComponent(server.name + "/logs")
            if (try? fm.contentsOfDirectory(atPath: logs).isEmpty) == true { try? fm.removeItem(atPath: logs) }
        }
    }

    /// Regular files and folders only: a lab needs no links, and a link could lead the copy in circles.
    private static func copyTree(_ from: String, to: String, skipping: Set<String>, excluding: Set<String>) throws {
        let fm = FileManager.default
        for item in try fm.contentsOfDirectory(atPath: from) where !skipping.contains(item) {
            let source = (from as NSString).appendingPathComponent(item)
            let destination = (to as NSString).appendingPathComponent(item)
            if excluding.contains(URL(fileURLWithPath: source).standardizedFileURL.path) { continue }
            guard let type = try? fm.attributesOfItem(atPath: source)[.type] as? FileAttributeType, type != .typeSymbolicLink else { continue }
            if type == .typeDirectory {
                try fm.createDirectory(atPath: destination, withIntermediateDirectories: true)
                try copyTree(source, to: destination, skipping: skipping, excluding: excluding)
            } else {
                try fm.copyItem(atPath: source, toPath: destination)
            }
        }
    }
}

public struct GradeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
