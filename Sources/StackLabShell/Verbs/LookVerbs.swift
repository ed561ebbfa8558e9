import ArgumentParser
import Foundation
import StackLab

struct StatusVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Every server and process: state, address, health checks, connections, requests, errors.",
        discussion: """
        STATE is what the process is doing: running, hung (accepts connections, never answers), slow, stopped, crashed.
        CHECK BY lb-01 is what the balancer's health checks think of the web server behind that address, in HAProxy's
        words: UP, DOWN, "UP 2/3" (checks are failing; DOWN after a few more), "DOWN 1/2" (coming back).

        Example:
          status
        """)
    static let group = VerbGroup.look

    func execute(in shell: Shell) async throws {
        shell.write(StatusView(lab: shell.lab).render(style: shell.style))
    }
}

struct DiagramVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "diagram",
        abstract: "Draw the servers and the links between them, with what is up and where requests went.",
        discussion: """
        The balancer is on top, the servers it balances below. Each link shows the balancer's health check status and
        how many requests it sent that way; "◀ last" marks where the newest request went.

        Example:
          diagram
          watch 1 diagram
        """)
    static let group = VerbGroup.look

    func execute(in shell: Shell) async throws {
        shell.write(Diagram(lab: shell.lab).render(style: shell.style))
    }
}

struct LogsVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show a process's log in its real format; -f follows new lines until Ctrl-C.",
        discussion: """
        TARGET is a process (web-01/nginx) or a whole server (web-01: every process on it). For nginx both logs are
        shown: the access log (one line per request, "combined" format) and the error log.

        Examples:
          logs lb-01
          logs web-02/nginx -n 20
          logs web-01 -f
        """)
    static let group = VerbGroup.look

    @Argument(help: "A server (web-01) or a process (web-01/nginx).") var target: String
    @Flag(name: .shortAndLong, help: "Keep printing new lines as they come, until Ctrl-C.") var follow = false
    @Option(name: .short, help: "How many of the last lines to show.") var n: Int = 10

    func execute(in shell: Shell) async throws {
        guard n >= 0 else { throw ShellError.usage("-n needs a count of lines, 0 or more (e.g. -n 20)") }
        let lab = shell.lab
        let target = try lab.target(self.target)
        let books = LogsVerb.books(for: target, in: lab)
        for (title, book) in books {
            shell.say(shell.style.bold("==> \(title) <=="))
            let lines = book.history(n)
            if lines.isEmpty { shell.say(shell.style.dim("(empty)")) }
            for line in lines { shell.say(line) }
        }
        guard follow else { return }
        shell.say(shell.style.dim("following \(books.map(\.title).joined(separator: ", ")) — Ctrl-C to stop"))
        let output = shell.output
        let streams = books.map { (prefix: books.count > 1 ? "\($0.title): " : "", stream: $0.book.follow()) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (prefix, stream) in streams {
                group.addTask {
                    for await line in stream { output.write(prefix + line + "\n") }
                }
            }
            // Wait for Ctrl-C (cancellation); the streams themselves never end while the lab runs.
            group.addTask { try await Task.sleep(nanoseconds: .max / 2) }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The log books of a target, titled like files: `web-01/nginx access.log`.
    @MainActor static func books(for target: Target, in lab: Lab) -> [(title: String, book: LogBook)] {
        var books: [(String, LogBook)] = []
        for process in lab.processes(for: target) {
            for (stream, book) in process.logBooks {
                books.append((process.name + (stream.map { " \($0).log" } ?? ""), book))
            }
        }
        return books
    }
}
