import Foundation

/// What the learner has done, kept in `$XDG_STATE_HOME/stacklab/progress.json` (or `~/.local/state/stacklab/…`) so it
/// survives restarts. Keyed by lesson name, so renumbering lessons keeps progress.
public struct LearnerProgress: Sendable, Equatable, Codable {
    public struct LessonProgress: Sendable, Equatable, Codable {
        /// Steps whose checks passed.
        public var done: [Int] = []
        /// The step the learner was on (`lesson N` resumes there).
        public var current: Int = 1
        public var finished = false
        /// The learner's predictions, the last one for each step.
        public var predictions: [PredictionRecord] = []
        public init() {}

        public init(from decoder: any Decoder) throws {
            // Files written before a field existed still load.
            let c = try decoder.container(keyedBy: CodingKeys.self)
            done = try c.decodeIfPresent([Int].self, forKey: .done) ?? []
            current = try c.decodeIfPresent(Int.self, forKey: .current) ?? 1
            finished = try c.decodeIfPresent(Bool.self, forKey: .finished) ?? false
            predictions = try c.decodeIfPresent([PredictionRecord].self, forKey: .predictions) ?? []
        }

        /// Graded predictions: how many were right, of how many the run could tell.
        public var predictionScore: (right: Int, graded: Int) {
            let graded = predictions.compactMap(\.right)
            return (graded.filter { $0 }.count, graded.count)
        }
    }

    /// What the learner predicted at a step, what happened, and whether they were right (nil: the run could not tell).
    public struct PredictionRecord: Sendable, Equatable, Codable {
        public var step: Int
        public var answer: String
        public var observed: String
        public var right: Bool?
        public init(step: Int, answer: String, observed: String, right: Bool?) {
            self.step = step
            self.answer = answer
            self.observed = observed
            self.right = right
        }
    }

    public var lessons: [String: LessonProgress] = [:]
    public init() {}

    public func of(_ lesson: Lesson) -> LessonProgress { lessons[lesson.name] ?? LessonProgress() }

    /// `✓` finished, `…` started, blank not started.
    public func mark(for lesson: Lesson) -> String {
        guard let p = lessons[lesson.name] else { return " " }
        if p.finished { return "✓" }
        return p.done.isEmpty && p.current <= 1 ? " " : "…"
    }

    /// Where a lesson stands, in words for `lessons`: `at step 4 of 7 · 1 of 2 predictions right`.
    public func summary(for lesson: Lesson) -> String {
        guard let p = lessons[lesson.name] else { return "" }
        var parts: [String] = []
        if p.current > 1 { parts.append("at step \(p.current) of \(lesson.steps.count)") } else if p.finished { parts.append("done") }
        let score = p.predictionScore
        if score.graded > 0 { parts.append("\(score.right) of \(score.graded) prediction\(score.graded == 1 ? "" : "s") right") }
        return parts.joined(separator: " · ")
    }

    /// The step `lesson N` starts at: the saved one (a finished lesson starts from the top again).
    public func resumeStep(for lesson: Lesson) -> Int {
        let p = of(lesson)
        return lesson.steps.contains { $0.number == p.current } ? p.current : 1
    }

    public mutating func stepDone(_ lesson: Lesson, step: Int) {
        var p = of(lesson)
        if !p.done.contains(step) { p.done.append(step); p.done.sort() }
        if Set(p.done).isSuperset(of: lesson.steps.map(\.number)) { p.finished = true }
        lessons[lesson.name] = p
    }

    public mutating func moved(_ lesson: Lesson, to step: Int) {
        var p = of(lesson)
        p.current = step
        lessons[lesson.name] = p
    }

    /// The last step is done: next time the lesson starts from the top.
    public mutating func finished(_ lesson: Lesson) {
        var p = of(lesson)
        p.finished = true
        p.current = 1
        lessons[lesson.name] = p
    }

    /// Starting over (`lesson N --restart`): steps and predictions forgotten; a ✓ earned once stays.
    public mutating func restarted(_ lesson: Lesson) {
        var fresh = LessonProgress()
        fresh.finished = of(lesson).finished
        lessons[lesson.name] = fresh
    }

    public mutating func predicted(_ lesson: Lesson, _ record: PredictionRecord) {
        var p = of(lesson)
        p.predictions.removeAll { $0.step == record.step }
        p.predictions.append(record)
        p.predictions.sort { $0.step < $1.step }
        lessons[lesson.name] = p
    }
}

/// Reads and writes the progress file. A file that cannot be read starts fresh (progress is a convenience, never a
/// reason to refuse a lesson); a write that fails is reported.
public struct ProgressStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// `$XDG_STATE_HOME/stacklab/progress.json`, or `~/.local/state/stacklab/progress.json`.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> ProgressStore {
        let root: String
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            root = state + "/stacklab"
        } else {
            root = (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state/stacklab"
        }
        return ProgressStore(path: root + "/progress.json")
    }

    public func load() -> LearnerProgress {
        guard let data = FileManager.default.contents(atPath: path),
              let progress = try? JSONDecoder().decode(LearnerProgress.self, from: data) else { return LearnerProgress() }
        return progress
    }

    public func save(_ progress: LearnerProgress) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(progress).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
