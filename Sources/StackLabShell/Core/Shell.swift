import ArgumentParser
import Foundation
import StackLab

/// The stacklab shell: reads lines, runs verbs against the running lab, prints what happened.
///
/// ```swift
/// let shell = Shell(session: session, output: StandardOutput(), style: .detect())
/// let status = await shell.run(editor: PlainLineEditor())
/// ```
@MainActor
public final class Shell {
    public let session: LabSession
    public let output: any ShellOutput
    public let style: Style
    /// Whether a person types at a terminal (then Ctrl-C returns to the prompt; otherwise it stops the script).
    public let interactive: Bool
    /// Extra words for completion (lesson and exercise names, when a course is loaded).
    public var courseNames: [String] = []
    /// Print each command before running it (`stacklab -x`), for demo transcripts.
    public var echoCommands = false
    let interrupts = InterruptSwitch()
    /// Commands running in the background (`COMMAND &`).
    public let jobs = BackgroundJobs()
    /// Set on the shell that runs a background job: its number.
    var jobNumber: Int?
    /// Set on the shell that runs a background job: the shell that started it, whose lesson hears what the job sees
    /// (a `tap … &` reports the password it read to the lesson of the shell the learner types in).
    weak var jobOwner: Shell?
    /// The editor reading lines, while `run(editor:)` runs.
    private var editor: (any LineEditor)?
    /// `sql`'s sessions, one per store, as a mysql client's connection (a background job shares its shell's).
    var sqlSessions = SQLSessions()
    private(set) var quitRequested = false
    /// Set when Ctrl-C stopped a command while running a script.
    public private(set) var interruptedScript = false

    public var lab: Lab { session.lab }

    public init(session: LabSession, output: any ShellOutput, style: Style, interactive: Bool = false) {
        self.session = session
        self.output = output
        self.style = style
        self.interactive = interactive
    }

    // MARK: - Writing

    public func write(_ text: String) { output.write(text) }

    /// Before a line that may come while the prompt is up (an alert, a job's end): the prompt redrawn under it says
    /// the lab's health as it is now.
    func refreshPrompt() { editor?.promptChanged(prompt) }
    public func say(_ line: String) { output.write(line + "\n") }
    /// A sentence or two for the learner, wrapped at word boundaries to the terminal's width (lines after the first
    /// indented by `indent`).
    public func tell(_ text: String, indent: String = "") { say(TerminalText.wrapStyled(text, width: style.width, indent: indent)) }
    /// `error: …` in red, its first line wrapped to the terminal (the lines after it, usage, come laid out).
    func fail(_ message: String) {
        var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let first = TerminalText.wrapStyled(lines.removeFirst(), width: style.width, lead: style.red("error:") + " ", indent: "  ")
        output.write(([first] + lines).joined(separator: "\n") + "\n")
    }

    /// Long text (help) on a terminal goes through a pager, `$PAGER` or `less -R`, when it would not fit the screen;
    /// piped, or with no pager, it is printed whole.
    func page(_ text: String) async {
        guard interactive, style.terminal, jobNumber == nil,
              text.split(separator: "\n", omittingEmptySubsequences: false).count >= TerminalSize.current().rows,
              Pager.command(environment: ProcessInfo.processInfo.environment) != nil else {
            write(text)
            return
        }
        // Ctrl-C belongs to the pager while it runs (less stops a search with it), not to the command.
        let saved = interrupts.suspend()
        let shown = await Pager.show(text)
        interrupts.restore(saved)
        guard shown else {
            write(text)
            return
        }
        // What the pager showed is gone from the screen; the transcript still has it for lesson checks.
        (output as? CourseOutput)?.transcript.record(text)
    }

    // MARK: - Ctrl-C

    /// Called from the SIGINT handler: cancels the running command, if any. Thread-safe.
    public nonisolated func interrupt() -> Bool { interrupts.fire() }

    // MARK: - Loops

    /// Runs lines from an editor until it ends or `quit`. Returns the exit status: non-zero when a command failed
    /// (for piped input), 130 when Ctrl-C stopped a script.
    public func run(editor: any LineEditor) async -> Int32 {
        self.editor = editor
        defer { self.editor = nil }
        editor.setCompleter(completer)
        var failed = false
        loop: while !quitRequested {
            switch await editor.readLine(prompt: prompt) {
            case .end:
                if interactive { write("\n") }
                break loop
            case .interrupted:
                continue
            case .line(let line):
                if !line.trimmingSpaces.isEmpty { editor.remember(line.trimmingSpaces) }
                if !(await execute(line)) { failed = true }
                if !interactive && interruptedScript { break loop }
                // A `lab load` changes the names to complete.
                editor.setCompleter(completer)
            }
        }
        await endJobs()
        if interruptedScript { return 130 }
        return failed && !interactive ? 1 : 0
    }

    /// At the end of the input: a script's background jobs may finish (their output belongs in the transcript); a
    /// person who leaves stops them.
    func endJobs() async {
        guard !jobs.running.isEmpty else { return }
        await jobs.finish(timeout: interactive || interruptedScript ? 0 : 10)
    }

    /// Runs a script's lines (`stacklab run FILE`, `stacklab -c`); every line runs, the status says if any failed.
    public func runScript(_ lines: [String], origin: String? = nil) async -> Int32 {
        var failed = false
        for (index, line) in lines.enumerated() where !quitRequested {
            if !(await execute(line, origin: origin.map { "\($0):\(index + 1)" })) { failed = true }
            if interruptedScript { break }
        }
        await endJobs()
        if interruptedScript { return 130 }
        return failed ? 1 : 0
    }

    /// Runs one line (which may hold several commands separated by `;`). Returns false when any command failed.
    @discardableResult
    public func execute(_ line: String, origin: String? = nil) async -> Bool {
        let commands: [CommandLineText.Command]
        do {
            commands = try CommandLineText.commands(in: line)
        } catch {
            fail((origin.map { "\($0): " } ?? "") + error.message)
            return false
        }
        var ok = true
        for command in commands where !quitRequested {
            if echoCommands { say(style.dim("▸ " + command.text + (command.background ? " &" : ""))) }
            if !(await run(command, origin: origin)) { ok = false }
            if interruptedScript { break }
        }
        return ok
    }

    /// Parses and runs one command.
    func run(_ command: CommandLineText.Command, origin: String? = nil) async -> Bool {
        if command.background {
            await jobs.start(command, in: self)
            return true
        }
        let place = origin.map { "\($0): " } ?? ""
        let name = command.words[0]
        guard let type = VerbTable.verb(named: name) else {
            var message = "\(place)unknown command '\(name)'"
            if let near = Suggestions.nearest(name, in: VerbTable.names + Array(VerbTable.aliases.keys)) {
                message += " — did you mean '\(VerbTable.aliases[near] ?? near)'?"
            } else {
                message += " — type 'help' to see the commands"
            }
            fail(message)
            return false
        }
        let verb: any ShellVerb
        switch Self.parse(type, command: command, width: style.width) {
        case .verb(let parsed): verb = parsed
        case .help(let text):
            write(text.hasSuffix("\n") ? text : text + "\n")
            return true
        case .error(let text):
            fail(place + text)
            return false
        }
        return await runCancellable(verb, place: place)
    }

    enum Parsed {
        case verb(any ShellVerb)
        case help(String)
        case error(String)
    }

    /// Parses a command's words with the verb's swift-argument-parser declaration; help and usage errors are laid
    /// out for a terminal `width` columns wide.
    nonisolated static func parse(_ type: any ShellVerb.Type, command: CommandLineText.Command, width: Int = 80) -> Parsed {
        let arguments = Array(command.words.dropFirst())
        if let raw = type as? any RawTextVerb.Type, !arguments.contains(where: { $0 == "--help" || $0 == "-h" }) {
            return .verb(raw.init(rawText: command.rest, words: arguments))
        }
        do {
            let parsed = try type.parseAsRoot(arguments)
            if let verb = parsed as? any ShellVerb { return .verb(verb) }
            return .help(VerbHelp.full(for: type, width: width, style: .plain))
        } catch {
            if type.exitCode(for: error) == .success {
                // `VERB --help`: the same text as `help VERB`; a subcommand's (`lab init --help`) as `help lab init`.
                let words = arguments.filter { !$0.hasPrefix("-") }
                if let sub = VerbHelp.subcommand(of: type, named: words.first) {
                    return .help(VerbHelp.full(for: sub, parent: type, width: width, style: .plain))
                }
                return .help(VerbHelp.full(for: type, width: width, style: .plain))
            }
            return .error(VerbHelp.usageError(error, for: type, width: width))
        }
    }

    private func runCancellable(_ verb: any ShellVerb, place: String) async -> Bool {
        let box = VerbBox(verb: verb)
        let task = Task { @MainActor in try await box.verb.execute(in: self) }
        interrupts.arm { task.cancel() }
        defer { interrupts.disarm() }
        do {
            try await task.value
            // A verb that ends quietly when cancelled (a follow loop) was still stopped by Ctrl-C.
            if interrupts.fired {
                if !interactive { interruptedScript = true }
                if jobNumber == nil { say(style.dim("(stopped)")) }
                return false
            }
            return true
        } catch is CancellationError {
            if !interactive { interruptedScript = true }
            if jobNumber == nil { say(style.dim("(stopped)")) }
            return false
        } catch let error as ShellError where error.showsUsage {
            fail(place + VerbHelp.usageError(error.message, for: Swift.type(of: verb), width: style.width))
        } catch let error as ShellError {
            if !error.isSilent { fail(place + error.message) }
        } catch let error as TargetError {
            fail(place + error.message)
        } catch {
            fail(place + "\(error)")
        }
        return false
    }

    func requestQuit() { quitRequested = true }

    // MARK: - Prompt and completion

    /// `foobar ● ` — green when every process runs and every balanced server is UP, red with a count otherwise.
    public var prompt: String {
        let health = LabHealth(lab: lab)
        let name = lab.topology.name
        if health.allUp { return "\(name) \(style.promptPaint("●", "32")) " }
        let count = health.problems.count
        return "\(name) \(style.promptPaint("● \(count) problem\(count == 1 ? "" : "s")", "31")) "
    }

    public var completer: Completer {
        Completer(verbs: VerbTable.names, lab: lab, courseNames: courseNames)
    }
}

/// Carries a parsed verb into the task that runs it (both on the main actor).
private struct VerbBox: @unchecked Sendable {
    // @unchecked: created and used only on the main actor; the task that reads it is @MainActor too.
    let verb: any ShellVerb
}

/// The Ctrl-C switch: armed with the running command's cancel action while it runs.
final class InterruptSwitch: Sendable {
    private let action = LockedBox<(@Sendable () -> Void)?>(nil)
    private let firedFlag = LockedBox(false)

    func arm(_ cancel: @escaping @Sendable () -> Void) {
        firedFlag.withValue { $0 = false }
        action.withValue { $0 = cancel }
    }

    func disarm() { action.withValue { $0 = nil } }

    /// Ctrl-C goes nowhere until `restore` (a pager handles it itself); returns what was armed.
    func suspend() -> (@Sendable () -> Void)? {
        action.withValue { action in
            defer { action = nil }
            return action
        }
    }

    func restore(_ saved: (@Sendable () -> Void)?) { action.withValue { $0 = saved } }

    /// Whether a command is running (armed), rather than the prompt waiting.
    var armed: Bool { action.current != nil }

    /// Whether Ctrl-C reached the command armed last.
    var fired: Bool { firedFlag.current }

    /// Cancels the running command; false when nothing was running.
    func fire() -> Bool {
        guard let cancel = action.current else { return false }
        firedFlag.withValue { $0 = true }
        cancel()
        return true
    }
}

/// What is not right in the lab, in short words (for the prompt and `status`).
public struct LabHealth {
    public var problems: [String] = []
    public var allUp: Bool { problems.isEmpty }

    public init(lab: Lab) {
        for process in lab.processes where process.state != .running {
            problems.append("\(process.name) \(process.state)")
        }
        for balancer in lab.balancers {
            // A server not yet checked ("UP 1/3", INI) is starting, not failing.
            for server in balancer.serverStatuses where server.checked && server.status != "UP"
                && (!server.isUp || server.health.lastResult != .initial) {
                problems.append("\(balancer.serverName) sees \(server.name) \(server.status)")
            }
        }
        for (a, b) in lab.network.activePartitions { problems.append("\(a) ✂ \(b)") }
    }
}
