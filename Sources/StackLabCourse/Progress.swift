import Foundation

/// What the learner has done, kept in `$XDG_STATE_HOME/stacklab/progress.json` (or `~/.local/state/stacklab/…`) so it
/// survives restarts. Keyed by lesson name, so renumbering lessons keeps progress.
public struct LearnerProgress: Sendable, Equatable, Codable {
    public struct LessonProgress: Sendable, Equatable, Codable {
        /// Steps whose checks passed.
        public var done: [Int] = []
        /// The step the learner was on.
        public var current: Int = 1
        public var finished = false
        public init() {}
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
