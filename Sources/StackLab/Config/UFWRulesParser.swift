/// Reads ufw commands: a server's `ufw.rules` file (one command per line, `ufw` optional, `#` comments) and the
/// shell's `ufw SERVER …`.
///
/// ```swift
/// let rules = try UFWRulesParser.parse("default deny incoming\nallow 8443/tcp\nenable\n", file: "lb-01/ufw.rules")
/// rules.enabled            // true
/// rules.rules[0].toText    // "8443/tcp"
/// ```
public enum UFWRulesParser {
    public static func parse(_ text: String, file: String) throws(ConfigError) -> UFWRuleSet {
        var set = UFWRuleSet()
        for (index, raw) in ConfigText.unixLines(text).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw.prefix { $0 != "#" })
            var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.first == "ufw" { words.removeFirst() }
            if words.first == "--force" { words.removeFirst() }
            guard !words.isEmpty else { continue }
            for word in words { try ConfigText.checkBytes(word, file: file, line: index + 1, directive: words[0]) }
            do {
                let command = try UFWCommandParser.parse(words)
                if case .status = command {
                    throw UFWError("\"status\" shows rules; it does not belong in ufw.rules")
                }
                _ = try set.apply(command)
            } catch {
                let reason = (error as? UFWError)?.message ?? "\(error)"
                throw ConfigError(file: file, line: index + 1, directive: words[0], reason: reason)
            }
        }
        return set
    }
}

public enum UFWCommandParser {
    /// Well-known service names ufw resolves through /etc/services.
    static let services: [String: Int] = ["ssh": 22, "http": 80, "https": 443, "mysql": 3306, "http-alt": 8080, "smtp": 25,
                                          "domain": 53, "ntp": 123, "postgresql": 5432]

    public static func parse(_ text: String) throws -> UFWCommand {
        try parse(text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
    }

    public static func parse(_ words: [String]) throws -> UFWCommand {
        guard let verb = words.first else { throw UFWError("ERROR: not enough args") }
        let rest = Array(words.dropFirst())
        switch verb {
        case "enable", "disable", "reset":
            guard rest.isEmpty else { throw UFWError("ERROR: Invalid syntax: \"\(verb)\" takes nothing after it") }
            return verb == "enable" ? .enable : verb == "disable" ? .disable : .reset
        case "status":
            guard rest.count <= 1, rest.allSatisfy({ $0 == "verbose" || $0 == "numbered" }) else {
                throw UFWError("ERROR: Invalid syntax: status, status verbose or status numbered")
            }
            return .status(verbose: rest.first == "verbose", numbered: rest.first == "numbered")
        case "default":
            guard rest.count == 2 || rest.count == 1, let policy = UFWPolicy(rawValue: rest[0]), policy != .disabled || rest.count == 2 else {
                throw UFWError("ERROR: Invalid syntax: default allow|deny|reject incoming|outgoing|routed (e.g. \"default deny incoming\")")
            }
            let directionWord = rest.count == 2 ? rest[1] : "incoming"
            let direction: UFWDirection
            switch directionWord {
            case "incoming", "in": direction = .incoming
            case "outgoing", "out", "output": direction = .outgoing
            case "routed": direction = .routed
            default: throw UFWError("ERROR: Unsupported policy for '\(directionWord)': write incoming, outgoing or routed")
            }
            return .defaultPolicy(policy, direction)
        case "logging":
            guard rest.count == 1, ["on", "off", "low", "medium", "high", "full"].contains(rest[0]) else {
                throw UFWError("ERROR: Invalid syntax: logging on|off|low|medium|high|full")
            }
            return .logging(rest[0] == "on" ? "low" : rest[0])
        case "delete":
            guard !rest.isEmpty else { throw UFWError("ERROR: Invalid syntax: delete NUMBER (see 'status numbered') or delete RULE") }
            if rest.count == 1, let number = Int(rest[0]) { return .deleteNumber(number) }
            return .deleteRule(try rule(rest))
        case "insert":
            guard rest.count >= 2, let position = Int(rest[0]) else { throw UFWError("ERROR: Invalid syntax: insert NUMBER RULE") }
            return .insert(position, try rule(Array(rest.dropFirst())))
        case "allow", "deny", "reject", "limit":
            return .add(try rule(words))
        case "route", "app", "show", "reload", "prepend":
            throw UFWError("ERROR: \"\(verb)\" is a real ufw command that stacklab's firewall does not offer (it has: enable, disable, "
                + "status, default, allow, deny, reject, limit, delete, insert, logging, reset)")
        default:
            let near = ConfigText.nearest(verb, in: ["enable", "disable", "status", "default", "allow", "deny", "reject", "limit", "delete", "insert", "logging", "reset"])
            throw UFWError("ERROR: Invalid syntax: unknown command '\(verb)'" + (near.map { " — did you mean '\($0)'?" } ?? ""))
        }
    }

    /// `allow [in|out] [log] PORT[/PROTO]` or `allow [in|out] [log] [proto P] [from ADDR [port P]] [to ADDR [port P]] [proto P]`.
    static func rule(_ words: [String]) throws -> UFWRule {
        guard let first = words.first, let action = UFWRule.Action(rawValue: first) else {
            throw UFWError("ERROR: Invalid syntax: a rule starts with allow, deny, reject or limit")
        }
        var rule = UFWRule(action: action)
        var rest = Array(words.dropFirst())[...]
        if let word = rest.first, word == "in" || word == "out" {
            rule.outgoing = word == "out"
            rest = rest.dropFirst()
        }
        if let word = rest.first, word == "log" || word == "log-all" {
            rule.log = true
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty else { throw UFWError("ERROR: Wrong number of arguments: say which port (allow 8443/tcp) or which address (allow from 127.0.1.1)") }
        // The simple form: one word, a port, a port list or range with a protocol, or a service name.
        if rest.count == 1 {
            let (ports, proto, text) = try portSpec(rest.first!, simple: true)
            rule.ports = ports
            rule.proto = proto
            rule.portText = text
            return rule
        }
        // The extended form.
        var sawFromOrTo = false
        while let word = rest.popFirst() {
            switch word {
            case "proto":
                guard let value = rest.popFirst() else { throw UFWError("ERROR: Invalid syntax: proto needs tcp or udp") }
                guard let proto = UFWRule.Proto(rawValue: value) else { throw UFWError("ERROR: Unsupported protocol '\(value)': tcp or udp") }
                rule.proto = proto
            case "from", "to":
                sawFromOrTo = true
                guard let value = rest.popFirst() else { throw UFWError("ERROR: Invalid syntax: \(word) needs an address or any") }
                var network: UFWRule.Network?
                if value != "any" {
                    guard let parsed = UFWRule.Network(value) else {
                        throw UFWError("ERROR: Bad \(word == "from" ? "source" : "destination") address '\(value)': write an IPv4 address (127.0.1.1), a network (127.0.1.0/24) or any")
                    }
                    network = parsed
                }
                if word == "from" { rule.from = network } else { rule.to = network }
                if rest.first == "port" {
                    rest = rest.dropFirst()
                    guard let value = rest.popFirst() else { throw UFWError("ERROR: Invalid syntax: port needs a number") }
                    let (ports, proto, text) = try portSpec(value, simple: false)
                    if word == "from" { rule.fromPorts = ports } else { rule.ports = ports; rule.portText = text }
                    if let proto { rule.proto = proto }
                }
            case "port":
                throw UFWError("ERROR: Invalid syntax: \"port\" follows an address: write \"to any port \(rest.first ?? "8080")\"")
            case "app":
                throw UFWError("ERROR: application profiles are not supported in stacklab: name the port (allow 8443/tcp)")
            default:
                throw UFWError("ERROR: Invalid syntax: unexpected '\(word)' (rules look like \"allow 8443/tcp\" or \"allow from 127.0.1.1 to any port 8080 proto tcp\")")
            }
        }
        guard sawFromOrTo else { throw UFWError("ERROR: Invalid syntax: write \"allow 8443/tcp\" or \"allow from ADDR to any port N\"") }
        if let ports = rule.ports, ports.count > 1 || ports.contains(where: { $0.count > 1 }), rule.proto == nil {
            throw UFWError("ERROR: Must specify 'tcp' or 'udp' with multiple ports")
        }
        return rule
    }

    /// `8443`, `8443/tcp`, `80,443/tcp`, `8000:8100/tcp`, `https`.
    static func portSpec(_ text: String, simple: Bool) throws -> ([ClosedRange<Int>], UFWRule.Proto?, String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else { throw UFWError("ERROR: Bad port '\(text)'") }
        var proto: UFWRule.Proto?
        if parts.count == 2 {
            guard let p = UFWRule.Proto(rawValue: parts[1]) else { throw UFWError("ERROR: Unsupported protocol '\(parts[1])': tcp or udp") }
            proto = p
        }
        if let port = services[parts[0]] {
            return ([port...port], proto ?? .tcp, "\(port)")
        }
        var ranges: [ClosedRange<Int>] = []
        for item in parts[0].split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds.last!), (1...65535).contains(low),
                  (1...65535).contains(high), low <= high else {
                if Int(item) == nil && bounds.count == 1 && item.allSatisfy({ $0.isLetter || $0 == "-" }) {
                    throw UFWError("ERROR: Could not find a profile matching '\(text)'")
                }
                throw UFWError("ERROR: Bad port '\(text)'")
            }
            ranges.append(low...high)
        }
        if (ranges.count > 1 || ranges[0].count > 1), proto == nil {
            if simple { throw UFWError("ERROR: Must specify 'tcp' or 'udp' with multiple ports") }
        }
        return (ranges, proto, parts[0])
    }
}
