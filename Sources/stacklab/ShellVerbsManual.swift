import ArgumentParser
import Foundation
import StackLabShell

/// The shell's verbs as one command tree, for the man page's SHELL COMMANDS section: `make dist` runs
/// swift-argument-parser's generate-manual on `stacklab` with STACKLAB_MANUAL=shell-verbs set, so the section comes
/// from the verbs' own declarations, as `help VERB` does.
struct ShellVerbsManual: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stacklab-shell",
        abstract: "The commands of the stacklab shell.",
        discussion: """
        The shell (stacklab, stacklab shell, stacklab lesson N) reads these commands, one per line or several \
        separated by ';'; a command ending in '&' runs in the background. Inside, 'help' lists them and 'help COMMAND' \
        explains one. Tab completes commands, servers and files.
        """,
        subcommands: VerbTable.all.map { $0 as any ParsableCommand.Type })

    /// True when this run only prints the verbs' definitions (it has then printed them).
    static func dumpIfAsked() -> Bool {
        guard ProcessInfo.processInfo.environment["STACKLAB_MANUAL"] == "shell-verbs" else { return false }
        main(Array(CommandLine.arguments.dropFirst()))
        return true
    }
}
