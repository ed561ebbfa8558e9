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
    /// A failure that prints nothing (`curl -s`): the command still counts as failed.
    public static let silent = ShellError("")
    public var isSilent: Bool { message.isEmpty && !showsUsage }
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
        WatchVerb.self, JobsVerb.self, SleepVerb.self, ClearVerb.self, HelpVerb.self, QuitVerb.self,
    ]

    /// Other words for the same verb.
    public static let aliases: [String: String] = ["exit": "quit", "crash": "kill", "?": "help"]

    public static var names: [String] { all.map { $0._commandName } }

    public static func verb(named name: String) -> (any ShellVerb.Type)? {
        let name = aliases[name] ?? name
        return all.first { $0._commandName == name }
    }

    /// One line for `help`'s list, short enough to sit beside the name in 80 columns; `help VERB` has the abstract.
    public static func summary(of verb: any ShellVerb.Type) -> String { summaries[verb._commandName] ?? verb.configuration.abstract }

    static let summaries: [String: String] = [
        "status": "Every process: state, ports, health checks, traffic, errors.",
        "diagram": "The servers and links, drawn: what is up, where requests went.",
        "logs": "A process's log in its real format (-f follows it).",
        "top": "A full-screen live view: servers, traffic, replication, alerts.",
        "metrics": "A process's /metrics, in Prometheus text format.",
        "monitor": "Add a Prometheus-like monitor that scrapes and raises alerts.",
        "alerts": "The monitor's alert rules: inactive, pending, firing.",
        "tap": "Watch the messages that cross a hop, as they happen.",
        "scan": "Probe a server's ports from the internet, like nmap.",
        "tls": "Where the lab speaks HTTPS, and how to trust its certificates.",
        "curl": "Send one HTTP request through lb-01; -v shows every hop.",
        "load": "Many requests at once: requests/s, latency, who answered.",
        "kill": "Crash a process or a whole server.",
        "stop": "Stop a process or a server gracefully.",
        "hang": "Freeze a process or server: it accepts, never answers.",
        "partition": "Cut the network between two servers.",
        "revive": "Bring a process or server back; no target: everything.",
        "heal": "Restore the network between two servers; none: every cut.",
        "reset": "Start the whole lab again from its files.",
        "ufw": "A server's firewall, with ufw's own commands.",
        "sql": "Run SQL on a store: the primary, or the one you name.",
        "replication": "Is the replica keeping up? SHOW REPLICA STATUS, summed up.",
        "lab": "Lab folders: init DIR, load DIR, show [FILE].",
        "lesson": "Start a guided lesson: N, a name, or a .md file.",
        "check": "Is the lesson's step done? Each check, with ✓ or ✗ and why.",
        "hint": "A hint for the lesson's step (or else the current exercise).",
        "apply": "Put the step's version of a lab file in place and restart.",
        "demo": "Play a lesson for a class, step by step ('demo' resumes).",
        "exercise": "Start exercise N: its starter files and the task.",
        "grade": "Grade the current exercise (or N): each check, the score.",
        "watch": "Run a command again and again, until Ctrl-C.",
        "jobs": "List the commands running in the background (COMMAND &).",
        "sleep": "Wait SECONDS (in scripts: give health checks time).",
    ]
}
