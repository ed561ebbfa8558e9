import ArgumentParser
import Foundation
import StackLab
import StackLabCourse

/// What a learner should expect after a fault, in one line.
@MainActor
enum FaultWords {
    /// Applies a fault and says what was done; `expect` (given the processes hit) says what the learner will see.
    static func apply(_ fault: Lab.Fault, to text: String, in shell: Shell, done: String,
                      expect: @MainActor ([any LabProcess]) -> [String] = { _ in [] }) async throws {
        let lab = shell.lab
        let target = try lab.target(text)
        let processes = lab.processes(for: target)
        guard !processes.isEmpty else { throw ShellError("\(target) runs no processes") }
        let already = processes.filter { !$0.state.isListening }
        if fault != .revive, already.count == processes.count {
            throw ShellError("\(target) is already \(processes[0].state) — 'revive \(target)' starts it again")
        }
        // What follows depends on the lab before the fault (which store is the primary, who checks whom).
        let notes = expect(processes)
        try await lab.apply(fault, to: target)
        shell.report(.fault(FaultFact(fault: fault.factName, target: text, processes: processes.map(\.name))))
        let names = processes.map(\.name).joined(separator: ", ")
        shell.say(TerminalText.wrapStyled("\(names): \(done)", width: shell.style.width, indent: "  "))
        for note in notes { shell.say(shell.style.dim(TerminalText.wrapStyled(note, width: shell.style.width, indent: "  "))) }
    }

    /// What a crash of these processes does to the site, in the lab as it is: the balancer gone (the only way in), a
    /// checked server (the health checks that will notice it, with that server's own inter and fall), a database
    /// (the app's reads or writes that now fail). Nothing is said that the lab would not show.
    static func crashNotes(_ processes: [any LabProcess], in lab: Lab) -> [String] {
        let names = Set(processes.map(\.name))
        var notes: [String] = []
        let balancers = lab.processes.filter { $0.kind == .haproxy }
        let hitBalancers = balancers.filter { names.contains($0.name) }
        if !hitBalancers.isEmpty, !balancers.contains(where: { !names.contains($0.name) && $0.state.isListening }) {
            let name = hitBalancers[0].serverName
            notes.append("\(name) was the site's only way in: every request to the site is refused now. Try: curl /")
        }
        for balancer in lab.balancers where !names.contains("\(balancer.serverName)/haproxy") {
            for backend in balancer.config.backends {
                for server in backend.servers where server.check && checkReaches(server, backend: backend, names: names, in: lab) {
                    notes.append("\(balancer.serverName) checks \(server.name) every \(Self.duration(server.inter)) and marks it DOWN after "
                        + "\(server.fall) failed checks in a row — watch it with 'status'.")
                }
            }
        }
        for process in processes where process.kind == .mysql {
            let (reads, writes) = appUse(of: process, in: lab)
            guard reads || writes else { continue }
            let use = reads && writes ? "reads and writes posts" : reads ? "reads posts" : "writes new posts"
            let example = writes ? "curl -d 'author=ann&body=hi' /api/posts" : "curl /api/posts"
            notes.append("The app \(use) on \(process.name): that fails now. Try: \(example)")
        }
        return notes
    }

    /// `2000` → `2 s`, `500` → `500 ms` (HAProxy's `inter`, in milliseconds).
    static func duration(_ milliseconds: Int) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }

    /// Whether a health check of `server` touches one of `names`: the process listening at the checked address, or,
    /// when that is an nginx whose location for the check's URI proxies, the app server on the same machine.
    static func checkReaches(_ server: HAProxyConfig.Server, backend: HAProxyConfig.Backend, names: Set<String>, in lab: Lab) -> Bool {
        guard let host = lab.topology.servers.first(where: { $0.address == server.host }) else { return false }
        let listening = lab.processes(on: host.name).first { StatusView.configuredPorts(of: $0, in: lab.definition).contains(server.port) }
        guard let listening else { return false }
        if names.contains(listening.name) { return true }
        guard listening.kind == .nginx, let nginx = lab.definition.nginx[host.name] else { return false }
        // HAProxy's default check is `OPTIONS /`.
        let uri = backend.httpCheck?.uri ?? "/"
        let location = nginx.servers.first { $0.listens.contains { $0.port == server.port } }?.location(for: uri)
        guard location?.proxyPass != nil else { return false }
        return lab.processes(on: host.name).contains { $0.kind == .gunicorn && names.contains($0.name) }
    }

    /// Whether the lab's apps read from or write to this store (gunicorn's DB_REPLICA and DB_PRIMARY).
    static func appUse(of store: any LabProcess, in lab: Lab) -> (reads: Bool, writes: Bool) {
        guard let config = lab.definition.mysql[store.serverName],
              let address = lab.topology.servers.first(where: { $0.name == store.serverName })?.address else { return (false, false) }
        let here = "\(address):\(config.port)"
        var reads = false, writes = false
        for app in lab.definition.gunicorn.values {
            let primaries = (app.environment["DB_PRIMARY"] ?? "").split(separator: ",").map { String($0).trimmingSpaces }
            // Writes go to the first primary that takes them; with one primary, all of them.
            if primaries.first == here { writes = true }
            if (app.environment["DB_REPLICA"] ?? primaries.first) == here { reads = true }
        }
        return (reads, writes)
    }
}

struct KillVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "kill",
        abstract: "Crash a process or a whole server: its ports close, open connections are reset.",
        discussion: """
        Like `kill -9` or pulling the power cord: clients that try to connect are refused at once. 'kill %N' stops \
        background job N instead (see 'jobs'), as in a Unix shell.

        Examples:
          kill web-01/nginx
          kill web-02
          kill %1
        """)
    static let group = VerbGroup.breakIt
    @Argument(help: "A server (web-01), a process (web-01/nginx) or a background job (%1).") var target: String

    func execute(in shell: Shell) async throws {
        if target.hasPrefix("%") {
            guard let number = Int(target.dropFirst()), await shell.jobs.stop(number) else {
                let running = shell.jobs.running.map { "%\($0.number) \($0.command)" }
                throw ShellError("there is no background job \(target) — "
                    + (running.isEmpty ? "none is running" : "running: " + running.joined(separator: ", ")))
            }
            return
        }
        let lab = shell.lab
        try await FaultWords.apply(.crash, to: target, in: shell, done: "crashed (port closed, connections reset)") {
            FaultWords.crashNotes($0, in: lab)
        }
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
        try await FaultWords.apply(.stop, to: target, in: shell, done: "stopped")
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
        try await FaultWords.apply(.hang, to: target, in: shell, done: "hung (accepts connections, never answers)") { [target] _ in
            ["clients now wait for their timeout; 'revive \(target)' unfreezes it"]
        }
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
                                   done: "slow: every answer \(milliseconds) ms late")
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
        try await FaultWords.apply(.revive, to: target, in: shell, done: "running")
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
    @Argument(help: ArgumentHelp("A server.", valueName: "server")) var a: String
    @Argument(help: ArgumentHelp("Another server.", valueName: "other-server")) var b: String

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        let first = try lab.target(a), second = try lab.target(b)
        guard case .server(let x) = first, case .server(let y) = second else {
            throw ShellError("a partition is between two servers, not processes — e.g. 'partition lb-01 web-01'")
        }
        guard x != y else { throw ShellError.usage("name two different servers, e.g. 'partition lb-01 web-01'") }
        lab.partition(x, y)
        shell.tell("\(x) and \(y) can no longer reach each other (connections time out). 'heal \(x) \(y)' restores the link.")
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
    @Argument(help: ArgumentHelp("A server.", valueName: "server")) var a: String?
    @Argument(help: ArgumentHelp("Another server.", valueName: "other-server")) var b: String?

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        guard let a else {
            let count = lab.network.activePartitions.count
            lab.healAll()
            shell.say(count == 0 ? "there was no partition" : "healed \(count) partition\(count == 1 ? "" : "s")")
            return
        }
        guard let b else { throw ShellError.usage("name both servers, e.g. 'heal lb-01 web-01', or none to heal every partition") }
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
        The databases start again as init.sql makes them: each store's data folder is removed first (a lab \
        folder's logs are kept, as a server keeps its log files). To restart processes and keep the data, use \
        'revive' after 'stop'.

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
        shell.tell("lab \(shell.lab.topology.name) started again in \(shell.session.startMilliseconds) ms — everything fresh, "
            + "databases from init.sql")
    }
}
