import Foundation

/// What a learner has done, kept between runs in `$XDG_STATE_HOME/stacklab/exercises.json`
/// (`~/.local/state/stacklab/exercises.json`): the exercise in hand, and per exercise the best score, whether it
/// passed, how many times it was graded and how many hints were shown.
public struct ExerciseProgress: Sendable, Equatable, Codable {
    public struct Record: Sendable, Equatable, Codable {
        public var best = 0
        public var maxScore = 0
        public var passed = false
        public var attempts = 0
        public var hintsShown = 0
        public var lastGraded: Date?
    }

    public var current: String?
    public var records: [String: Record] = [:]

    public init() {}

    public func record(_ id: String) -> Record { records[id] ?? Record() }

    public mutating func note(_ report: GradeReport, at time: Date = Date()) {
        guard report.unavailable == nil else { return }
        var record = records[report.exercise.id] ?? Record()
        record.attempts += 1
        record.best = max(record.best, report.score)
        record.maxScore = report.maxScore
        record.passed = record.passed || report.passed
        record.lastGraded = time
        records[report.exercise.id] = record
    }

    /// The next hint's index for an exercise, counting it as shown; nil when every hint has been shown.
    public mutating func nextHint(for exercise: Exercise) -> (index: Int, text: String)? {
        var record = records[exercise.id] ?? Record()
        guard record.hintsShown < exercise.hints.count else { return nil }
        let index = record.hintsShown
        record.hintsShown += 1
        records[exercise.id] = record
        return (index, exercise.hints[index])
    }

    /// `done 6/6`, `3/6`, `started`, `not started`.
    public func statusWord(for exercise: Exercise) -> String {
        guard let record = records[exercise.id] else { return current == exercise.id ? "started" : "not started" }
        if record.passed { return "done \(record.best)/\(record.maxScore)" }
        if record.attempts > 0 { return "best \(record.best)/\(record.maxScore)" }
        return "started"
    }
}

/// Where the learner's copies of the exercises live and where progress is kept.
///
/// ```swift
/// let workspace = ExerciseWorkspace.default()
/// let (folder, created) = try workspace.begin(ExerciseCatalog.builtIn.exercise(matching: "1")!)
/// ```
public struct ExerciseWorkspace: Sendable {
    /// The folder of the learner's exercise copies (`~/stacklab-exercises`, or `$STACKLAB_EXERCISES`).
    public var root: String
    /// The progress file.
    public var progressFile: String

    public init(root: String, progressFile: String) {
        self.root = root
        self.progressFile = progressFile
    }

    public static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment) -> ExerciseWorkspace {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let state: String = if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { xdg + "/stacklab" } else { home + "/.local/state/stacklab" }
        let root = environment["STACKLAB_EXERCISES"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/stacklab-exercises"
        return ExerciseWorkspace(root: root, progressFile: state + "/exercises.json")
    }

    public func folder(for exercise: Exercise) -> String { (root as NSString).appendingPathComponent(exercise.id) }

    /// Where graded runs are kept (`…/state/stacklab/runs/NN-name/latest`), beside the progress file.
    public var runsDirectory: String { ((progressFile as NSString).deletingLastPathComponent as NSString).appendingPathComponent("runs") }

    /// Copies the starter files into the learner's folder for the exercise, once: an existing folder is kept as it
    /// is. Returns the folder and whether it was written now. Makes it the current exercise.
    @discardableResult
    public func begin(_ exercise: Exercise) throws -> (folder: String, created: Bool) {
        let folder = folder(for: exercise)
        let fm = FileManager.default
        var created = false
        if !fm.fileExists(atPath: folder) {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for file in exercise.starterFiles {
                let destination = (folder as NSString).appendingPathComponent(file)
                try fm.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try fm.copyItem(atPath: (exercise.folder as NSString).appendingPathComponent(file), toPath: destination)
            }
            created = true
        }
        try update { $0.current = exercise.id }
        return (folder, created)
    }

    public func loadProgress() -> ExerciseProgress {
        guard let data = FileManager.default.contents(atPath: progressFile) else { return ExerciseProgress() }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode(ExerciseProgress.self, from: data)) ?? ExerciseProgress()
    }

    /// Reads, changes and writes the progress file.
    @discardableResult
    public func update<T>(_ change: (inout ExerciseProgress) -> T) throws -> T {
        var progress = loadProgress()
        let result = change(&progress)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(progress)
        try FileManager.default.createDirectory(atPath: (progressFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: progressFile), options: .atomic)
        return result
    }
}
