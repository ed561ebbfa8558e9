import ArgumentParser
import Foundation
import StackLab

/// The monitor the learner started with `monitor on`, and the task that prints its alert events as they happen.
@MainActor
public final class MonitorSession {
    public let monitor: Monitor
    private var notices: Task<Void, Never>?
    /// Set while `top` draws the screen: it shows alerts itself, and a notice line would break its frame.
    var paused = false

    init(monitor: Monitor, shell: Shell) {
        self.monitor = monitor
        let stream = monitor.events()
        notices = Task { @MainActor [weak self, weak shell] in
            for await event in stream {
                guard let self, let shell, !self.paused else { continue }
                shell.notify(event)
            }
        }
    }

    func stop() async {
        await monitor.stop()
        notices?.cancel()
        notices = nil
    }
}

extension LabSession {
    /// Stops the learner's monitor (before the lab it watches is replaced or stopped).
    func stopMonitor() async {
        guard let monitoring else { return }
        self.monitoring = nil
        await monitoring.stop()
    }
}

extension Shell {
    /// An alert event as a notification line.
    func notify(_ event: AlertEvent) {
        let tone: (String) -> String = switch event.kind {
        case .firing: style.red
        case .pending: style.yellow
        case .resolved, .inactive: style.green
        }
        // On a terminal, a line that comes while the prompt is up is printed above it (see `StandardOutput`).
        refreshPrompt()
        say(tone(TerminalText.wrapStyled("[\(TopView.clock(event.time))] \(event.description)", width: style.width, indent: "    ")))
    }

}

struct MonitorVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Add a monitor (a Prometheus-like server on 127.0.1.20) that scrapes every process and raises alerts.",
        discussion: """
        The design has no monitoring: kill web-02 and the balancer quietly routes around it. 'monitor on' starts a
        monitor that scrapes every process's /metrics each second, records up{job,instance} and evaluates the alert
        rules in the lab's monitor/alerts.yml (Prometheus rule-file format; built-in: InstanceDown, up == 0 for 5s).
        Alerts go pending, then firing, then resolved; each change is printed as it happens.

        Examples:
          monitor on
          monitor            (the targets and whether their last scrape worked)
          monitor off
        """)
    static let group = VerbGroup.look
    @Argument(help: "on, off, or nothing to show the targets.") var action: String?
    @Option(help: "Seconds between scrapes.") var interval: Double = 1

    func execute(in shell: Shell) async throws {
        let session = shell.session
        switch action {
        case "on":
            if session.monitoring != nil { throw ShellError("the monitor is already on — 'monitor' shows its targets, 'monitor off' stops it") }
            guard interval >= 0.1, interval <= 60 else { throw ShellError("--interval must be between 0.1 and 60 seconds") }
            let monitor: Monitor
            do {
                monitor = try await shell.lab.startMonitor(interval: interval)
            } catch let error as RuleFileError {
                throw ShellError("the alert rules have a mistake: \(error)")
            }
            session.monitoring = MonitorSession(monitor: monitor, shell: shell)
            let every = interval.formatted(.number.precision(.fractionLength(0...2)))
            shell.say("monitor on \(monitor.listenAddress): scraping \(monitor.targets.count) targets every \(every)s")
            for rule in monitor.alerts.map(\.rule) {
                let hold = rule.holdSeconds > 0 ? " for \(PromQL.formatDuration(rule.holdSeconds))" : ""
                shell.say("  rule \(shell.style.bold(rule.name)): \(rule.expressionText)\(hold)")
            }
        case "off":
            guard session.monitoring != nil else { throw ShellError("no monitor is running ('monitor on' starts one)") }
            await session.stopMonitor()
            shell.say("monitor off: nobody is watching the site any more")
        case nil, "status":
            guard let monitor = session.monitoring?.monitor else {
                shell.say("no monitor: nobody is watching this site. 'monitor on' adds one.")
                return
            }
            // The endpoint column as wide as its longest URL: a URL is never cut.
            let targets = monitor.targetHealth
            let width = max(24, targets.map { "http://\($0.target.address)/metrics".count }.max() ?? 0)
            shell.say(shell.style.bold("TARGET".padding(toLength: 18, withPad: " ", startingAt: 0) + "ENDPOINT".padding(toLength: width, withPad: " ", startingAt: 0)
                + "  UP  LAST SCRAPE"))
            for health in targets {
                let endpoint = "http://\(health.target.address)/metrics"
                let up = health.up ? shell.style.green("1 ") : shell.style.red("0 ")
                let detail = health.lastError ?? "\(health.samples) samples in \(Int(health.duration * 1000)) ms"
                shell.say(health.target.instance.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + endpoint.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + up + "  " + detail)
            }
        default:
            throw ShellError.usage("'monitor' takes on, off, or nothing — e.g. 'monitor on'")
        }
    }
}

struct AlertsVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "The monitor's alert rules and their state: inactive, pending (waiting for 'for'), firing.",
        discussion: """
        Example:
          alerts
        """)
    static let group = VerbGroup.look

    func execute(in shell: Shell) async throws {
        guard let monitor = shell.session.monitoring?.monitor else {
            throw ShellError("no monitor is running, so no alert can fire — 'monitor on' adds one")
        }
        for rule in monitor.alerts {
            let state = switch rule.state {
            case .firing: shell.style.red("firing")
            case .pending: shell.style.yellow("pending")
            case .inactive: shell.style.green("inactive")
            }
            let hold = rule.rule.holdSeconds > 0 ? " for \(PromQL.formatDuration(rule.rule.holdSeconds))" : ""
            shell.say("\(shell.style.bold(rule.rule.name)) \(state)   \(shell.style.dim(rule.rule.expressionText + hold))")
            if let error = rule.lastError { shell.say("  " + shell.style.red("evaluation failed: \(error)")) }
            for alert in rule.activeAlerts {
                let since = Int(Date().timeIntervalSince(alert.activeAt))
                let labels = alert.labels.filter { $0.key != "alertname" }.sortedDescription
                let summary = alert.annotations["summary"].map { " — \($0)" } ?? ""
                shell.say("  \(alert.state.rawValue) \(labels) active \(since)s\(summary)")
            }
        }
    }
}

struct MetricsVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print a process's metrics as its /metrics endpoint serves them (Prometheus text format).",
        discussion: """
        TARGET is a process (lb-01/haproxy) or a server (every process on it). NAME keeps only the metrics whose name
        starts with it. The metrics are fetched over the wire, like a scrape: a dead process does not answer.

        Examples:
          metrics lb-01 haproxy_server_status
          metrics web-01/nginx
          metrics web-02/mysql mysql_slave_status
        """)
    static let group = VerbGroup.look
    @Argument(help: "A process (lb-01/haproxy) or a server (web-01).") var target: String
    @Argument(help: "Only metrics whose name starts with this.") var name: String?

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        let processes = lab.processes(for: try lab.target(target))
        for process in processes {
            let address = process.metricsAddress
            if processes.count > 1 { shell.say(shell.style.bold("== \(process.name)  http://\(address)/metrics")) }
            let parts = address.split(separator: ":")
            do {
                let response = try await lab.internetClient.request(host: String(parts[0]), port: Int(parts[1]) ?? 0, path: "/metrics", timeout: 3)
                let text = Self.filter(response.body, name: name)
                shell.write(text.isEmpty ? shell.style.dim("(no metric starts with '\(name ?? "")')\n") : text)
            } catch {
                // This shell scrapes from the internet side (127.0.0.1): a firewall that filters it is not a dead exporter.
                let host = String(parts[0]), port = Int(parts[1]) ?? 0
                if let verdict = lab.network.security.verdict(fromServer: "internet", sourceAddress: LabNetwork.internetAddress, toAddress: host,
                                                              configuredPort: lab.network.configuredPort(port)) {
                    shell.say(shell.style.red("\(process.name): no metrics from http://\(address)/metrics — \(process.serverName)'s firewall "
                        + "\(verdict == .drop ? "drops" : "rejects") connections from \(LabNetwork.internetAddress), where 'metrics' scrapes from "
                        + "('ufw \(process.serverName) status' shows its rules)"))
                } else {
                    shell.say(shell.style.red("\(process.name): no metrics from http://\(address)/metrics (\(error)) — the exporter is down with its process"))
                }
            }
        }
    }

    static func filter(_ text: String, name: String?) -> String {
        guard let name, !name.isEmpty else { return text }
        let lines = text.split(separator: "\n").filter { line in
            line.hasPrefix("# ") ? line.split(separator: " ").dropFirst(2).first?.hasPrefix(name) == true : line.hasPrefix(name)
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}

struct TopVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A full-screen live view of the lab: servers, traffic, replication, alerts, events; q or Ctrl-C quits.",
        discussion: """
        Redraws about twice a second. When the output is not a terminal it prints one frame (or --times N frames).

        Examples:
          top
          top --times 1
        """)
    static let group = VerbGroup.look
    @Option(help: "Stop after this many frames.") var times: Int?

    func execute(in shell: Shell) async throws {
        let sampler = TopSampler(lab: shell.lab, monitor: shell.session.monitoring?.monitor)
        _ = sampler.snapshot()   // the first frame's rates need a previous reading
        guard shell.style.terminal, times == nil else {
            for frame in 0..<max(1, times ?? 1) {
                if frame > 0 { try await Task.sleep(nanoseconds: 500_000_000) }
                try await Task.sleep(nanoseconds: 200_000_000)
                shell.write(TopView.render(snapshot: sampler.snapshot(), width: 100, height: 30, color: shell.style.colors))
            }
            return
        }
        let keys = TerminalKeys()
        shell.session.monitoring?.paused = true
        shell.write("\u{1B}[?1049h\u{1B}[?25l")   // the alternate screen, no cursor
        defer {
            keys.restore()
            shell.write("\u{1B}[?25h\u{1B}[?1049l")
            shell.session.monitoring?.paused = false
        }
        while !Task.isCancelled {
            let (width, height) = TerminalKeys.size()
            shell.write("\u{1B}[H\u{1B}[2J" + TopView.render(snapshot: sampler.snapshot(), width: width, height: height - 1, color: shell.style.colors))
            for _ in 0..<10 {
                if keys.pressed("q") || keys.pressed("Q") { return }
                do { try await Task.sleep(nanoseconds: 50_000_000) } catch { return }
            }
        }
    }
}

/// Single keys from the terminal while `top` runs: no line buffering, no echo; Ctrl-C still interrupts.
final class TerminalKeys {
    private var saved = termios()
    private let active: Bool

    init() {
        active = isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved) == 0
        guard active else { return }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
    }

    func restore() {
        if active { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
    }

    /// Whether `key` was typed since the last call (reads whatever is waiting, without blocking).
    func pressed(_ key: Character) -> Bool {
        guard active else { return false }
        var found = false
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        while poll(&descriptor, 1, 0) > 0, descriptor.revents & Int16(POLLIN) != 0 {
            var byte: UInt8 = 0
            guard read(STDIN_FILENO, &byte, 1) == 1 else { break }
            if Character(UnicodeScalar(byte)) == key { found = true }
        }
        return found
    }

    /// The terminal's columns and rows (100×30 when unknown).
    static func size() -> (Int, Int) {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 {
            return (Int(size.ws_col), Int(size.ws_row))
        }
        return (100, 30)
    }
}
