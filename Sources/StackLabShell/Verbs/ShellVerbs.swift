import ArgumentParser
import Foundation
import StackLab

struct HelpVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "help",
        abstract: "List the commands, or explain one: help VERB.",
        discussion: """
        Examples:
          help
          help curl
        """)
    static let group = VerbGroup.shell
    @Argument(help: ArgumentHelp("A command to explain, and one of its subcommands (help lab init).", valueName: "verb"))
    var words: [String] = []

    func execute(in shell: Shell) async throws {
        guard let verb = words.first else {
            await shell.page(HelpVerb.overview(style: shell.style))
            return
        }
        guard let type = VerbTable.verb(named: verb) else {
            var message = "there is no command '\(verb)'"
            if let near = Suggestions.nearest(verb, in: VerbTable.names) { message += " — did you mean 'help \(near)'?" }
            throw ShellError(message + " Type 'help' for the list.")
        }
        if words.count > 1 {
            guard let sub = VerbHelp.subcommand(of: type, named: words[1]), words.count == 2 else {
                let subs = VerbHelp.subcommandNames(of: type)
                throw ShellError.usage(subs.isEmpty ? "'\(verb)' has no subcommands: 'help \(verb)' explains it"
                    : "'\(verb)' has the subcommands \(subs.joined(separator: ", ")), e.g. 'help \(verb) \(subs[0])'")
            }
            await shell.page(VerbHelp.full(for: sub, parent: type, width: shell.style.width, style: shell.style))
            return
        }
        await shell.page(HelpVerb.text(for: type, style: shell.style))
    }

    /// `help VERB`: what it does, usage, an example (from the verb's declaration), at the terminal's width.
    static func text(for type: any ShellVerb.Type, style: Style) -> String {
        VerbHelp.full(for: type, width: style.width, style: style)
    }

    /// Every verb by group, its abstract wrapped beside its name.
    static func overview(style: Style) -> String {
        var out = ""
        let width = VerbTable.names.map(\.count).max() ?? 8
        let indent = String(repeating: " ", count: width + 4)
        for group in VerbGroup.allCases {
            let verbs = VerbTable.all.filter { $0.group == group }
            guard !verbs.isEmpty else { continue }
            out += style.bold(group.rawValue) + "\n"
            for verb in verbs {
                let name = "  " + verb._commandName.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                out += TerminalText.wrapStyled(VerbTable.summary(of: verb), width: style.width, lead: name, indent: indent) + "\n"
            }
        }
        out += TerminalText.wrapStyled("Targets are servers (lb-01, web-01) or processes (web-01/nginx). Tab completes; "
            + "'help VERB' explains one.", width: style.width) + "\n"
        return out
    }
}

struct JobsVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List the commands running in the background (started with a trailing &).",
        discussion: """
        A command typed with '&' at the end runs while you go on typing; its output appears above the prompt, and a \
        line says when it ends. 'kill %N' stops job N.

        Examples:
          tap internet>lb-01 &
          jobs
          kill %1
        """)
    static let group = VerbGroup.shell

    func execute(in shell: Shell) async throws {
        let running = shell.jobs.running
        guard !running.isEmpty else {
            shell.tell("no background jobs — a command typed with '&' at the end runs in the background")
            return
        }
        for job in running { shell.say("[\(job.number)] running  \(job.command)") }
    }
}

struct QuitVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "quit",
        abstract: "Stop the lab and leave (also: exit, Ctrl-D).",
        discussion: """
        Example:
          quit
        """)
    static let group = VerbGroup.shell

    func execute(in shell: Shell) async throws { shell.requestQuit() }
}

struct ClearVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "clear",
        abstract: "Clear the terminal screen (also: Ctrl-L).",
        discussion: """
        Example:
          clear
        """)
    static let group = VerbGroup.shell

    func execute(in shell: Shell) async throws {
        // What `clear` writes on an xterm-like terminal: home, erase the screen, erase the scrollback.
        if shell.style.terminal { shell.write("\u{1B}[H\u{1B}[2J\u{1B}[3J") }
    }
}

struct SleepVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "sleep",
        abstract: "Wait SECONDS (in scripts and demos: give health checks time to notice).",
        discussion: """
        Example:
          kill web-01; sleep 7; status
        """)
    static let group = VerbGroup.shell
    @Argument(help: "Seconds to wait, e.g. 2 or 0.5 (at most 3600).") var seconds: Double

    func validate() throws {
        guard seconds >= 0, seconds <= 3600 else { throw ValidationError("seconds must be between 0 and 3600, e.g. 'sleep 2'") }
    }

    func execute(in shell: Shell) async throws {
        try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
    }
}

struct WatchVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Run a command again and again (every 2 s, or SECONDS) until Ctrl-C.",
        discussion: """
        On a terminal the screen is redrawn each time, like the Unix watch command.

        Examples:
          watch status
          watch 1 diagram
          watch --times 3 1 status      (three times, then stop: for scripts)
        """)
    static let group = VerbGroup.shell
    @Option(help: "Stop after this many runs (for scripts).") var times: Int?
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("[SECONDS] COMMAND ...", valueName: "command")) var words: [String] = []

    func execute(in shell: Shell) async throws {
        var words = self.words
        var interval = 2.0
        if let first = words.first, let seconds = Double(first) {
            guard seconds >= 0.1, seconds <= 3600 else { throw ShellError("the interval must be between 0.1 and 3600 seconds, e.g. 'watch 1 status'") }
            interval = seconds
            words.removeFirst()
        }
        guard let verbName = words.first else { throw ShellError.usage("name a command to repeat, e.g. 'watch 1 status'") }
        guard let type = VerbTable.verb(named: verbName) else {
            let near = Suggestions.nearest(verbName, in: VerbTable.names).map { " — did you mean '\($0)'?" } ?? ""
            throw ShellError("unknown command '\(verbName)'\(near)")
        }
        guard type != WatchVerb.self, type != QuitVerb.self else { throw ShellError("'watch' repeats a command that shows something, e.g. 'watch 1 status'") }
        if let times, times < 1 { throw ShellError.usage("--times needs 1 or more") }
        let text = words.joined(separator: " ")
        let command = CommandLineText.Command(words: words, rest: words.dropFirst().joined(separator: " "), text: text)
        let verb: any ShellVerb
        switch Shell.parse(type, command: command, width: shell.style.width) {
        case .verb(let parsed): verb = parsed
        case .help(let message): throw ShellError(message)
        case .error(let message): throw ShellError(message)
        }
        var run = 0
        while times.map({ run < $0 }) ?? true {
            try Task.checkCancellation()
            let header = "every \(interval.formatted(.number.precision(.fractionLength(0...1))))s: \(text)    \(Date().formatted(date: .omitted, time: .standard))"
            if shell.style.terminal { shell.write("\u{1B}[H\u{1B}[2J") }
            shell.say(shell.style.dim(header))
            try await verb.execute(in: shell)
            run += 1
            if times.map({ run >= $0 }) ?? false { break }
            try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
        }
    }
}
