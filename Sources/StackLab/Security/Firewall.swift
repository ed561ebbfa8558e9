import Foundation
import NIOConcurrencyHelpers

/// One server's firewall (ufw): its rules, the verdict for each new connection, `ufw status` in ufw's layout and
/// the kernel's `[UFW BLOCK]` log lines.
///
/// What a blocked client sees, without root:
/// - **deny** drops. On Linux the lab attaches a socket filter (classic BPF) to each of the server's listening
///   sockets, so the kernel itself drops the SYN of a denied source: every client, real curl and nmap included,
///   waits until its own timeout. The lab's own connections (the dialer, `scan`) see the same timeout.
/// - **reject** refuses. The lab's own connections are refused at once (`Connection refused`); an outside client is
///   accepted by the kernel first, then reset at once (curl: `Connection reset by peer`), the nearest a process
///   without root can come to the kernel's RST.
/// - **limit** allows, but rejects a source that opened 6 or more connections in the last 30 s (ufw's rate).
///
/// Connections from the server's own address are always allowed, as ufw's before.rules accept everything on `lo`.
public final class Firewall: Sendable {
    public let serverName: String
    public let address: String
    /// The lines ufw would leave in /var/log/ufw.log (kern.log): `[UFW BLOCK] IN=lo OUT= … SRC=… DST=… DPT=3306 …`.
    public let log: LogBook
    private let state: NIOLockedValueBox<State>
    private let changed: @Sendable (Firewall) -> Void

    private struct State {
        var rules: UFWRuleSet
        /// Connection times per source, for `limit` rules.
        var recent: [String: [Date]] = [:]
        var packetID = 0x1f00
    }

    public enum Verdict: Sendable, Equatable {
        case allow
        /// deny: the packet is dropped; the client hears nothing.
        case drop
        /// reject (or a limit exceeded): the client is refused at once.
        case reject
    }

    init(serverName: String, address: String, rules: UFWRuleSet, changed: @escaping @Sendable (Firewall) -> Void) {
        self.serverName = serverName
        self.address = address
        self.log = LogBook(name: "\(serverName)/ufw")
        self.state = NIOLockedValueBox(State(rules: rules))
        self.changed = changed
    }

    public var rules: UFWRuleSet { state.withLockedValue { $0.rules } }
    public var isActive: Bool { state.withLockedValue { $0.rules.enabled } }

    /// Runs a ufw command (`allow 8443/tcp`, `delete 2`, `enable` …) and returns what ufw prints.
    @discardableResult
    public func run(_ command: UFWCommand) throws -> String {
        if case .status(let verbose, let numbered) = command { return status(verbose: verbose, numbered: numbered) }
        let result = try state.withLockedValue { state in try state.rules.apply(command) }
        changed(self)
        return result
    }

    // MARK: - Verdicts

    /// The verdict for a new incoming TCP connection. `record` counts it for `limit` (the accepting side records;
    /// a check that only looks does not). Blocks are logged as ufw logs them at `logging low`: blocks by the default
    /// policy, limit blocks, and rules written with `log`.
    public func incoming(from source: String, sourcePort: Int = 0, port: Int, record: Bool = true) -> Verdict {
        guard source != address else { return .allow }   // ufw's before.rules: -i lo -j ACCEPT
        let now = Date()
        let (verdict, logPrefix, id) = state.withLockedValue { state -> (Verdict, String?, Int) in
            guard state.rules.enabled else { return (.allow, nil, 0) }
            state.packetID &+= 1
            for rule in state.rules.rules where !rule.outgoing && rule.matches(source: source, destination: address, port: port) {
                switch rule.action {
                case .allow: return (.allow, rule.log ? "[UFW ALLOW]" : nil, state.packetID)
                case .deny: return (.drop, rule.log ? "[UFW BLOCK]" : nil, state.packetID)
                case .reject: return (.reject, rule.log ? "[UFW BLOCK]" : nil, state.packetID)
                case .limit:
                    // ufw's limit: 6 or more new connections within 30 s from one address are refused.
                    var times = state.recent[source, default: []].filter { now.timeIntervalSince($0) < 30 }
                    if record { times.append(now) }
                    state.recent[source] = times
                    // iptables `recent --set` then `--update --seconds 30 --hitcount 6`: the 6th counts itself.
                    if times.count + (record ? 0 : 1) >= 6 { return (.reject, "[UFW LIMIT BLOCK]", state.packetID) }
                    return (.allow, nil, state.packetID)
                }
            }
            switch state.rules.incoming {
            case .allow, .disabled: return (.allow, nil, state.packetID)
            case .deny: return (.drop, "[UFW BLOCK]", state.packetID)
            case .reject: return (.reject, "[UFW BLOCK]", state.packetID)
            }
        }
        if let logPrefix, state.withLockedValue({ $0.rules.logging != "off" }) {
            log.append(Self.kernelLine(prefix: logPrefix, server: serverName, source: source, destination: address,
                                       sourcePort: sourcePort, port: port, id: id))
        }
        return verdict
    }

    /// The verdict for a connection this server opens (`default deny outgoing`, `allow out …`).
    public func outgoing(to destination: String, port: Int) -> Verdict {
        state.withLockedValue { state in
            guard state.rules.enabled, destination != address else { return .allow }
            for rule in state.rules.rules where rule.outgoing && rule.matches(source: address, destination: destination, port: port) {
                switch rule.action {
                case .allow, .limit: return .allow
                case .deny: return .drop
                case .reject: return .reject
                }
            }
            switch state.rules.outgoing {
            case .allow, .disabled: return .allow
            case .deny: return .drop
            case .reject: return .reject
            }
        }
    }

    /// What the kernel filter of one listening port must do, in order: (source network or nil = any, drop?), then
    /// the default. `limit` and `reject` pass the kernel (the accepting side decides them).
    func kernelProgram(port: Int) -> (rules: [(network: UFWRule.Network?, drop: Bool)], dropByDefault: Bool)? {
        state.withLockedValue { state in
            guard state.rules.enabled else { return nil }
            var list: [(UFWRule.Network?, Bool)] = []
            for rule in state.rules.rules where !rule.outgoing && rule.proto != .udp {
                if let to = rule.to, !to.contains(address) { continue }
                if let ports = rule.ports, !ports.contains(where: { $0.contains(port) }) { continue }
                list.append((rule.from, rule.action == .deny))
            }
            return (list, state.rules.incoming == .deny)
        }
    }

    static func kernelLine(prefix: String, server: String, source: String, destination: String, sourcePort: Int, port: Int, id: Int) -> String {
        // kern.log: `Nov 24 13:55:36 web-01 kernel: [ 4242.123456] [UFW BLOCK] IN=lo OUT= MAC=… SRC=… DST=… …`
        let common = LogTime.common()   // 24/Nov/2026:13:55:36 +0000
        let day = common.prefix(2), month = common.dropFirst(3).prefix(3), time = common.dropFirst(12).prefix(8)
        let dayText = day.hasPrefix("0") ? " " + day.dropFirst() : String(day)
        let uptime = ProcessInfo.processInfo.systemUptime
        let stamp = String(format: "[%5d.%06d]", Int(uptime), Int((uptime - uptime.rounded(.down)) * 1_000_000))
        let spt = sourcePort > 0 ? sourcePort : 40_000 + id % 20_000
        return "\(month) \(dayText) \(time) \(server) kernel: \(stamp) \(prefix) IN=lo OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 "
            + "SRC=\(source) DST=\(destination) LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=\(id) DF PROTO=TCP SPT=\(spt) DPT=\(port) "
            + "WINDOW=65495 RES=0x00 SYN URGP=0"
    }

    // MARK: - ufw status

    /// `ufw status`, `ufw status verbose`, `ufw status numbered`, in ufw's layout (IPv4 only: the lab has no IPv6).
    public func status(verbose: Bool = false, numbered: Bool = false) -> String {
        let rules = self.rules
        guard rules.enabled else { return "Status: inactive\n" }
        var text = "Status: active\n"
        if verbose {
            text += "Logging: " + (rules.logging == "off" ? "off" : "on (\(rules.logging))") + "\n"
            text += "Default: \(rules.incoming.rawValue) (incoming), \(rules.outgoing.rawValue) (outgoing), \(rules.routed.rawValue) (routed)\n"
            text += "New profiles: skip\n"
        }
        guard !rules.rules.isEmpty else { return text }
        let indent = numbered ? "     " : ""
        text += "\n"
        text += indent + Self.column("To", "Action", "From")
        text += indent + Self.column("--", "------", "----")
        for (index, rule) in rules.rules.enumerated() {
            let number = numbered ? "[" + String(repeating: " ", count: max(0, 2 - "\(index + 1)".count)) + "\(index + 1)] " : ""
            text += number + Self.column(rule.toText, rule.actionText(verbose: verbose || numbered) + (rule.log ? " (log)" : ""), rule.fromText)
        }
        return text
    }

    /// ufw's row format: `%-26s %-12s%s`.
    static func column(_ to: String, _ action: String, _ from: String) -> String {
        func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
        return pad(to, 26) + " " + pad(action, 12) + from + "\n"
    }
}
