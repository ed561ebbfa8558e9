import ArgumentParser
import Foundation
import StackLab
import StackLabShell
import StackLabExercises

@main
struct Stacklab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stacklab",
        abstract: "A working miniature of the three-server design for www.foobar.com, to drive, watch and break.",
        discussion: """
        With no command, opens the shell with the built-in foobar lab running. Inside, type 'help'.

        Examples:
          stacklab
          stacklab -c "status; curl -v /"
          stacklab run demo.txt
          stacklab serve
          stacklab lab init ~/my-lab && stacklab --lab ~/my-lab
        """,
        version: version,
        subcommands: [ShellCommand.self, RunCommand.self, ServeCommand.self, LabCommand.self, LessonCommand.self, GradeCommand.self],
        defaultSubcommand: ShellCommand.self)

    /// The top-level VERSION file, built in.
    static let version = EmbeddedResources.folder.text(at: "VERSION")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"

    /// Every server of the lab lives in this one process and shares its open-file limit: raise the soft limit to
    /// the hard one first, as HAProxy does and nginx's worker_rlimit_nofile can, so a lab has its descriptors.
    static func main() async {
        if ShellVerbsManual.dumpIfAsked() { return }
        OpenFileLimit.raiseToHardLimit()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let verb = shellVerbOutsideTheShell(arguments) {
            let line = arguments.joined(separator: " ")
            complain("'\(verb)' is a command of the shell.\n"
                + "  stacklab -c \"\(line)\"   runs it and leaves\n"
                + "  stacklab   opens the shell")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        await main(nil)
    }

    /// `stacklab exercise 1`: the first word names a verb of the shell that is not a command of its own.
    static func shellVerbOutsideTheShell(_ arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-") else { return nil }
        let commands = configuration.subcommands.map { $0._commandName }
        guard !commands.contains(first), VerbTable.verb(named: first) != nil else { return nil }
        return first
    }
}

/// `--lab DIR` and `--port-base N`, shared by every command that starts a lab.
struct LabChoice: ParsableArguments {
    @Option(name: .long, help: "Run the lab in this folder instead of the built-in foobar lab.") var lab: String?
    @Option(name: .long, help: "Move every port of the lab up by N (when the usual ports are taken).") var portBase: Int = 0

    /// The port bases a lab fits with (its highest port, 9113, stays below 65536 with room to move on).
    static let portBases = 0...50_000

    func validate() throws {
        guard Self.portBases.contains(portBase) else { throw ValidationError("--port-base must be between 0 and 50000") }
    }

    var source: LabSource {
        if let lab {
            let path = URL(fileURLWithPath: (lab as NSString).expandingTildeInPath).standardizedFileURL.path
            return LabSource(directory: path)
        }
        return LabSource(directory: StatePaths.builtInRun("foobar"), builtIn: "foobar")
    }

    var options: LabOptions { LabOptions(portOffset: portBase) }

    /// Starts the lab, or prints why it cannot start and exits 1.
    func start() async throws -> LabSession {
        do {
            return try await LabSession.start(source, options: options, loader: FolderLabLoader())
        } catch {
            complain(error)
            throw ExitCode(1)
        }
    }
}

struct ShellCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Open the shell (the default): interactive on a terminal, or the lines of piped input.")

    @Option(name: .short, help: "Run these commands (separated by ';') and leave.") var c: String?
    @Flag(name: .short, help: "Print each command before running it (for demo transcripts).") var x = false
    @OptionGroup var choice: LabChoice

    @MainActor
    func run() async throws {
        setlocale(LC_CTYPE, "")
        let session = try await choice.start()
        let interactive = c == nil && isatty(STDIN_FILENO) == 1
        let screen = StandardOutput()
        let shell = Shell(session: session, output: CourseOutput(screen), style: .detect(), interactive: interactive)
        shell.echoCommands = x
        shell.courseNames = CourseSessions.completionNames  // lessons
        shell.courseNames += ExerciseCatalog.builtIn.exercises.map { String($0.id.dropFirst(3)) }   // exercise weights, grade failover …
        let status: Int32
        if let c {
            let signals = SignalHandlers(shell: shell, editor: nil)
            status = await shell.runScript([c])
            signals.cancel()
        } else if interactive {
            let editor = LibEditLineEditor(historyPath: StatePaths.history(), screen: screen)
            let signals = SignalHandlers(shell: shell, editor: editor)
            let lab = session.lab
            shell.say("stacklab — lab \(lab.topology.name) is up in \(session.startMilliseconds) ms"
                + (lab.entryAddress.map { "; the site is at http://\($0)/" } ?? ""))
            let width = shell.style.width
            shell.say(TerminalText.wrapStyled("New here? Type " + shell.style.bold("lesson 1") + " for a guided first lesson ('lessons' lists them all).",
                                              width: width))
            shell.say(shell.style.dim(TerminalText.wrapStyled("Or try: status · curl -v / · load · kill web-01 · diagram. 'help' lists every command; "
                + "Tab completes; Ctrl-D leaves.", width: width)))
            status = await shell.run(editor: CourseLineEditor(editor, shell: shell))  // lessons: auto-check after each command
            editor.close()
            signals.cancel()
        } else {
            let signals = SignalHandlers(shell: shell, editor: nil)
            status = await shell.run(editor: CourseLineEditor(PlainLineEditor(), shell: shell))  // lessons
            signals.cancel()
        }
        await session.shutdown()
        CourseSessions.cleanUp(after: shell)
        if status != 0 { throw ExitCode(status) }
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the shell commands in FILE (one or more per line), then leave. Exit status 1 if any failed.")

    @Argument(help: "A file of shell commands; '#' starts a comment.") var file: String
    @Flag(name: .short, help: "Print each command before running it.") var x = false
    @OptionGroup var choice: LabChoice

    @MainActor
    func run() async throws {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            complain("cannot read \(file)")
            throw ExitCode(1)
        }
        let session = try await choice.start()
        let shell = Shell(session: session, output: StandardOutput(), style: .detect(), interactive: false)
        shell.echoCommands = x
        let signals = SignalHandlers(shell: shell, editor: nil)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let status = await shell.runScript(lines, origin: file)
        signals.cancel()
        await session.shutdown()
        CourseSessions.cleanUp(after: shell)
        if status != 0 { throw ExitCode(status) }
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the lab without the shell, until Ctrl-C or SIGTERM (for curl, wrk, a browser, or a class demo).")

    @OptionGroup var choice: LabChoice
    @Flag(help: "Do not print lb-01's log lines (they are in lb-01/logs/haproxy.log too).") var quiet = false

    @MainActor
    func run() async throws {
        let session = try await choice.start()
        let lab = session.lab
        let out = StandardOutput()
        for server in lab.topology.servers {
            let processes = lab.processes(on: server.name).map { "\($0.kind.rawValue) \($0.runtime.addresses.joined(separator: " "))" }
            out.write(server.name.padding(toLength: 8, withPad: " ", startingAt: 0)
                + server.address.padding(toLength: 12, withPad: " ", startingAt: 0) + processes.joined(separator: "   ") + "\n")
        }
        out.write("lab \(lab.topology.name) ready in \(session.startMilliseconds) ms"
            + (lab.entryAddress.map { " — try: curl http://\($0)/" } ?? "") + "\n")
        // HAProxy's log lines as they come, as `haproxy -db` with `log stdout` prints them.
        let streams = quiet ? [] : lab.topology.servers.flatMap { lab.processes(on: $0.name) }.filter { $0.kind == .haproxy }.map { $0.runtime.log.follow() }
        let printing = streams.map { stream in
            Task.detached {
                for await line in stream { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
            }
        }
        let signal = await SignalHandlers.waitForStop()
        for task in printing { task.cancel() }
        out.write("\(signal == SIGINT ? "interrupted" : "terminated"): stopping the lab…\n")
        await session.shutdown()
        out.write("stopped\n")
    }
}

struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Work with lab folders.",
        subcommands: [Init.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Write a copy of the built-in foobar lab into DIR, to edit and run with --lab DIR.")
        @Argument(help: "A new or empty folder.") var directory: String
        @Flag(help: "The hardened foobar lab: HTTPS at lb-01 (redirect, HSTS) and a firewall on every server.") var hardened = false

        func run() async throws {
            let path = (directory as NSString).expandingTildeInPath
            do {
                if hardened { try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: path) } else { try FolderLabLoader().writeStarter(to: path) }
            } catch {
                complain(error)
                throw ExitCode(1)
            }
            print("wrote the \(hardened ? "foobar-hardened" : "foobar") lab to \(path) — edit it, then: stacklab --lab \(directory)")
        }
    }
}
