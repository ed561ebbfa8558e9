/// Reads the subset of haproxy.cfg that the balancer understands.
///
/// ```swift
/// let config = try HAProxyConfigParser.parse(text, file: "lb-01/haproxy.cfg")
/// config.backend(named: "web")?.servers.map(\.name)   // ["web-01", "web-02"]
/// ```
///
/// What HAProxy 2.6 accepts with the same meaning is accepted; where HAProxy only warns and ignores a keyword (a
/// `balance` in a frontend), the same warning lands in `warnings`; everything else outside the subset is a
/// `ConfigError` with the line.
public enum HAProxyConfigParser {
    public static func parse(_ text: String, file: String) throws -> HAProxyConfig {
        var parser = Parser(file: file)
        let text = ConfigText.unixLines(text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // HAProxy 2.6 refuses a file whose last line has no line feed, even a comment or blanks.
        if !text.isEmpty, !text.hasSuffix("\n") {
            throw ConfigError(file: file, line: lines.count, directive: "",
                              reason: "missing LF on last line, file might have been truncated: end the file with a new line")
        }
        for (index, rawLine) in lines.enumerated() {
            let line = index + 1
            let words = try HAProxyLineTokenizer.words(of: String(rawLine), file: file, line: line)
            guard !words.isEmpty else { continue }
            try parser.take(words, line: line)
        }
        return try parser.finish()
    }

    static let sectionKeywords = ["global", "defaults", "frontend", "backend", "listen"]
    static let otherSections: Set<String> = ["userlist", "peers", "resolvers", "mailers", "program", "http-errors", "ring", "cache",
                                             "fcgi-app", "log-forward", "dynamic-update", "crt-store", "traces"]
    static let globalKeywords = ["log", "maxconn", "daemon", "user", "group", "chroot", "pidfile", "stats"]
    static let realGlobalKeywords: Set<String> = ["nbthread", "nbproc", "master-worker", "ca-base", "crt-base", "ssl-default-bind-ciphers",
                                                  "ssl-default-bind-ciphersuites", "ssl-default-server-options",
                                                  "ssl-dh-param-file", "tune.ssl.default-dh-param", "uid", "gid", "node", "description",
                                                  "spread-checks", "hard-stop-after", "lua-load", "setenv", "presetenv", "quiet",
                                                  "ulimit-n", "log-send-hostname", "server-state-file", "localpeer", "cpu-map"]
    static let proxyKeywords = ["mode", "log", "option", "no", "retries", "timeout", "balance", "bind", "default_backend", "maxconn",
                                "backlog", "server", "default-server"]
    static let realProxyKeywords: Set<String> = ["acl", "http-request", "http-response", "http-after-response", "use_backend", "redirect",
                                                 "errorfile", "errorfiles", "cookie", "stick-table", "stick", "tcp-request", "tcp-response",
                                                 "http-check", "tcp-check", "compression", "capture", "monitor-uri", "stats", "fullconn",
                                                 "hash-type", "http-reuse", "log-format", "unique-id-format", "unique-id-header",
                                                 "use-server", "server-template", "description", "id", "disabled", "enabled",
                                                 "rate-limit", "email-alert", "http-error", "errorloc", "errorloc302", "errorloc303",
                                                 "filter", "force-persist", "ignore-persist", "persist", "source", "dispatch",
                                                 "log-tag", "monitor", "declare", "external-check", "load-server-state-from-file",
                                                 "contimeout", "clitimeout", "srvtimeout", "retry-on"]
    static let options = ["httplog", "dontlognull", "forwardfor", "httpchk", "redispatch"]
    static let realOptions: Set<String> = ["tcplog", "http-server-close", "http-keep-alive", "httpclose", "log-health-checks",
                                           "abortonclose", "allbackups", "persist", "http-buffer-request", "tcp-check", "ssl-hello-chk",
                                           "mysql-check", "pgsql-check", "redis-check", "smtpchk", "ldap-check", "log-separate-errors",
                                           "logasap", "http-pretend-keepalive", "http-no-delay", "originalto", "splice-auto",
                                           "tcpka", "clitcpka", "srvtcpka", "independent-streams", "nolinger", "prefer-last-server",
                                           "checkcache", "contstats", "socket-stats", "http-use-htx", "external-check", "httplog clf",
                                           "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server", "idle-close-on-response",
                                           "accept-invalid-http-request", "accept-invalid-http-response", "disable-h2-upgrade",
                                           "http-ignore-probes", "http-restrict-req-hdr-names", "http-use-proxy-header", "transparent",
                                           "spop-check", "dontlog-normal", "log-health-checks"]
    static let timeouts = ["connect", "client", "server", "check", "http-request", "http-keep-alive"]
    static let realTimeouts: Set<String> = ["queue", "tunnel", "client-fin", "server-fin", "tarpit", "client-hs"]
    static let balances = ["roundrobin", "leastconn", "source"]
    static let realBalances: Set<String> = ["static-rr", "first", "uri", "url_param", "hdr", "random", "rdp-cookie", "hash"]
    static let serverOptions = ["check", "inter", "fastinter", "downinter", "fall", "rise", "weight", "backup"]
    static let realServerOptions: Set<String> = ["maxconn", "ssl", "verify", "cookie", "port", "addr", "agent-check", "agent-port",
                                                 "agent-inter", "slowstart", "send-proxy", "send-proxy-v2", "resolvers", "disabled",
                                                 "id", "observe", "on-error", "on-marked-down", "on-marked-up", "track", "maxqueue",
                                                 "minconn", "error-limit", "init-addr", "check-ssl", "sni", "alpn", "ca-file", "crt",
                                                 "no-check", "no-backup", "redir", "source", "pool-max-conn", "pool-purge-delay",
                                                 "proto", "check-proto", "enabled", "ws", "resolve-prefer", "tfo"]
}

// MARK: - One line's words

/// Splits a haproxy.cfg line into words as HAProxy does: blanks separate words, `#` starts a comment, a backslash
/// escapes the next character (`\ `, `\#`, `\\`), and '…' / "…" quote a word.
enum HAProxyLineTokenizer {
    static func words(of line: String, file: String, line number: Int) throws -> [String] {
        let words = try splitWords(of: line, file: file, line: number)
        // A byte that is not UTF-8 is fine in a comment (dropped above), not in a word.
        for word in words { try ConfigText.checkBytes(word, file: file, line: number, directive: words[0]) }
        return words
    }

    private static func splitWords(of line: String, file: String, line number: Int) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var iterator = Array(line.hasSuffix("\r") ? String(line.dropLast()) : line)[...]
        while let c = iterator.popFirst() {
            if let q = quote {
                if c == q { quote = nil; continue }
                if c == "\\", q == "\"", let next = iterator.first, next == "\"" || next == "\\" {
                    current.append(iterator.removeFirst()); continue
                }
                current.append(c); continue
            }
            switch c {
            case " ", "\t":
                if inWord { words.append(current); current = ""; inWord = false }
            case "#":
                if inWord { words.append(current) }
                return words
            case "\\":
                guard let next = iterator.popFirst() else {
                    throw ConfigError(file: file, line: number, directive: words.first ?? current,
                                      reason: "a line ends with \"\\\": stacklab reads one line per keyword")
                }
                current.append(next); inWord = true
            case "\"", "'":
                quote = c; inWord = true
            default:
                current.append(c); inWord = true
            }
        }
        if quote != nil {
            throw ConfigError(file: file, line: number, directive: words.first ?? current, reason: "a quote is not closed on this line")
        }
        if inWord { words.append(current) }
        return words
    }
}

// MARK: - The parser's state

private struct ServerOptions {
    var check = false
    var inter = 2000          // HAProxy default inter
    var fastinter: Int?
    var downinter: Int?
    var fall = 3              // HAProxy default fall
    var rise = 2              // HAProxy default rise
    var weight = 1            // HAProxy default weight
    var backup = false
}

/// Everything a `defaults` section can carry into the proxies that follow it.
private struct ProxySettings {
    var mode: String?          // nil = HAProxy's default, tcp
    var modeLine = 0
    var timeouts = HAProxyConfig.Timeouts()
    var httpLog = false
    var dontLogNull = false
    var forwardFor = false
    var maxconn: Int?
    var backlog: Int?
    var balance = HAProxyConfig.Balance.roundrobin
    var httpCheck: HAProxyConfig.HTTPCheck?
    var retries = 3            // HAProxy default retries
    var redispatch: Int?
    var defaultServer = ServerOptions()
    var defaultBackend: String?
    var defaultBackendLine = 0
    /// Whether a `log` line gives the proxy somewhere to log (`log global` counts only if global has a `log`).
    var hasLogAddress = false
}

private enum SectionKind: String {
    case global, defaults, frontend, backend, listen
    var isFrontend: Bool { self == .frontend || self == .listen || self == .defaults }
    var isBackend: Bool { self == .backend || self == .listen || self == .defaults }
}

private struct ProxyDraft {
    var kind: SectionKind
    var name: String
    var line: Int
    var settings: ProxySettings
    var binds: [HAProxyConfig.Bind] = []
    var servers: [HAProxyConfig.Server] = []
    var httpsRedirect: HAProxyConfig.HTTPSRedirect?
    /// The redirect in force came from an `http-request` rule (those run before every `redirect` rule).
    var redirectIsHTTPRequest = false
    /// A `redirect` rule was seen: `http-request` rules after it still run first, and HAProxy says so.
    var sawRedirectRule = false
    var requestHeaders: [HAProxyConfig.HeaderRule] = []
    var responseHeaders: [HAProxyConfig.HeaderRule] = []
}

private struct Parser {
    let file: String
    var global = HAProxyConfig.Global()
    var defaults = ProxySettings()
    var section: SectionKind?
    var current: ProxyDraft?
    var proxies: [ProxyDraft] = []
    var warnings: [String] = []
    var globalHasLog = false

    init(file: String) { self.file = file }

    func error(_ line: Int, _ directive: String, _ reason: String) -> ConfigError {
        ConfigError(file: file, line: line, directive: directive, reason: reason)
    }

    mutating func take(_ words: [String], line: Int) throws {
        let keyword = words[0]
        if let kind = SectionKind(rawValue: keyword) {
            try openSection(kind, words: words, line: line)
            return
        }
        if HAProxyConfigParser.otherSections.contains(keyword) {
            throw error(line, keyword, "the \"\(keyword)\" section is not supported by stacklab's haproxy (sections: global, defaults, frontend, backend, listen)")
        }
        guard let section else {
            let reason = ConfigText.nearest(keyword, in: HAProxyConfigParser.sectionKeywords).map { "unknown keyword — did you mean \"\($0)\"?" }
                ?? "every keyword belongs to a section: start one with global, defaults, frontend NAME, backend NAME or listen NAME"
            throw error(line, keyword, reason)
        }
        if section == .global {
            try takeGlobal(words, line: line)
        } else {
            try takeProxy(words, line: line, section: section)
        }
    }

    mutating func openSection(_ kind: SectionKind, words: [String], line: Int) throws {
        closeProxy()
        section = kind
        switch kind {
        case .global:
            guard words.count == 1 else { throw error(line, "global", "takes no name") }
        case .defaults:
            // A new defaults section starts again from HAProxy's built-in defaults.
            guard words.count <= 2 else { throw error(line, "defaults", "takes at most a name (\"defaults\" or \"defaults NAME\")") }
            defaults = ProxySettings()
        case .frontend, .backend, .listen:
            guard words.count >= 2 else { throw error(line, kind.rawValue, "needs a name, e.g. \"\(kind.rawValue) \(kind == .frontend ? "www" : "web")\"") }
            guard words.count == 2 else {
                throw error(line, kind.rawValue, "takes only a name; put \"\(words[2])\" on its own line inside the section")
            }
            let name = words[1]
            try checkName(name, of: "\(kind.rawValue) name", line: line, directive: kind.rawValue)
            if let other = proxies.first(where: { $0.name == name && clashes($0.kind, kind) }) {
                throw error(line, kind.rawValue, "\(kind.rawValue) '\(name)' has the same name as the \(other.kind.rawValue) declared at line \(other.line)")
            }
            current = ProxyDraft(kind: kind, name: name, line: line, settings: defaults)
        }
    }

    /// A frontend and a backend may share a name (each has one capability); anything else may not.
    func clashes(_ a: SectionKind, _ b: SectionKind) -> Bool {
        !((a == .frontend && b == .backend) || (a == .backend && b == .frontend))
    }

    mutating func closeProxy() {
        if let current { proxies.append(current) }
        current = nil
    }

    // MARK: global

    mutating func takeGlobal(_ words: [String], line: Int) throws {
        let keyword = words[0]
        switch keyword {
        case "maxconn":
            global.maxconn = try positive(words, line: line)
        case "ssl-default-bind-options":
            global.tlsProtocols = try bindOptions(words, line: line)
        case "log":
            // Accepted and not used: the miniature always writes the balancer's log to its own log view.
            guard words.count >= 2 else { throw error(line, "log", "needs a target, e.g. \"log stdout format raw local0\"") }
            globalHasLog = true
        case "daemon", "user", "group", "chroot", "pidfile":
            // Accepted and ignored: how the real process detaches, drops root and keeps its pid file changes nothing
            // the miniature shows (it runs inside stacklab, never as root).
            if keyword != "daemon", words.count != 2 { throw error(line, keyword, "takes one value") }
            if keyword == "daemon", words.count != 1 { throw error(line, keyword, "takes no value") }
        case "stats":
            // `stats socket PATH …` and `stats timeout T`: accepted and ignored; the runtime API is reached through
            // the stacklab shell instead of a Unix socket.
            guard words.count >= 3, words[1] == "socket" || words[1] == "timeout" else {
                throw error(line, "stats", "only \"stats socket PATH …\" and \"stats timeout T\" are accepted in global")
            }
        default:
            if let reason = TLSLeftOut.reason(for: keyword) { throw error(line, keyword, "not supported: " + reason) }
            throw error(line, keyword, ConfigText.unknownReason(keyword, kind: "keyword in global", supported: HAProxyConfigParser.globalKeywords,
                                                                realButUnsupported: HAProxyConfigParser.realGlobalKeywords, tool: "haproxy"))
        }
    }

    /// `ssl-default-bind-options`: the TLS versions, as HAProxy 2.6 reads them (`ssl-min-ver`, `ssl-max-ver`,
    /// `no-tlsv1x`), and `prefer-client-ciphers`, which is what lb-01's TLS does anyway.
    func bindOptions(_ words: [String], line: Int) throws -> [String] {
        let keyword = "ssl-default-bind-options"
        let versions = ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
        var minimum = 3, maximum = 4
        var off: Set<Int> = []
        var index = 1
        while index < words.count {
            let option = words[index]
            switch option {
            case "ssl-min-ver", "ssl-max-ver":
                guard index + 1 < words.count else {
                    throw error(line, keyword, "'\(option)' : missing the ssl/tls version on global statement '\(keyword)'.")
                }
                guard let version = versions.firstIndex(of: words[index + 1]) else {
                    throw error(line, keyword, "'\(words[index + 1])' : unknown ssl/tls version on global statement '\(keyword)'.")
                }
                if option == "ssl-min-ver" { minimum = version } else { maximum = version }
                index += 1
            case "no-sslv3": off.insert(0)
            case "no-tlsv10": off.insert(1)
            case "no-tlsv11": off.insert(2)
            case "no-tlsv12": off.insert(3)
            case "no-tlsv13": off.insert(4)
            case "prefer-client-ciphers": break   // lb-01's TLS always follows the client's order
            default:
                if let reason = TLSLeftOut.reason(for: option) { throw error(line, keyword, "'\(option)' is not supported: " + reason) }
                if ["no-tls-tickets", "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13", "strict-sni",
                    "allow-0rtt", "no-ca-names"].contains(option) {
                    throw error(line, keyword, "the option '\(option)' is not supported by stacklab's haproxy "
                        + "(supported: ssl-min-ver ssl-max-ver no-tlsv10 no-tlsv11 no-tlsv12 no-tlsv13 prefer-client-ciphers)")
                }
                throw error(line, keyword, "unknown option '\(option)' on global statement '\(keyword)'.")
            }
            index += 1
        }
        let chosen = (0...4).filter { $0 >= minimum && $0 <= maximum && !off.contains($0) }
        guard let low = chosen.first, let high = chosen.last else {
            throw error(line, keyword, "every SSL/TLS version is disabled (ssl-min-ver \(versions[minimum]), ssl-max-ver \(versions[maximum]))")
        }
        guard chosen.count == high - low + 1 else {
            throw error(line, keyword, "stacklab's TLS speaks one unbroken range of versions: use ssl-min-ver and ssl-max-ver")
        }
        guard low >= 3 else {
            throw error(line, keyword, "\(versions[low]) is old and insecure, so stacklab does not offer it: write ssl-min-ver TLSv1.2")
        }
        return chosen.map { versions[$0] }
    }

    // MARK: defaults, frontend, backend, listen

    /// HAProxy's warning for a keyword in a section that cannot use it; the keyword is then ignored, as HAProxy does.
    mutating func ignored(_ name: String, line: Int, missing: String, hint: String = "") {
        guard let current else { return }
        warnings.append("parsing [\(file):\(line)] : '\(name)' ignored because \(current.kind.rawValue) '\(current.name)' has no \(missing) capability.\(hint)")
    }

    mutating func takeProxy(_ words: [String], line: Int, section: SectionKind) throws {
        let keyword = words[0]
        let isFrontend = section.isFrontend, isBackend = section.isBackend
        var s = current?.settings ?? defaults
        defer {
            if current != nil { current!.settings = s } else { defaults = s }
        }
        switch keyword {
        case "mode":
            guard words.count == 2 else { throw error(line, "mode", "takes one value: http") }
            switch words[1] {
            case "http": s.mode = "http"; s.modeLine = line
            case "tcp": throw error(line, "mode", "mode tcp is not supported: stacklab's balancer speaks HTTP only; write \"mode http\"")
            default: throw error(line, "mode", "unknown mode \"\(words[1])\"; stacklab supports \"mode http\"")
            }
        case "log":
            // `log global` or a log target: accepted; the miniature writes each proxy's log to the balancer's log view.
            guard words.count >= 2 else { throw error(line, "log", "needs a target: write \"log global\"") }
            // HAProxy copies global's log targets when it reads "log global", so a later global log does not count.
            s.hasLogAddress = s.hasLogAddress || words[1] != "global" || globalHasLog
        case "maxconn":
            let value = try positive(words, line: line)
            if isFrontend { s.maxconn = value } else { ignored("maxconn", line: line, missing: "frontend", hint: " Maybe you want 'fullconn' instead ?") }
        case "backlog":
            let value = try positive(words, line: line)
            if isFrontend { s.backlog = value } else { ignored("backlog", line: line, missing: "frontend") }
        case "retries":
            let value = try count(words, line: line)
            if isBackend { s.retries = value } else { ignored("retries", line: line, missing: "backend") }
        case "timeout":
            try takeTimeout(words, line: line, settings: &s, isFrontend: isFrontend, isBackend: isBackend)
        case "balance":
            guard words.count == 2 else { throw error(line, "balance", "takes one algorithm: roundrobin, leastconn or source") }
            guard let balance = HAProxyConfig.Balance(rawValue: words[1]) else {
                throw error(line, "balance", ConfigText.unknownReason(words[1], kind: "algorithm", supported: HAProxyConfigParser.balances,
                                                                      realButUnsupported: HAProxyConfigParser.realBalances, tool: "haproxy"))
            }
            if isBackend { s.balance = balance } else { ignored("balance", line: line, missing: "backend") }
        case "option":
            try takeOption(words, line: line, settings: &s, isFrontend: isFrontend, isBackend: isBackend)
        case "no":
            guard words.count == 3, words[1] == "option" else { throw error(line, "no", "only \"no option NAME\" is supported") }
            switch words[2] {
            case "redispatch": s.redispatch = nil
            case "httplog": s.httpLog = false
            case "dontlognull": s.dontLogNull = false
            case "forwardfor": s.forwardFor = false
            default:
                throw error(line, "no option", ConfigText.unknownReason(words[2], kind: "option", supported: ["redispatch", "httplog", "dontlognull", "forwardfor"],
                                                                        realButUnsupported: HAProxyConfigParser.realOptions, tool: "haproxy"))
            }
        case "default_backend":
            guard words.count == 2 else { throw error(line, "default_backend", "takes one backend name") }
            if isFrontend { s.defaultBackend = words[1]; s.defaultBackendLine = line } else { ignored("default_backend", line: line, missing: "frontend") }
        case "bind":
            guard section != .defaults else { throw error(line, "bind", "\"bind\" is not allowed in defaults: put it in a frontend or listen section") }
            let bind = try parseBind(words, line: line)
            if isFrontend { current!.binds.append(bind) } else { ignored("bind", line: line, missing: "frontend") }
        case "http-request", "http-response", "redirect":
            try takeHTTPRule(words, line: line, section: section)
        case "default-server":
            guard isBackend else { throw error(line, "default-server", "'default-server' not allowed because \(section.rawValue) '\(current?.name ?? "")' has no backend capability") }
            s.defaultServer = try parseServerOptions(words, from: 1, line: line, base: s.defaultServer)
        case "server":
            guard section != .defaults else { throw error(line, "server", "\"server\" is not allowed in defaults: put it in a backend or listen section") }
            guard isBackend else { throw error(line, "server", "'server' not allowed because frontend '\(current!.name)' has no backend capability") }
            let server = try parseServer(words, line: line, defaults: s.defaultServer)
            if let other = current!.servers.first(where: { $0.name == server.name }) {
                throw error(line, "server", "\(section.rawValue) '\(current!.name)', another server named '\(server.name)' was already defined at line \(other.line), please use distinct names")
            }
            current!.servers.append(server)
        default:
            throw error(line, keyword, ConfigText.unknownReason(keyword, kind: "keyword", supported: HAProxyConfigParser.proxyKeywords,
                                                                realButUnsupported: HAProxyConfigParser.realProxyKeywords, tool: "haproxy"))
        }
    }

    /// `http-request redirect scheme https [code N] [if|unless COND]`, `redirect scheme https …`,
    /// `http-request set-header NAME VALUE [if|unless COND]`, `http-response set-header NAME VALUE [if|unless COND]`.
    mutating func takeHTTPRule(_ words: [String], line: Int, section: SectionKind) throws {
        let keyword = words[0]
        guard section == .frontend || section == .listen else {
            let place = section == .defaults ? "defaults" : "a backend"
            throw error(line, keyword, "not supported by stacklab's haproxy in \(place): \(keyword) rules work in a frontend or listen section; move it there")
        }
        if keyword == "http-request", current?.sawRedirectRule == true {
            warnings.append("parsing [\(file):\(line)] : a 'http-request' rule placed after a 'redirect' rule will still be processed before.")
        }
        var rest = Array(words.dropFirst())
        var action = keyword == "redirect" ? "redirect" : (rest.isEmpty ? "" : rest.removeFirst())
        let directive = keyword == "redirect" ? "redirect" : "\(keyword) \(action)"
        // The condition, if any, is everything from "if" or "unless" on.
        var condition = HAProxyConfig.TLSCondition.always
        if let index = rest.firstIndex(where: { $0 == "if" || $0 == "unless" }) {
            condition = try parseCondition(Array(rest[index...]), line: line, directive: directive)
            rest = Array(rest[..<index])
        }
        if keyword == "http-response", action == "redirect" { action = "?" }
        switch action {
        case "redirect":
            guard keyword != "http-response" else { break }
            guard rest.count >= 2, rest[0] == "scheme" else {
                throw error(line, directive, "stacklab supports \"redirect scheme https\" only (e.g. \"http-request redirect scheme https unless { ssl_fc }\")")
            }
            guard rest[1] == "https" else { throw error(line, directive, "the scheme to redirect to must be https") }
            var redirect = HAProxyConfig.HTTPSRedirect(code: 302, condition: condition, line: line)   // HAProxy's default code
            var index = 2
            while index < rest.count {
                switch rest[index] {
                case "code":
                    guard index + 1 < rest.count, let code = Int(rest[index + 1]), [301, 302, 303, 307, 308].contains(code) else {
                        throw error(line, directive, "code must be one of 301, 302, 303, 307, 308")
                    }
                    redirect.code = code
                    index += 2
                default:
                    throw error(line, directive, "\"\(rest[index])\" is not supported after redirect scheme https (supported: code N, if/unless { ssl_fc })")
                }
            }
            // The first rule that applies wins: http-request rules first, then redirect rules, each in file order.
            let fromHTTPRequest = keyword == "http-request"
            if current!.httpsRedirect == nil || (fromHTTPRequest && !current!.redirectIsHTTPRequest) {
                current!.httpsRedirect = redirect
                current!.redirectIsHTTPRequest = fromHTTPRequest
            }
            if !fromHTTPRequest { current!.sawRedirectRule = true }
            return
        case "set-header":
            guard rest.count == 2 else {
                throw error(line, directive, "takes a header name and one value; quote a value with spaces: \(directive) Strict-Transport-Security \"max-age=63072000\"")
            }
            let name = rest[0], value = rest[1]
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw error(line, directive, "\"\(name)\" is not a header name (letters, digits and -)")
            }
            if value.contains("%") {
                throw error(line, directive, "log-format expressions (%[…]) are not supported in stacklab: write the value itself")
            }
            let rule = HAProxyConfig.HeaderRule(name: name, value: value, condition: condition, line: line)
            if keyword == "http-request" { current!.requestHeaders.append(rule) } else { current!.responseHeaders.append(rule) }
            return
        default:
            break
        }
        let supported = keyword == "http-response" ? "set-header" : "redirect scheme https, set-header"
        throw error(line, directive, "not supported by stacklab's haproxy: the \(keyword) action \"\(action)\" (supported: \(supported))")
    }

    /// `if { ssl_fc }`, `unless { ssl_fc }`, `if !{ ssl_fc }`, `if ! { ssl_fc }`.
    func parseCondition(_ words: [String], line: Int, directive: String) throws -> HAProxyConfig.TLSCondition {
        var rest = words[1...]
        var negate = words[0] == "unless"
        if rest.first == "!" { negate.toggle(); rest = rest.dropFirst() }
        var tokens = Array(rest)
        if tokens.first == "!{" { negate.toggle(); tokens[0] = "{" }
        guard tokens == ["{", "ssl_fc", "}"] || tokens == ["ssl_fc"] else {
            throw error(line, directive, "stacklab understands one condition, ssl_fc: write \"if { ssl_fc }\" or \"unless { ssl_fc }\"")
        }
        return negate ? .plainHTTP : .overTLS
    }

    mutating func takeTimeout(_ words: [String], line: Int, settings s: inout ProxySettings, isFrontend: Bool, isBackend: Bool) throws {
        guard words.count >= 2 else { throw error(line, "timeout", "needs a name and a time, e.g. \"timeout connect 5s\"") }
        let name = words[1]
        guard HAProxyConfigParser.timeouts.contains(name) else {
            throw error(line, "timeout \(name)", ConfigText.unknownReason(name, kind: "timeout", supported: HAProxyConfigParser.timeouts,
                                                                          realButUnsupported: HAProxyConfigParser.realTimeouts, tool: "haproxy"))
        }
        guard words.count == 3 else { throw error(line, "timeout \(name)", "takes one time, e.g. \"timeout \(name) 5s\"") }
        guard let ms = Durations.haproxy(words[2]) else {
            throw error(line, "timeout \(name)", "\"\(words[2])\" is not a time: write a number with a unit (us, ms, s, m, h, d), e.g. 5s; no unit means ms")
        }
        let value: Int? = ms == 0 ? nil : ms   // HAProxy: 0 means no timeout at all
        switch name {
        case "client":
            if isFrontend { s.timeouts.client = value }
            else if let current { warnings.append("parsing [\(file):\(line)] : 'timeout client' will be ignored because backend '\(current.name)' has no frontend capability") }
        case "http-request":
            // Allowed in a backend too, where HAProxy uses it only behind a TCP frontend (never, in mode http).
            s.timeouts.httpRequest = value
        case "http-keep-alive":
            s.timeouts.httpKeepAlive = value
        case "connect", "server", "check":
            if isBackend {
                if name == "connect" { s.timeouts.connect = value } else if name == "server" { s.timeouts.server = value } else { s.timeouts.check = value }
            } else if let current {
                warnings.append("parsing [\(file):\(line)] : 'timeout \(name)' will be ignored because frontend '\(current.name)' has no backend capability")
            }
        default: break
        }
    }

    mutating func takeOption(_ words: [String], line: Int, settings s: inout ProxySettings, isFrontend: Bool, isBackend: Bool) throws {
        guard words.count >= 2 else { throw error(line, "option", "needs a name, e.g. \"option httplog\"") }
        let name = words[1]
        let directive = "option \(name)"
        func noArguments() throws {
            guard words.count == 2 else { throw error(line, directive, "takes no arguments in stacklab (\"\(words[2])\" is not supported)") }
        }
        switch name {
        case "httplog":
            try noArguments()
            if isFrontend { s.httpLog = true }
            else if let current { warnings.append("parsing [\(file):\(line)] : backend '\(current.name)' : 'option httplog' directive is ignored in backends.") }
        case "dontlognull":
            try noArguments()
            if isFrontend { s.dontLogNull = true } else { ignored("dontlognull", line: line, missing: "frontend") }
        case "forwardfor":
            try noArguments()
            s.forwardFor = true
        case "redispatch":
            guard words.count <= 3 else { throw error(line, directive, "takes at most one interval, e.g. \"option redispatch 1\"") }
            var interval = -1   // HAProxy default: redispatch on the last retry
            if words.count == 3 {
                let text = words[2]
                guard let n = Int(text), n != 0 else { throw error(line, directive, "\"\(text)\" is not a retry interval: a non-zero whole number, e.g. 1") }
                interval = n
            }
            if isBackend { s.redispatch = interval } else { ignored("redispatch", line: line, missing: "backend") }
        case "httpchk":
            let check = try parseHTTPCheck(words, line: line)
            if isBackend { s.httpCheck = check } else { ignored("httpchk", line: line, missing: "backend") }
        default:
            throw error(line, directive, ConfigText.unknownReason(name, kind: "option", supported: HAProxyConfigParser.options,
                                                                  realButUnsupported: HAProxyConfigParser.realOptions, tool: "haproxy"))
        }
    }

    func parseHTTPCheck(_ words: [String], line: Int) throws -> HAProxyConfig.HTTPCheck {
        let args = Array(words.dropFirst(2))
        var check = HAProxyConfig.HTTPCheck()
        switch args.count {
        case 0: break
        case 1: check.uri = args[0]                       // the old form: option httpchk /uri
        case 2: check.method = args[0]; check.uri = args[1]
        case 3: check.method = args[0]; check.uri = args[1]; check.version = args[2]
        default:
            throw error(line, "option httpchk", "takes at most METHOD URI VERSION, e.g. \"option httpchk GET /health\"")
        }
        guard check.method.allSatisfy({ $0.isASCII && $0.isUppercase }), !check.method.isEmpty else {
            throw error(line, "option httpchk", "\"\(check.method)\" is not an HTTP method: write it in capitals, e.g. GET")
        }
        guard check.uri.hasPrefix("/") else {
            throw error(line, "option httpchk", "the check URI must start with \"/\", e.g. \"option httpchk GET /health\"")
        }
        guard check.version == "HTTP/1.0" || check.version == "HTTP/1.1" else {
            throw error(line, "option httpchk", "the HTTP version must be HTTP/1.0 or HTTP/1.1 (extra headers are not supported)")
        }
        return check
    }

    func parseBind(_ words: [String], line: Int) throws -> HAProxyConfig.Bind {
        guard words.count >= 2 else { throw error(line, "bind", "needs an address, e.g. \"bind 127.0.1.1:8080\"") }
        let address = words[1]
        if address.contains(",") { throw error(line, "bind", "one address per bind line in stacklab: write a bind line for each") }
        if address.split(separator: ":").last?.contains("-") == true { throw error(line, "bind", "port ranges are not supported: bind one port") }
        let hostPort: (host: String, port: Int)
        switch ConfigText.hostPort(address, example: "127.0.1.1:8080") {
        case .success(let value): hostPort = value
        case .failure(let failure): throw error(line, "bind", failure.reason)
        }
        var bind = HAProxyConfig.Bind(host: hostPort.host, port: hostPort.port, line: line)
        var ssl = false
        var index = 2
        while index < words.count {
            switch words[index] {
            case "ssl": ssl = true
            case "crt":
                guard index + 1 < words.count else { throw error(line, "bind", "\"crt\" needs a certificate file, e.g. crt site.pem") }
                bind.certificateFile = words[index + 1]
                index += 1
            default:
                if let reason = TLSLeftOut.reason(for: words[index]) {
                    throw error(line, "bind", "the bind option \"\(words[index])\" is not supported: " + reason)
                }
                throw error(line, "bind", "the bind option \"\(words[index])\" is not supported (supported: ssl crt FILE)")
            }
            index += 1
        }
        if ssl, bind.certificateFile == nil { throw error(line, "bind", "\"ssl\" needs a certificate: add \"crt FILE\"") }
        if !ssl, bind.certificateFile != nil { throw error(line, "bind", "\"crt\" is used only with ssl: write \"ssl crt FILE\"") }
        return bind
    }

    func parseServer(_ words: [String], line: Int, defaults: ServerOptions) throws -> HAProxyConfig.Server {
        guard words.count >= 3 else { throw error(line, "server", "needs a name and an address, e.g. \"server web-01 127.0.1.11:8080 check\"") }
        let name = words[1]
        try checkName(name, of: "server name", line: line, directive: "server")
        let hostPort: (host: String, port: Int)
        switch ConfigText.hostPort(words[2], example: "127.0.1.11:8080") {
        case .success(let value): hostPort = value
        case .failure(let failure): throw error(line, "server", "\(name): \(failure.reason)")
        }
        if hostPort.host == ConfigText.everyAddress { throw error(line, "server", "\(name): a server needs the address to connect to, e.g. 127.0.1.11:8080") }
        let options = try parseServerOptions(words, from: 3, line: line, base: defaults)
        return HAProxyConfig.Server(name: name, line: line, host: hostPort.host, port: hostPort.port, check: options.check,
                                    inter: options.inter, fastinter: options.fastinter, downinter: options.downinter,
                                    fall: options.fall, rise: options.rise, weight: options.weight, backup: options.backup)
    }

    func parseServerOptions(_ words: [String], from start: Int, line: Int, base: ServerOptions) throws -> ServerOptions {
        var options = base
        let directive = words[0]
        var index = start
        func value(_ option: String) throws -> String {
            guard index + 1 < words.count else { throw error(line, directive, "\"\(option)\" needs a value") }
            index += 1
            return words[index]
        }
        func time(_ option: String) throws -> Int {
            let text = try value(option)
            guard let ms = Durations.haproxy(text), ms > 0 else {
                throw error(line, directive, "\(option) \"\(text)\" is not a time above zero: e.g. \(option) 2s (no unit means ms)")
            }
            return ms
        }
        func atLeastOne(_ option: String) throws -> Int {
            let text = try value(option)
            guard let n = ConfigText.integer(text), n >= 1 else { throw error(line, directive, "\(option) \"\(text)\" must be a whole number of 1 or more") }
            return n
        }
        while index < words.count {
            let option = words[index]
            switch option {
            case "check": options.check = true
            case "backup": options.backup = true
            case "inter": options.inter = try time(option)
            case "fastinter": options.fastinter = try time(option)
            case "downinter": options.downinter = try time(option)
            case "fall": options.fall = try atLeastOne(option)
            case "rise": options.rise = try atLeastOne(option)
            case "weight":
                let text = try value(option)
                guard let n = ConfigText.integer(text), n <= 256 else { throw error(line, directive, "weight \"\(text)\" must be 0 to 256") }
                options.weight = n
            default:
                throw error(line, directive, "server option \"\(option)\": " + ConfigText.unknownReason(
                    option, kind: "option", supported: HAProxyConfigParser.serverOptions,
                    realButUnsupported: HAProxyConfigParser.realServerOptions, tool: "haproxy"))
            }
            index += 1
        }
        return options
    }

    /// HAProxy's names allow letters, digits and - _ . : only (its invalid_char()).
    func checkName(_ name: String, of what: String, line: Int, directive: String) throws {
        if let bad = name.first(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0))) }) {
            throw error(line, directive, "character '\(bad)' is not permitted in \(what) '\(name)' (use letters, digits, - _ . :)")
        }
    }

    func positive(_ words: [String], line: Int) throws -> Int {
        guard words.count == 2 else { throw error(line, words[0], "takes one number") }
        guard let n = ConfigText.integer(words[1]), n >= 1 else { throw error(line, words[0], "\"\(words[1])\" must be a whole number of 1 or more") }
        return n
    }

    func count(_ words: [String], line: Int) throws -> Int {
        guard words.count == 2 else { throw error(line, words[0], "takes one number") }
        guard let n = ConfigText.integer(words[1]) else { throw error(line, words[0], "\"\(words[1])\" must be a whole number (0 or more)") }
        return n
    }

    // MARK: the end

    mutating func finish() throws -> HAProxyConfig {
        closeProxy()
        var config = HAProxyConfig(global: global)
        let backendNames = proxies.filter { $0.kind.isBackend }.map(\.name)
        for proxy in proxies {
            let s = proxy.settings
            if s.mode == nil {
                throw error(proxy.line, proxy.kind.rawValue, "\(proxy.kind.rawValue) '\(proxy.name)' has no \"mode http\": HAProxy's default is mode tcp, which stacklab does not support; add \"mode http\" to defaults")
            }
            if proxy.kind.isFrontend, let name = s.defaultBackend, !backendNames.contains(name) {
                let known = backendNames.isEmpty ? "there is no backend yet" : "backends: " + backendNames.joined(separator: ", ")
                throw error(s.defaultBackendLine, "default_backend", "unable to find required default_backend: '\(name)' (\(known))")
            }
            if proxy.kind == .listen, s.defaultBackend == proxy.name {
                throw error(s.defaultBackendLine, "default_backend", "loop detected for default_backend: '\(proxy.name)' (a listen section already uses its own servers)")
            }
            if proxy.kind.isFrontend {
                // A listen section without default_backend serves from its own servers.
                let defaultBackend = s.defaultBackend ?? (proxy.kind == .listen ? proxy.name : nil)
                config.frontends.append(HAProxyConfig.Frontend(
                    name: proxy.name, line: proxy.line, binds: proxy.binds, defaultBackend: defaultBackend,
                    timeouts: HAProxyConfig.Timeouts(client: s.timeouts.client, httpRequest: s.timeouts.httpRequest,
                                                     httpKeepAlive: s.timeouts.httpKeepAlive),
                    httpLog: s.httpLog, dontLogNull: s.dontLogNull, forwardFor: s.forwardFor, maxconn: s.maxconn, backlog: s.backlog,
                    httpsRedirect: proxy.httpsRedirect, requestHeaders: proxy.requestHeaders, responseHeaders: proxy.responseHeaders))
            }
            if proxy.kind.isBackend {
                config.backends.append(HAProxyConfig.Backend(
                    name: proxy.name, line: proxy.line, balance: s.balance, servers: proxy.servers, httpCheck: s.httpCheck,
                    retries: s.retries, redispatch: s.redispatch,
                    timeouts: HAProxyConfig.Timeouts(connect: s.timeouts.connect, server: s.timeouts.server, check: s.timeouts.check),
                    forwardFor: s.forwardFor))
            }
            // Post-parse warnings, in the order HAProxy 2.6 prints them for a proxy.
            let kind = proxy.kind == .listen ? "proxy" : proxy.kind.rawValue
            if proxy.kind.isFrontend, proxy.binds.isEmpty {
                config.warnings.append("\(kind) '\(proxy.name)' has no 'bind' directive. Please declare it as a backend if this was intended.")
            }
            if proxy.kind == .listen, s.defaultBackend != nil, !proxy.servers.isEmpty {
                config.warnings.append("In proxy '\(proxy.name)', the 'default_backend' rule always has precedence over the servers, which will never be used.")
            }
            // HAProxy 2.6 (cfgparse.c): a frontend needs timeout client; a backend with servers needs connect and server.
            let missing = (proxy.kind.isFrontend && s.timeouts.client == nil)
                || (proxy.kind.isBackend && !proxy.servers.isEmpty && (s.timeouts.connect == nil || s.timeouts.server == nil))
            if missing {
                config.warnings.append("missing timeouts for \(kind) '\(proxy.name)'. While not properly invalid, you will certainly "
                    + "encounter various problems with such a configuration. To fix this, please ensure that all following timeouts "
                    + "are set to a non-zero value: 'client', 'connect', 'server'.")
            }
            if proxy.kind.isFrontend, s.httpLog, !s.hasLogAddress {
                // option httplog without a log target logs nothing.
                config.warnings.append("log format ignored for \(kind) '\(proxy.name)' since it has no log address.")
            }
        }
        config.warnings = warnings + config.warnings
        return config
    }
}
