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
    public var steps: [Step]
    /// Where it was read from, for messages.
    public var file: String

    public init(number: Int, name: String, title: String, goal: String, steps: [Step], file: String) {
        self.number = number
        self.name = name
        self.title = title
        self.goal = goal
        self.steps = steps
        self.file = file
    }
}

/// One step: prose, commands to type, what must have happened afterwards, and hints; optionally a question to answer
/// before the commands run, and a state of the lab to wait for before they are shown.
public struct Step: Sendable, Equatable {
    public var number: Int
    public var title: String
    public var prose: String
    /// The lines of the step's ```stacklab blocks, in order (comments and blank lines left out).
    public var commands: [String]
    /// Every check must pass for the step to be done.
    public var checks: [Check]
    public var hints: [String]
    /// The lesson's version of lab files (```` ```file lb-01/haproxy.cfg ```` blocks), put in place by `apply`.
    public var files: [LessonFile]
    /// The command after which the step's checks run (`> **Ends:** after `status``); nil: the last one.
    public var endsAfter: Int?
    /// Asked before the commands run (`> **Predict:**`, `> **Answers:**`, `> **Observe:**`).
    public var prediction: Prediction?
    /// The lab must get there before the commands are shown (`> **Wait for:** the replica has the new post`).
    public var waitFor: [Check]
    public var line: Int

    public init(number: Int, title: String, prose: String, commands: [String], checks: [Check], hints: [String],
                files: [LessonFile] = [], endsAfter: Int? = nil, prediction: Prediction? = nil, waitFor: [Check] = [], line: Int) {
        self.number = number
        self.title = title
        self.prose = prose
        self.commands = commands
        self.checks = checks
        self.hints = hints
        self.files = files
        self.endsAfter = endsAfter
        self.prediction = prediction
        self.waitFor = waitFor
        self.line = line
    }

    /// The index of the command that ends the step.
    public var endingCommand: Int { min(endsAfter ?? commands.count - 1, commands.count - 1) }
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
