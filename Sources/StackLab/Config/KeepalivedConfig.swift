import Foundation

/// keepalived.conf, the subset for a floating address between two balancers (keepalived.conf(5)):
///
/// ```
/// vrrp_script chk_haproxy {
///     script "killall -0 haproxy"
///     interval 1
///     fall 2
///     rise 2
/// }
/// vrrp_instance VI_1 {
///     state MASTER
///     interface lo
///     virtual_router_id 51
///     priority 150
///     advert_int 1
///     virtual_ipaddress {
///         127.0.1.100
///     }
///     track_script {
///         chk_haproxy
///     }
/// }
/// ```
public struct KeepalivedConfig: Sendable, Equatable {
    public struct Instance: Sendable, Equatable {
        public var name: String
        /// `state MASTER` or `BACKUP`: where the instance starts.
        public var initialMaster = false
        public var interface = "lo"
        public var virtualRouterID = 0
        /// keepalived's default priority.
        public var priority = 100
        /// Seconds between adverts (keepalived's default 1).
        public var advertInterval = 1.0
        public var preempt = true
        public var virtualAddresses: [String] = []
        public var trackScripts: [String] = []
        /// `authentication { auth_type PASS auth_pass … }`: adverts with another password are dropped.
        public var authPass: String?
        /// VRRP version 2 (keepalived's default: advert_int in whole seconds) or 3 (centiseconds); `vrrp_version` in
        /// global_defs or `version` in the instance.
        public var version = 2
        public var line = 0

        public init(name: String) { self.name = name }

        /// Master_Down_Interval = 3 × advert_int + skew: skew = (256 − priority) / 256 s in VRRPv2 (RFC 3768 §6.1),
        /// (256 − priority) × advert_int / 256 in VRRPv3 (RFC 5798 §6.1).
        public var masterDownInterval: Double { 3 * advertInterval + skewTime }
        public var skewTime: Double { VRRPInstance.skew(priority: priority, advertInterval: advertInterval, version: version) }
    }

    public struct Script: Sendable, Equatable {
        public var name: String
        public var script = ""
        /// Seconds between runs (keepalived's default 1).
        public var interval = 1.0
        /// Added to the priority while failing (negative) or while succeeding (positive); 0: failing means FAULT.
        public var weight = 0
        public var fall = 1
        public var rise = 1
        /// The process the script checks (`killall -0 haproxy`, `pidof haproxy` …).
        public var checksProcess: Topology.ProcessKind?
        public var line = 0

        public init(name: String) { self.name = name }
    }

    public var instances: [Instance] = []
    public var scripts: [String: Script] = [:]
    public var routerID: String?
    public var scriptSecurity = false

    public init() {}

    /// Every floating address of every instance.
    public var virtualAddresses: [String] { instances.flatMap(\.virtualAddresses) }
}

/// Reads keepalived.conf; every unknown keyword is an error with file and line, never ignored.
public enum KeepalivedConfigParser {
    struct Token {
        var text: String
        var line: Int
    }

    public static func parse(_ text: String, file: String) throws -> KeepalivedConfig {
        var tokens = tokenize(text)
        // Comments are gone: a byte that is not UTF-8 left in a word is an error.
        for token in tokens { try ConfigText.checkBytes(token.text, file: file, line: token.line, directive: token.text) }
        tokens.reverse()
        var config = KeepalivedConfig()
        var globalVersion: (version: Int, line: Int)?
        var instanceVersions: [String: Int] = [:]
        var advertLines: [String: Int] = [:]
        func fail(_ line: Int, _ directive: String, _ reason: String) -> ConfigError {
            ConfigError(file: file, line: line, directive: directive, reason: reason)
        }
        func next() -> Token? { tokens.popLast() }
        func expectOpen(after word: Token) throws {
            guard let open = next(), open.text == "{" else { throw fail(word.line, word.text, "needs a block: \(word.text) … { … }") }
        }
        func value(_ word: Token) throws -> Token {
            guard let v = next(), v.text != "{", v.text != "}" else { throw fail(word.line, word.text, "needs a value") }
            return v
        }
        func number(_ word: Token, _ range: ClosedRange<Double>) throws -> Double {
            let v = try value(word)
            guard let n = Double(v.text), range.contains(n) else {
                throw fail(word.line, word.text, "\"\(v.text)\" is not a number from \(range.lowerBound.formatted()) to \(range.upperBound.formatted())")
            }
            return n
        }
        func integer(_ word: Token, _ range: ClosedRange<Int>) throws -> Int {
            let v = try value(word)
            guard let n = Int(v.text), range.contains(n) else {
                throw fail(word.line, word.text, "\"\(v.text)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return n
        }
        /// The words of a `{ … }` list (virtual_ipaddress, track_script).
        func list(_ word: Token) throws -> [Token] {
            try expectOpen(after: word)
            var items: [Token] = []
            while let t = next() {
                if t.text == "}" { return items }
                items.append(t)
            }
            throw fail(word.line, word.text, "the block is not closed with }")
        }

        while let word = next() {
            switch word.text {
            case "global_defs":
                try expectOpen(after: word)
                while let t = next(), t.text != "}" {
                    switch t.text {
                    case "router_id": config.routerID = try value(t).text
                    case "vrrp_version": globalVersion = (try integer(t, 2...3), t.line)
                    case "enable_script_security": config.scriptSecurity = true
                    case "script_user":
                        _ = try value(t)
                        // An optional group on the same line.
                        if let group = tokens.last, group.line == t.line, group.text != "}" { _ = next() }
                    default:
                        throw fail(t.line, t.text, "not supported by stacklab's keepalived in global_defs "
                            + "(supported: router_id, vrrp_version, enable_script_security, script_user)")
                    }
                }
            case "vrrp_script":
                let name = try value(word)
                var script = KeepalivedConfig.Script(name: name.text)
                script.line = word.line
                try expectOpen(after: word)
                while let t = next(), t.text != "}" {
                    switch t.text {
                    case "script":
                        let v = try value(t)
                        script.script = v.text
                        script.checksProcess = checkedProcess(v.text)
                        if script.checksProcess == nil {
                            throw fail(t.line, "script", "stacklab runs no shell: it understands \"killall -0 PROCESS\" and \"pidof PROCESS\" "
                                + "(PROCESS: haproxy, nginx, gunicorn, mysqld), not \"\(v.text)\"")
                        }
                    // keepalived: "vrrp script interval must be between 1 and 4294" (whole seconds).
                    case "interval": script.interval = Double(try integer(t, 1...4294))
                    case "weight": script.weight = try integer(t, -253...253)
                    case "fall": script.fall = try integer(t, 1...100)
                    case "rise": script.rise = try integer(t, 1...100)
                    case "timeout", "user": _ = try value(t)
                    default:
                        throw fail(t.line, t.text, "not supported by stacklab's keepalived in vrrp_script (supported: script, interval, weight, fall, rise, timeout, user)")
                    }
                }
                if script.script.isEmpty { throw fail(word.line, "vrrp_script", "\(name.text) needs a script line") }
                config.scripts[name.text] = script
            case "vrrp_instance":
                let name = try value(word)
                var instance = KeepalivedConfig.Instance(name: name.text)
                instance.line = word.line
                var sawState = false
                try expectOpen(after: word)
                while let t = next(), t.text != "}" {
                    switch t.text {
                    case "state":
                        let v = try value(t)
                        switch v.text.uppercased() {
                        case "MASTER": instance.initialMaster = true
                        case "BACKUP": instance.initialMaster = false
                        default: throw fail(t.line, "state", "\"\(v.text)\" is not a state: MASTER or BACKUP")
                        }
                        sawState = true
                    case "interface":
                        let v = try value(t)
                        guard v.text != "lo" else {
                            throw fail(t.line, "interface", "keepalived cannot run VRRP on the loopback interface: name the server's network "
                                + "interface (e.g. eth0); stacklab carries the adverts between the balancers' addresses itself")
                        }
                        instance.interface = v.text
                    case "version": instanceVersions[name.text] = try integer(t, 2...3)
                    case "virtual_router_id": instance.virtualRouterID = try integer(t, 1...255)
                    case "priority": instance.priority = try integer(t, 1...255)
                    case "advert_int":
                        instance.advertInterval = try number(t, 0.01...255)
                        advertLines[name.text] = t.line
                    case "nopreempt": instance.preempt = false
                    case "preempt": instance.preempt = true
                    case "virtual_ipaddress":
                        for item in try list(t) {
                            let address = item.text.split(separator: "/").first.map(String.init) ?? item.text
                            guard ConfigText.isLoopback(address) else {
                                throw fail(item.line, "virtual_ipaddress", "\"\(item.text)\": the lab's floating address must be a loopback address (127.x.y.z), e.g. 127.0.1.100")
                            }
                            instance.virtualAddresses.append(address)
                        }
                    case "track_script":
                        instance.trackScripts += try list(t).map(\.text)
                    case "authentication":
                        try expectOpen(after: t)
                        while let a = next(), a.text != "}" {
                            switch a.text {
                            case "auth_type":
                                let v = try value(a)
                                guard v.text.uppercased() == "PASS" else { throw fail(a.line, "auth_type", "stacklab's keepalived supports auth_type PASS only") }
                            case "auth_pass": instance.authPass = String(try value(a).text.prefix(8))
                            default: throw fail(a.line, a.text, "not supported in authentication (supported: auth_type PASS, auth_pass)")
                            }
                        }
                    default:
                        throw fail(t.line, t.text, "not supported by stacklab's keepalived in vrrp_instance (supported: state, interface, "
                            + "virtual_router_id, priority, advert_int, nopreempt, virtual_ipaddress, track_script, authentication)")
                    }
                }
                if !sawState { throw fail(word.line, "vrrp_instance", "\(name.text) needs a state line: state MASTER or state BACKUP") }
                if instance.virtualRouterID == 0 { throw fail(word.line, "vrrp_instance", "\(name.text) needs virtual_router_id (1-255)") }
                if instance.virtualAddresses.isEmpty { throw fail(word.line, "vrrp_instance", "\(name.text) needs virtual_ipaddress { ADDRESS }") }
                config.instances.append(instance)
            case "{", "}":
                throw fail(word.line, word.text, "a brace without a block keyword")
            default:
                var reason = "not supported by stacklab's keepalived (supported: global_defs, vrrp_script, vrrp_instance)"
                if let near = ConfigText.nearest(word.text, in: ["global_defs", "vrrp_script", "vrrp_instance"]) { reason += " — did you mean \"\(near)\"?" }
                throw fail(word.line, word.text, reason)
            }
        }
        for index in config.instances.indices {
            let instance = config.instances[index]
            let version = instanceVersions[instance.name] ?? globalVersion?.version ?? 2
            config.instances[index].version = version
            let line = advertLines[instance.name] ?? instance.line
            if version == 2 && instance.advertInterval != instance.advertInterval.rounded() {
                throw fail(line, "advert_int", "VRRPv2 advertisement interval \(instance.advertInterval)s must be an integer (whole seconds): "
                    + "for fractions, use VRRP version 3 (vrrp_version 3 in global_defs)")
            }
            if version == 3 && (instance.advertInterval > 40.95 || (instance.advertInterval * 100).rounded() != instance.advertInterval * 100) {
                throw fail(line, "advert_int", "VRRPv3 advertisement interval is in centiseconds, at most 40.95 s")
            }
        }
        for instance in config.instances {
            for name in instance.trackScripts where config.scripts[name] == nil {
                throw fail(instance.line, "track_script", "\(instance.name) tracks \"\(name)\", but no vrrp_script \(name) { … } is defined")
            }
        }
        if config.instances.isEmpty { throw fail(0, "", "keepalived.conf needs a vrrp_instance NAME { … } block") }
        return config
    }

    /// `killall -0 haproxy`, `/usr/bin/killall -0 haproxy`, `pidof haproxy`.
    static func checkedProcess(_ script: String) -> Topology.ProcessKind? {
        let words = script.split(separator: " ").map { String($0.split(separator: "/").last ?? "") }
        let name: String? = switch words.first {
        case "killall" where words.count == 3 && words[1] == "-0": words[2]
        case "pidof" where words.count == 2: words[1]
        default: nil
        }
        switch name {
        case "haproxy": return .haproxy
        case "nginx": return .nginx
        case "gunicorn": return .gunicorn
        case "mysqld", "mysql": return .mysql
        default: return nil
        }
    }

    /// Words, braces and quoted strings with their lines; `#` and `!` start comments.
    static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        for (index, raw) in ConfigText.unixLines(text).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var current = ""
            var quoted = false
            func flush() {
                if !current.isEmpty { tokens.append(Token(text: current, line: index + 1)) }
                current = ""
            }
            for c in raw {
                if quoted {
                    if c == "\"" { quoted = false; tokens.append(Token(text: current, line: index + 1)); current = "" } else { current.append(c) }
                    continue
                }
                switch c {
                case "#", "!":
                    flush()
                    break
                case "\"": flush(); quoted = true
                case "{", "}": flush(); tokens.append(Token(text: String(c), line: index + 1))
                case " ", "\t": flush()
                default: current.append(c)
                }
                if c == "#" || c == "!" { break }
            }
            flush()
        }
        return tokens
    }
}
