import ArgumentParser
import Foundation
import StackLab
import StackLabCourse

struct TapVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "tap",
        abstract: "Watch what crosses a hop, message by message, as it happens (Ctrl-C to stop).",
        discussion: """
        HOP is FROM>TO: internet>lb-01, lb-01>web-01, web-01>web-01/mysql, web-02>web-01/mysql; or just a server or
        a process (web-01/mysql: everyone who talks to it). Each message shows its direction and size, then what it
        says: text as text (HTTP headers, form bodies — passwords included), MySQL packets as commands (COM_QUERY and
        its SQL), TLS as record headers only (type, version, length: the rest is ciphertext), anything else as a
        hex/ASCII excerpt. Connections that are already open (kept-alive ones between the servers) are tapped too.

        Examples:
          tap internet>lb-01
          tap web-01>web-01/mysql -n 10
        """)
    static let group = VerbGroup.look

    @Argument(help: "FROM>TO (internet>lb-01), or a server or process (web-01/mysql).") var hop: String
    @Option(name: .short, help: "Stop after this many messages.") var n: Int?

    func execute(in shell: Shell) async throws {
        if let n, n < 1 { throw ShellError.usage("-n needs a count of messages, 1 or more") }
        let tap = try shell.lab.tap(hop)
        defer { tap.stop() }
        let stop = shell.jobNumber.map { "'kill %\($0)' stops it" } ?? "Ctrl-C to stop"
        shell.say(shell.style.dim("tapping \(tap.selector) — every message as it crosses; \(stop)"))
        var seen = 0
        for await message in tap.messages {
            let headline = message.headline.split(separator: " ").map { shell.style.paint(String($0), message.toServer ? "36" : "35") }
                .joined(separator: " ") + " " + shell.style.dim("[\(message.kind.rawValue)]")
            shell.say(TerminalText.wrapStyled(headline, width: shell.style.width, indent: "  "))
            for line in message.lines { shell.say("    " + line) }
            shell.report(.tap(TapFact(kind: message.kind.rawValue, text: message.text)))
            seen += 1
            if let n, seen >= n { break }
        }
    }
}

struct UFWVerb: RawTextVerb {
    static let configuration = CommandConfiguration(
        commandName: "ufw",
        abstract: "A server's firewall, with ufw's commands: status, enable, allow, deny, reject, limit, delete N …",
        discussion: """
        The same commands as on a real server, after the server's name. Rules are checked in order, the first match
        wins, then the default policy. Sources are real: lb-01 connects from 127.0.1.1, the internet from 127.0.0.1;
        a server's own traffic (nginx → gunicorn on web-01) is always allowed, as ufw allows the loopback interface.

        deny drops: the client hears nothing and waits for its timeout (the lab filters its listening sockets in the
        kernel, so real curl and nmap time out too). reject refuses: the lab's own connections are refused at once;
        an outside client is accepted by the kernel, then reset at once ("Connection reset by peer"), the nearest a
        program without root can come. limit allows, but refuses a source's 6th connection within 30 s.

        Changes last until 'reset'; to keep a rule, write it in SERVER/ufw.rules in the lab folder.
        'ufw SERVER log' shows the firewall's log (/var/log/ufw.log on a real server): [UFW BLOCK] lines.

        Examples:
          ufw web-01 status verbose
          ufw web-01 default deny incoming
          ufw web-01 allow from 127.0.1.1 to any port 8080 proto tcp
          ufw web-01 enable
          ufw web-01 status numbered
          ufw web-01 delete 2
          ufw web-01 reject 3306
          ufw web-01 log
        """)
    static let group = VerbGroup.fix
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("SERVER COMMAND…: a server, then ufw's words.", valueName: "server-and-command"))
    var words: [String] = []
    var rawText = ""

    init() {}
    init(rawText: String, words: [String]) {
        self.rawText = rawText
        self.words = words
    }

    enum CodingKeys: CodingKey { case words }

    func execute(in shell: Shell) async throws {
        guard let server = words.first else { throw ShellError.usage("say which server: ufw web-01 status") }
        let firewall = try shell.lab.firewall(server)
        var command = Array(words.dropFirst())
        if command.first == "--force" { command.removeFirst() }
        if command.isEmpty { command = ["status"] }
        if command.first == "log" {
            let lines = firewall.log.tail(command.count > 1 ? Int(command[1]) ?? 20 : 20)
            if lines.isEmpty { shell.say(shell.style.dim("(no blocked connections logged on \(firewall.serverName))")) }
            for line in lines { shell.say(line) }
            return
        }
        do {
            let output = try firewall.run(try UFWCommandParser.parse(command))
            shell.write(output.hasSuffix("\n") || output.isEmpty ? output : output + "\n")
        } catch let error as UFWError {
            throw ShellError(error.message)
        }
    }
}

struct ScanVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Probe a server's ports from the internet (127.0.0.1), like nmap's connect scan: open, closed, filtered.",
        discussion: """
        open: something accepted the connection. closed: refused at once (nothing listens, or the firewall rejects).
        filtered: no answer at all (the firewall drops it). Ports are the ones the lab's files name (3306, 8080);
        with --port-base the real ports are higher, and shown in their own column. Without a target, every server
        is scanned; without ports, the common ones and every port the lab listens on.

        Examples:
          scan
          scan web-01
          scan web-01 3306
          scan 127.0.1.1 8000-8100
        """)
    static let group = VerbGroup.look

    @Argument(help: "A server (web-01) or an address (127.0.1.11).") var target: String?
    @Argument(help: "Ports: 3306, 22,80,443 or 8000-8100.") var ports: String?
    @Option(name: .long, help: "Milliseconds to wait for an answer before calling a port filtered.") var timeout: Int = 1500

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        guard (50...30_000).contains(timeout) else { throw ShellError("--timeout is in milliseconds, 50 to 30000") }
        var targets: [(name: String?, address: String)] = []
        if let target {
            if let server = lab.topology.server(named: target) {
                targets = [(server.name, server.address)]
            } else if UFWRule.Network.parse(target) != nil, target.hasPrefix("127.") {
                targets = [(lab.topology.servers.first { $0.address == target }?.name, target)]
            } else {
                let names = lab.topology.servers.map(\.name)
                let near = Suggestions.nearest(target, in: names).map { " (did you mean '\($0)'?)" } ?? ""
                throw ShellError("'\(target)' is not a server or a loopback address\(near) — servers: \(names.joined(separator: ", "))")
            }
        } else {
            targets = lab.topology.servers.map { ($0.name, $0.address) }
        }
        var list = Scanner.defaultPorts(in: lab)
        if let ports {
            guard let parsed = Scanner.ports(ports) else { throw ShellError("'\(ports)' is not a port list: write 3306, 22,80,443 or 8000-8100") }
            // The lab's ports are moved by --port-base; one moved past 65535 does not exist.
            if let beyond = parsed.last(where: { !(1...65535).contains(lab.network.port($0)) }) {
                throw ShellError(PortPlanError(configured: beyond, offset: lab.network.portOffset, largestBase: 65535 - beyond).description)
            }
            list = parsed
        }
        let started = ContinuousClock.now
        let portList = list, timeout = self.timeout
        for (name, address) in targets {
            let results = try await cancellable { await Scanner.scan(lab, address: address, ports: portList, timeoutMilliseconds: timeout) }
            shell.say("scan report for \(name.map { "\($0) (\(address))" } ?? address), from the internet (\(LabNetwork.internetAddress))")
            shell.write(Scanner.render(results, showRealPorts: lab.network.portOffset != 0))
            shell.report(.scan(ScanFact(server: name ?? address, ports: results.map { ScanFact.Port(port: $0.port, state: $0.state.rawValue) })))
            shell.say("")
        }
        shell.say(shell.style.dim("done: \(targets.count) host\(targets.count == 1 ? "" : "s") scanned in \(started.milliseconds) ms"))
    }
}

struct TLSVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "tls",
        abstract: "Where the lab speaks HTTPS, its certificate authority, and how to make curl or a browser trust it.",
        discussion: """
        A lab that names TLS files (haproxy.cfg: bind … ssl crt FILE; nginx.conf: ssl_certificate) gets them minted
        at its first start, signed by the lab's own certificate authority, ca.pem in the lab folder. Nothing on
        this machine trusts that CA until told to: curl --cacert, openssl -CAfile, a browser's certificate settings.

        Example:
          tls
        """)
    static let group = VerbGroup.look

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        let addresses = lab.tlsAddresses
        guard !addresses.isEmpty else {
            shell.say("this lab speaks plain HTTP only: nothing is encrypted (see 'tap internet>lb-01').")
            shell.say("The hardened lab has HTTPS at lb-01: lab init --hardened DIR, then lab load DIR.")
            return
        }
        for (server, address) in addresses { shell.say("HTTPS on \(server) at \(address) (TLS 1.2 and 1.3)") }
        for minted in lab.mintedTLS { shell.say(shell.style.dim("minted at start: \(minted.path)")) }
        shell.say(TLSMaterial.trustHint(labDirectory: lab.definition.directory, address: addresses[0].address))
    }
}
