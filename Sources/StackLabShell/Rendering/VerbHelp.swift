import ArgumentParser

/// The words of `help VERB` and of usage errors, from each verb's swift-argument-parser declaration, fitted to the
/// terminal: the abstract and discussion reflowed (example lines kept), then usage and the argument and option lists
/// as swift-argument-parser lays them out at that width, without the shell's unused `--help` line or an empty section.
enum VerbHelp {
    /// `parent` is the verb of a subcommand (`lab` of `lab init`).
    static func full(for type: any ParsableCommand.Type, parent: (any ParsableCommand.Type)? = nil, width: Int, style: Style) -> String {
        let configuration = type.configuration
        var out = TerminalText.wrapStyled(style.bold(configuration.abstract), width: width) + "\n"
        if !configuration.discussion.isEmpty {
            out += "\n" + TerminalText.prose(configuration.discussion, width: width) + "\n"
        }
        let usage = (parent.map { $0._commandName + " " } ?? "") + type.usageString()
        out += "\n" + usageLine(usage, width: width) + "\n"
        let generated = type.helpMessage(columns: width)
        // Everything after the usage line(s): ARGUMENTS:, OPTIONS:, SUBCOMMANDS: sections.
        let lines = generated.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let usage = lines.lastIndex(where: { $0.hasPrefix("USAGE:") }),
           let blank = lines[usage...].firstIndex(where: { $0.trimmingSpaces.isEmpty }) {
            let rest = sections(Array(lines[blank...]))
            if !rest.isEmpty { out += "\n" + rest + "\n" }
        }
        return out.hasSuffix("\n") ? out : out + "\n"
    }

    /// A verb's subcommand by name (`init` of `lab`).
    static func subcommand(of type: any ParsableCommand.Type, named name: String?) -> (any ParsableCommand.Type)? {
        guard let name else { return nil }
        return type.configuration.subcommands.first { $0._commandName == name }
    }

    static func subcommandNames(of type: any ParsableCommand.Type) -> [String] {
        var names: [String] = []
        for sub in type.configuration.subcommands { names.append(sub._commandName) }
        return names
    }

    /// `usage: load [-n <n>] …`, wrapped under itself.
    static func usage(for type: any ShellVerb.Type, width: Int) -> String {
        usageLine(type.usageString(), width: width)
    }

    private static func usageLine(_ usage: String, width: Int) -> String {
        let verb = usage.prefix { $0 != " " }
        return TerminalText.wrapStyled(usage, width: width, lead: "usage: ", indent: String(repeating: " ", count: 7 + verb.count + 1))
    }

    /// A usage error, the same for every verb: what was wrong, the short usage, and where the whole help is.
    static func usageError(_ error: any Error, for type: any ShellVerb.Type, width: Int) -> String {
        // swift-argument-parser knows which subcommand's usage fits (`lab init <directory>`).
        let full = type.fullMessage(for: error, columns: 10_000)
        let usage = full.split(separator: "\n").first { $0.lowercased().hasPrefix("usage: ") }
            .map { String($0.dropFirst("usage: ".count)).trimmingSpaces } ?? type.usageString()
        return usageError(type.message(for: error), usage: usage, verb: type._commandName, width: width)
    }

    /// A verb's own usage error (`ShellError(usage:)`): the message, then the same usage lines.
    static func usageError(_ message: String, for type: any ShellVerb.Type, width: Int) -> String {
        usageError(message, usage: type.usageString(), verb: type._commandName, width: width)
    }

    private static func usageError(_ message: String, usage: String, verb: String, width: Int) -> String {
        var text = message.trimmingSpaces
        // swift-argument-parser's sentences start with a capital; the shell's errors do not.
        if let first = text.first, first.isUppercase, text.dropFirst().first?.isLowercase == true {
            text = first.lowercased() + text.dropFirst()
        }
        let usageText = usage.hasPrefix(verb) ? usage : verb + " " + usage
        return text + "\n" + usageLine(usageText, width: width) + "\n"
            + "'help \(verb)' explains it"
    }

    /// The generated sections without `-h, --help` (the shell has `help VERB`) and without a heading left empty.
    private static func sections(_ lines: [String]) -> String {
        var kept: [String] = []
        var skippingHelp = false
        for line in lines {
            // swift-argument-parser's pointer to `VERB help SUB`; the shell says `help VERB SUB`.
            if line.trimmingSpaces.hasPrefix("See '") && line.contains("help <subcommand>") {
                let verb = line.trimmingSpaces.dropFirst("See '".count).prefix { $0 != " " }
                kept.append("'help \(verb) SUBCOMMAND' explains one.")
                continue
            }
            if line.trimmingSpaces.hasPrefix("-h, --help") {
                skippingHelp = true
                continue
            }
            // A wrapped continuation of the help line.
            if skippingHelp, line.hasPrefix("      ") { continue }
            skippingHelp = false
            kept.append(line)
        }
        var out: [String] = []
        var index = 0
        while index < kept.count {
            let line = kept[index]
            let isHeading = line.hasSuffix(":") && !line.hasPrefix(" ")
            if isHeading {
                let body = kept[(index + 1)...].prefix { !($0.hasSuffix(":") && !$0.hasPrefix(" ")) }
                if body.allSatisfy({ $0.trimmingSpaces.isEmpty }) {
                    index += 1 + body.count
                    continue
                }
            }
            out.append(line)
            index += 1
        }
        while out.last?.trimmingSpaces.isEmpty == true { out.removeLast() }
        while out.first?.trimmingSpaces.isEmpty == true { out.removeFirst() }
        return out.joined(separator: "\n")
    }
}
