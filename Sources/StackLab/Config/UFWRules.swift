/// A server's firewall as ufw keeps it: on or off, default policies, numbered rules (first match wins).
///
/// ```swift
/// var rules = UFWRuleSet()
/// _ = try rules.apply(UFWCommandParser.parse("default deny incoming"))
/// _ = try rules.apply(UFWCommandParser.parse("allow from 127.0.1.1 to any port 8080 proto tcp"))
/// _ = try rules.apply(UFWCommandParser.parse("enable"))
/// ```
public struct UFWRuleSet: Sendable, Equatable {
    /// A fresh install of ufw: inactive, deny incoming, allow outgoing, routed disabled (ufw(8)).
    public var enabled = false
    public var incoming = UFWPolicy.deny
    public var outgoing = UFWPolicy.allow
    public var routed = UFWPolicy.disabled
    /// `logging on` (low) is ufw's default once enabled.
    public var logging = "low"
    public var rules: [UFWRule] = []

    public init() {}

    /// Runs one ufw command against the rule set; returns what ufw prints.
    public mutating func apply(_ command: UFWCommand) throws -> String {
        switch command {
        case .enable:
            enabled = true
            return "Firewall is active and enabled on system startup"
        case .disable:
            enabled = false
            return "Firewall stopped and disabled on system startup"
        case .defaultPolicy(let policy, let direction):
            switch direction {
            case .incoming: incoming = policy
            case .outgoing: outgoing = policy
            case .routed: routed = policy
            }
            return "Default \(direction.rawValue) policy changed to '\(policy.rawValue)'\n(be sure to update your rules accordingly)"
        case .logging(let level):
            logging = level
            return level == "off" ? "Logging disabled" : "Logging enabled"
        case .add(let rule):
            if rules.contains(rule) { return "Skipping adding existing rule" }
            rules.append(rule)
            return "Rule added"
        case .insert(let position, let rule):
            guard position >= 1, position <= max(1, rules.count) else {
                throw UFWError("ERROR: Invalid position '\(position)'")
            }
            if rules.contains(rule) { return "Skipping inserting existing rule" }
            rules.insert(rule, at: position - 1)
            return "Rule inserted"
        case .deleteNumber(let number):
            guard number >= 1, number <= rules.count else { throw UFWError("ERROR: Could not find rule '\(number)'") }
            let rule = rules.remove(at: number - 1)
            return "Deleting:\n \(rule.commandText)\nRule deleted"
        case .deleteRule(let rule):
            guard let index = rules.firstIndex(of: rule) else { return "Could not delete non-existent rule" }
            rules.remove(at: index)
            return "Rule deleted"
        case .reset:
            self = UFWRuleSet()
            return "Resetting all rules to installed defaults.\nFirewall stopped and disabled on system startup"
        case .status:
            return ""
        }
    }
}

public enum UFWPolicy: String, Sendable, Equatable {
    case allow, deny, reject, disabled
}

public enum UFWDirection: String, Sendable, Equatable {
    case incoming, outgoing, routed
}

/// One ufw rule: `allow 8443/tcp`, `allow from 127.0.1.1 to any port 8080 proto tcp`, `deny 3306`, `limit 22/tcp`.
public struct UFWRule: Sendable, Equatable {
    public enum Action: String, Sendable, Equatable {
        case allow, deny, reject, limit
    }

    public enum Proto: String, Sendable, Equatable {
        case tcp, udp
    }

    /// An IPv4 address or network (`127.0.1.1`, `127.0.1.0/24`); nil means any.
    public struct Network: Sendable, Equatable, CustomStringConvertible {
        public var address: UInt32
        public var prefix: Int
        public var text: String

        public init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let address = Self.parse(String(parts[0])) else { return nil }
            var prefix = 32
            if parts.count == 2 {
                guard let n = Int(parts[1]), (0...32).contains(n) else { return nil }
                prefix = n
            }
            self.address = address & Self.mask(prefix)
            self.prefix = prefix
            self.text = prefix == 32 ? String(parts[0]) : text
        }

        static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix) }

        public static func parse(_ text: String) -> UInt32? {
            let octets = text.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4 else { return nil }
            var value: UInt32 = 0
            for octet in octets {
                guard let n = UInt32(octet), n <= 255, !octet.isEmpty, octet.allSatisfy(\.isNumber) else { return nil }
                value = value << 8 | n
            }
            return value
        }

        public func contains(_ address: UInt32) -> Bool { address & Self.mask(prefix) == self.address }
        public func contains(_ text: String) -> Bool { Self.parse(text).map(contains) ?? false }
        public var description: String { text }
    }

    public var action: Action
    /// `out` rules apply to connections the server opens; everything else is `in`.
    public var outgoing: Bool
    /// Log matching packets (`ufw allow log 22`).
    public var log: Bool
    public var from: Network?
    public var fromPorts: [ClosedRange<Int>]?
    public var to: Network?
    /// The ports the rule is about; nil means every port.
    public var ports: [ClosedRange<Int>]?
    /// How the ports were written (`8443/tcp`, `http`, `8000:8100/tcp`), for `status`.
    public var portText: String?
    public var proto: Proto?

    public init(action: Action, outgoing: Bool = false, log: Bool = false, from: Network? = nil, fromPorts: [ClosedRange<Int>]? = nil,
                to: Network? = nil, ports: [ClosedRange<Int>]? = nil, portText: String? = nil, proto: Proto? = nil) {
        self.action = action
        self.outgoing = outgoing
        self.log = log
        self.from = from
        self.fromPorts = fromPorts
        self.to = to
        self.ports = ports
        self.portText = portText
        self.proto = proto
    }

    /// Whether a TCP connection from `source` to `destination:port` matches (for an outgoing rule, the same fields
    /// describe the connection the server opens).
    public func matches(source: String, destination: String, port: Int) -> Bool {
        if proto == .udp { return false }
        if let from, !from.contains(source) { return false }
        if let to, !to.contains(destination) { return false }
        if let ports, !ports.contains(where: { $0.contains(port) }) { return false }
        return true
    }

    /// `ALLOW`, `DENY IN`, `LIMIT OUT`: how `ufw status` writes the action.
    public func actionText(verbose: Bool) -> String {
        let word = action.rawValue.uppercased()
        if outgoing { return word + " OUT" }
        return verbose ? word + " IN" : word
    }

    /// The `To` column: `8443/tcp`, `3306`, `Anywhere`, `127.0.1.11 8080/tcp`.
    public var toText: String {
        let port = portText.map { text in
            guard let proto, !text.contains("/") else { return text }
            return "\(text)/\(proto.rawValue)"
        }
        switch (to, port) {
        case (nil, nil): return "Anywhere"
        case (nil, let port?): return port
        case (let to?, nil): return to.text
        case (let to?, let port?): return "\(to.text) \(port)"
        }
    }

    /// The `From` column.
    public var fromText: String {
        let base = from?.text ?? "Anywhere"
        guard let fromPorts else { return base }
        return base + " " + fromPorts.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound):\($0.upperBound)" }.joined(separator: ",")
    }

    /// The rule as a ufw command (`allow from 127.0.1.1 to any port 8080 proto tcp`), as `ufw delete` echoes it.
    public var commandText: String {
        var words = [action.rawValue]
        if outgoing { words.append("out") }
        if log { words.append("log") }
        if from == nil && to == nil && fromPorts == nil, let portText {
            let simple = proto.map { portText.contains("/") ? portText : "\(portText)/\($0.rawValue)" } ?? portText
            return (words + [simple]).joined(separator: " ")
        }
        words += ["from", from?.text ?? "any"]
        if let fromPorts { words += ["port", fromPorts.map { "\($0.lowerBound)" }.joined(separator: ",")] }
        if to != nil || portText != nil { words += ["to", to?.text ?? "any"] }
        if let portText { words += ["port", portText] }
        if let proto { words += ["proto", proto.rawValue] }
        return words.joined(separator: " ")
    }
}

/// One ufw command, from a `ufw.rules` line or the shell's `ufw SERVER …`.
public enum UFWCommand: Sendable, Equatable {
    case enable, disable, reset
    case status(verbose: Bool, numbered: Bool)
    case defaultPolicy(UFWPolicy, UFWDirection)
    case logging(String)
    case add(UFWRule)
    case insert(Int, UFWRule)
    case deleteNumber(Int)
    case deleteRule(UFWRule)
}

/// What ufw says when a command is wrong (`ERROR: Invalid syntax`), with what would work.
public struct UFWError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
