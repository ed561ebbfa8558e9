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
    /// The lab's port offset; nil takes the next of `GradingPorts`.
    public var portOffset: Int?
    /// Where to keep each run's folder (the lab as graded, its logs, the report), with a `latest` link per exercise;
    /// nil grades in a temporary folder and removes it.
    public var runsDirectory: String?
    /// Runs kept per exercise.
    public static let keptRuns = 5

    public init(portOffset: Int? = nil, runsDirectory: String? = nil) {
        self.portOffset = portOffset
        self.runsDirectory = runsDirectory
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
            run = try Self.copyForGrading(directory, exercise: exercise, runs: runsDirectory)
        } catch {
            record(CheckResult(name: Self.loadCheckName, points: 1, status: .failed, message: "\(error)", seconds: 0))
            skipRest("not run: the lab did not load")
            return finish()
        }
        if runsDirectory != nil { report.runFolder = run }
        defer {
            if runsDirectory == nil {
                try? FileManager.default.removeItem(atPath: run)
            } else {
                try? report.render().write(toFile: (run as NSString).appendingPathComponent("grade.txt"), atomically: true, encoding: .utf8)
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
        if runsDirectory != nil { Self.saveLogs(of: lab, in: run) }
        await lab.shutdown()
        return finish()
    }

    /// Starts the lab on the chosen offset; with automatic offsets, a port another program holds (a learner's
    /// second shell, a grade running beside this one) moves the lab to the next offset, a few times.
    private func startLab(_ definition: LabDefinition) async throws -> Lab {
        if let portOffset { return try await Lab.start(definition, options: LabOptions(portOffset: portOffset, threads: 2)) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await Lab.start(definition, options: LabOptions(portOffset: GradingPorts.offset(), threads: 2))
            } catch where attempt < 5 && "\(error)".contains("already in use") {
                continue
            }
        }
    }

    /// Copies the lab files of `directory` to a new temporary folder, leaving out what a lab writes (data/, logs/).
    static func copyForGrading(_ directory: String, exercise: Exercise, runs: String? = nil) throws -> String {
        let fm = FileManager.default
        let source = URL(fileURLWithPath: (directory as NSString).expandingTildeInPath).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: source.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GradeError("there is no folder \(source.path) — 'exercise \(exercise.number)' writes the starter files there")
        }
        let run: String
        if let runs {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            let parent = (runs as NSString).appendingPathComponent(exercise.id)
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
        } else {
            run = NSTemporaryDirectory() + "stacklab-grade-\(exercise.id)-\(UUID().uuidString.prefix(8))"
            try fm.createDirectory(atPath: run, withIntermediateDirectories: true)
        }
        // Never the run folders themselves (a state folder inside the graded one would copy itself forever).
        let keep = [run, runs].compactMap { $0.map { URL(fileURLWithPath: $0).standardizedFileURL.path } }
        try copyTree(source.path, to: run, skipping: ["data", "logs", ".git"], excluding: Set(keep))
        return run
    }

    /// Every process's log (HAProxy's, gunicorn's … kept in memory) into the run's `logs/` folder.
    static func saveLogs(of lab: Lab, in run: String) {
        let folder = (run as NSString).appendingPathComponent("logs")
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for process in lab.processes {
            let text = process.log.tail().joined(separator: "\n")
            let file = (folder as NSString).appendingPathComponent("\(process.serverName)-\(process.kind.rawValue).log")
            try? (text.isEmpty ? "" : text + "\n").write(toFile: file, atomically: true, encoding: .utf8)
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
