import ArgumentParser
import StackLab

/// One verb of the shell (`status`, `curl`, `kill` …): a swift-argument-parser command parsed from the words of a
/// line, so `help VERB`, usage errors and option lists come from its declaration.
public protocol ShellVerb: ParsableCommand {
    /// Where `help` lists the verb.
    static var group: VerbGroup { get }
    /// Runs the verb. Throw `ShellError` for a failure the learner can act on.
    @MainActor func execute(in shell: Shell) async throws
}

/// Verbs that want the text after the verb exactly as typed (`sql`).
public protocol RawTextVerb: ShellVerb {
    init(rawText: String, words: [String])
}

public enum VerbGroup: String, Sendable, CaseIterable {
    case look = "Look at the lab"
    case traffic = "Send traffic"
    case breakIt = "Break it"
    case fix = "Fix it"
    case store = "The database"
    case labs = "Lab folders"
    case course = "Lessons"
    case exercises = "Exercises"
    case shell = "The shell"
}

/// A failure to show the learner: what was wrong and what would work.
public struct ShellError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The words do not fit the verb (a missing statement, one server of two): the verb's usage follows the message,
    /// as for the errors swift-argument-parser finds.
    public var showsUsage = false
    public init(_ message: String) { self.message = message }
    public static func usage(_ message: String) -> ShellError {
        var error = ShellError(message)
        error.showsUsage = true
        return error
    }
    public var description: String { message }
}

/// Every verb, in the order `help` lists them.
public enum VerbTable {
    public static let all: [any ShellVerb.Type] = [
        StatusVerb.self, DiagramVerb.self, LogsVerb.self, TopVerb.self, MetricsVerb.self, MonitorVerb.self, AlertsVerb.self,
        CurlVerb.self, LoadVerb.self,
        TapVerb.self, ScanVerb.self, TLSVerb.self,
        KillVerb.self, StopVerb.self, HangVerb.self, SlowVerb.self, PartitionVerb.self,
        ReviveVerb.self, HealVerb.self, ResetVerb.self, UFWVerb.self,
        SQLVerb.self, ReplicationVerb.self,
        LabVerb.self,
        LessonsVerb.self, LessonVerb.self, CheckVerb.self, NextVerb.self, BackVerb.self, HintVerb.self, ApplyVerb.self, DemoVerb.self,
        ExercisesVerb.self, ExerciseVerb.self, GradeVerb.self,
        WatchVerb.self, JobsVerb.self, SleepVerb.self, HelpVerb.self, QuitVerb.self,
    ]

    /// Other words for the same verb.
    public static let aliases: [String: String] = ["exit": "quit", "crash": "kill", "?": "help"]

    public static var names: [String] { all.map { $0._commandName } }

    public static func verb(named name: String) -> (any ShellVerb.Type)? {
        let name = aliases[name] ?? name
        return all.first { $0._commandName == name }
    }

    public static func summary(of verb: any ShellVerb.Type) -> String { verb.configuration.abstract }
}
