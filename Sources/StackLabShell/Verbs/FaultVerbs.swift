import ArgumentParser
import Foundation
import StackLab
import StackLabCourse

/// What a learner should expect after a fault, in one line.
@MainActor
enum FaultWords {
    static func apply(_ fault: Lab.Fault, to text: String, in shell: Shell, done: String, expect: String) async throws {
        let lab = shell.lab
        let target = try lab.target(text)
        let processes = lab.processes(for: target)
        guard !processes.isEmpty else { throw ShellError("\(target) runs no processes") }
        let already = processes.filter { !$0.state.isListening }
        if fault != .revive, already.count == processes.count {
            throw ShellError("\(target) is already \(processes[0].state) — 'revive \(target)' starts it again")
        }
        try await lab.apply(fault, to: target)
        shell.report(.fault(FaultFact(fault: fault.factName, target: text, processes: processes.map(\.name))))
        let names = processes.map(\.name).joined(separator: ", ")
        shell.say("\(names): \(done)")
        if !expect.isEmpty { shell.say(shell.style.dim(expect)) }
    }

    static func checkNote(_ lab: Lab, _ target: String) -> String {
        guard let balancer = lab.balancers.first, let server = balancer.config.backends.first?.servers.first else { return "" }
        return "\(balancer.serverName) checks every \(server.inter) ms and marks a server DOWN after \(server.fall) failed checks "
            + "— watch it with 'status'."
    }
}

struct KillVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "kill",
        abstract: "Crash a process or a whole server: its ports close, open connections are reset.",
        discussion: """
        Like `kill -9` or pulling the power cord: clients that try to connect are refused at once.

        Examples:
          kill web-01/nginx
          kill web-02
        """)
    static let group = VerbGroup.breakIt
    @Argument(help: "A server (web-01) or a process (web-01/nginx).") var target: String

    func execute(in shell: Shell) async throws {
        try await FaultWords.apply(.crash, to: target, in: shell, done: "crashed (port closed, connections reset)",
                                   expect: FaultWords.checkNote(shell.lab, target))
    }
}

struct StopVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a process or server gracefully: it finishes what it is doing, then closes its ports.",
        discussion: """
        Like `systemctl stop`: requests in progress still get their answer.

        Example:
          stop web-01/gunicorn
        """)
    static let group = VerbGroup.breakIt
    @Argument(help: "A server (web-01) or a process (web-01/nginx).") var target: String

    func execute(in shell: Shell) async throws {
        try await FaultWords.apply(.stop, to: target, in: shell, done: "stopped", expect: "")
    }
}

struct HangVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "hang",
        abstract: "Freeze a process or server: it still accepts connections but never answers.",
        discussion: """
        The worst kind of failure: nothing is refused, clients just wait until their own timeout (a 504 from nginx,
        L7TOUT in the balancer's health checks).

        Example:
          hang web-02/gunicorn
        """)
    static let group = VerbGroup.breakIt
    @Argument(help: "A server (web-01) or a process (web-01/nginx).") var target: String

    func execute(in shell: Shell) async throws {
        try await FaultWords.apply(.hang, to: target, in: shell, done: "hung (accepts connections, never answers)",
                                   expect: "clients now wait for their timeout; 'revive \(target)' unfreezes it")
    }
}

struct SlowVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "slow",
        abstract: "Make a process or server answer MS milliseconds late.",
        discussion: """
        Example:
          slow web-01/gunicorn 500
          load -n 100        (then compare web-01 and web-02 latency)
        """)
    static let group = VerbGroup.breakIt
    @Argument(help: "A server (web-01) or a process (web-01/nginx).") var target: String
    @Argument(help: "The delay in milliseconds (1 to 600000).") var milliseconds: Int

    func validate() throws {
        guard (1...600_000).contains(milliseconds) else {
            throw ValidationError("the delay must be between 1 and 600000 milliseconds, e.g. 'slow \(target) 500'")
        }
    }

    func execute(in shell: Shell) async throws {
        try await FaultWords.apply(.slow(milliseconds: milliseconds), to: target, in: shell,
                                   done: "slow: every answer \(milliseconds) ms late", expect: "")
    }
}

struct ReviveVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "revive",
        abstract: "Bring a process or server back (a crashed or stopped one starts again); no target: everything.",
        discussion: """
        A restarted process gets a new PID. The balancer only sends it traffic again after its health checks pass
        ("DOWN 1/2" then "UP" in status).

        Examples:
          revive web-01/nginx
          revive web-02
          revive
        """)
    static let group = VerbGroup.fix
    @Argument(help: "A server (web-01) or a process (web-01/nginx); leave out to revive everything.") var target: String?

    func execute(in shell: Shell) async throws {
        guard let target else {
            try await shell.lab.reviveAll()
            shell.report(.fault(FaultFact(fault: "revive", target: "everything", processes: shell.lab.processes.map(\.name))))
            shell.say("every process is running again; partitions healed")
            return
        }
        try await FaultWords.apply(.revive, to: target, in: shell, done: "running", expect: "")
    }
}

struct PartitionVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "partition",
        abstract: "Cut the network between two servers: connections between them time out.",
        discussion: """
        Both servers keep running; they just cannot reach each other, as if a cable or switch failed. Connection
        attempts get no answer at all (not refused), so the caller waits for its connect timeout.

        Example:
          partition lb-01 web-01
          heal lb-01 web-01
        """)
    static let group = VerbGroup.breakIt
    @Argument(help: "A server.") var a: String
    @Argument(help: "Another server.") var b: String

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        let first = try lab.target(a), second = try lab.target(b)
        guard case .server(let x) = first, case .server(let y) = second else {
            throw ShellError("a partition is between two servers, not processes — e.g. 'partition lb-01 web-01'")
        }
        guard x != y else { throw ShellError("name two different servers, e.g. 'partition lb-01 web-01'") }
        lab.partition(x, y)
        shell.say("\(x) and \(y) can no longer reach each other (connections time out). 'heal \(x) \(y)' restores the link.")
    }
}

struct HealVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "heal",
        abstract: "Restore the network between two servers; no servers: every partition.",
        discussion: """
        Examples:
          heal lb-01 web-01
          heal
        """)
    static let group = VerbGroup.fix
    @Argument(help: "A server.") var a: String?
    @Argument(help: "Another server.") var b: String?

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        guard let a else {
            let count = lab.network.activePartitions.count
            lab.healAll()
            shell.say(count == 0 ? "there was no partition" : "healed \(count) partition\(count == 1 ? "" : "s")")
            return
        }
        guard let b else { throw ShellError("name both servers, e.g. 'heal lb-01 web-01', or none to heal every partition") }
        guard case .server(let x) = try lab.target(a), case .server(let y) = try lab.target(b) else {
            throw ShellError("a partition is between two servers, not processes — e.g. 'heal lb-01 web-01'")
        }
        guard lab.network.isPartitioned(x, y) else {
            let active = lab.network.activePartitions.map { "\($0.0)–\($0.1)" }
            throw ShellError("\(x) and \(y) are not partitioned" + (active.isEmpty ? " (there is no partition)" : " — partitions: \(active.joined(separator: ", "))"))
        }
        lab.heal(x, y)
        shell.say("\(x) and \(y) can reach each other again")
    }
}

struct ResetVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Start the whole lab again from its files: every fault, partition and counter gone.",
        discussion: """
        Example:
          reset
        """)
    static let group = VerbGroup.fix

    func execute(in shell: Shell) async throws {
        do {
            try await shell.session.reset()
        } catch {
            throw ShellError("could not start the lab again: \(error)")
        }
        shell.say("lab \(shell.lab.topology.name) started again in \(shell.session.startMilliseconds) ms — everything is fresh")
    }
}
