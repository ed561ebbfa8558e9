/// A guided lesson, read from a Markdown file: a title, a goal, and steps the learner types and the lab checks.
///
/// ```swift
/// let lesson = try LessonParser.parse(text, file: "lessons/03-health-checks.md")
/// print(lesson.steps[0].commands)   // ["kill web-01", "status"]
/// ```
public struct Lesson: Sendable, Equatable {
    /// The lesson's number from its file name (`03-health-checks.md` → 3), or its position in the list.
    public var number: Int
    /// The file name without number and extension: `health-checks`.
    public var name: String
    public var title: String
    public var goal: String
    /// Commands that must work in this build for the lesson to run (probes of features that land later).
    public var needs: [Need]
    public var steps: [Step]
    /// Where it was read from, for messages.
    public var file: String

    public init(number: Int, name: String, title: String, goal: String, needs: [Need], steps: [Step], file: String) {
        self.number = number
        self.name = name
        self.title = title
        self.goal = goal
        self.needs = needs
        self.steps = steps
        self.file = file
    }
}

/// One step: prose, commands to type, what the lab must show afterwards, and a hint.
public struct Step: Sendable, Equatable {
    public var number: Int
    public var title: String
    public var prose: String
    /// The lines of the step's ```stacklab blocks, in order (comments and blank lines left out).
    public var commands: [String]
    /// Every check must pass for the step to be done.
    public var checks: [Check]
    public var hints: [String]
    /// Step-level feature probes, on top of the lesson's.
    public var needs: [Need]
    /// The lesson's version of lab files (```` ```file lb-01/haproxy.cfg ```` blocks), put in place by `apply`.
    public var files: [LessonFile]
    public var line: Int

    public init(number: Int, title: String, prose: String, commands: [String], checks: [Check], hints: [String], needs: [Need],
                files: [LessonFile] = [], line: Int) {
        self.number = number
        self.title = title
        self.prose = prose
        self.commands = commands
        self.checks = checks
        self.hints = hints
        self.needs = needs
        self.files = files
        self.line = line
    }
}

/// `> **Needs:** \`sql SHOW DATABASES\` (the store's SQL in the shell)`: a harmless command that works once the feature
/// has landed, and the feature's name in words for the learner.
public struct Need: Sendable, Equatable {
    public var probe: String
    public var feature: String
    public init(probe: String, feature: String) {
        self.probe = probe
        self.feature = feature
    }
}

/// A lesson file that cannot be used, with the place to fix: `lessons/03-health-checks.md:14: …`.
public struct LessonError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String
    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }
    public var description: String { "\(file):\(line): \(reason)" }
}

/// A lab file as the lesson wants it (a whole file, shown to the learner as a code block titled with its path).
public struct LessonFile: Sendable, Equatable {
    /// Relative to the lab folder: `lb-01/haproxy.cfg`.
    public var path: String
    public var text: String
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}
