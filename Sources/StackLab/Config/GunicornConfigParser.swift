/// Reads gunicorn.conf.py as plain `name = value` lines with Python literals: "str", 'str', whole numbers,
/// True/False/None and lists of strings (a list may run over several lines).
///
/// ```swift
/// let config = try GunicornConfigParser.parse(#"bind = "127.0.1.11:8000""#, file: "web-01/gunicorn.conf.py")
/// config.bindPort   // 8000
/// ```
///
/// gunicorn runs the file as Python; stacklab reads only the literal form, so imports, expressions and functions are
/// errors that say so. A name set twice keeps its last value, as in Python.
public enum GunicornConfigParser {
    public static func parse(_ text: String, file: String) throws -> GunicornConfig {
        var config = GunicornConfig()
        let text = ConfigText.unixLines(text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < lines.count {
            let number = index + 1
            var statement = stripComment(lines[index])
            index += 1
            if statement.trimmingSpaces.isEmpty { continue }
            // A list or tuple may continue on the following lines until its bracket closes, as in Python. The
            // brackets are counted line by line, so a file of a million "[" lines is read once, not a million times.
            var open = Brackets(statement)
            while open.isOpen, index < lines.count {
                let more = stripComment(lines[index])
                open.add(more)
                statement += " " + more
                index += 1
            }
            func fail(_ name: String, _ reason: String) -> ConfigError {
                ConfigError(file: file, line: number, directive: name, reason: reason)
            }
            guard let equals = statement.firstIndex(of: "="), !statement.hasPrefix(" "), !statement.hasPrefix("\t") else {
                throw fail(statement.trimmingSpaces.split(separator: " ").first.map(String.init) ?? "", onlyAssignments)
            }
            let name = String(statement[..<equals]).trimmingSpaces
            let valueText = String(statement[statement.index(after: equals)...]).trimmingSpaces
            guard isIdentifier(name), !valueText.hasPrefix("=") else { throw fail(name, onlyAssignments) }
            guard let value = PythonLiteral.parse(valueText) else {
                throw fail(name, onlyAssignments + ": the value must be a number, a \"string\", True/False or a list of strings")
            }
            try apply(name, value, to: &config, fail: { fail(name, $0) })
        }
        return config
    }

    static let onlyAssignments = "only \"name = value\" lines are supported"

    static let settings = ["bind", "workers", "timeout", "graceful_timeout", "accesslog", "errorlog", "loglevel", "wsgi_app", "raw_env",
                           "worker_class", "keepalive", "backlog", "worker_connections", "limit_request_line", "limit_request_fields",
                           "limit_request_field_size"]
    /// Real gunicorn settings outside the subset (gunicorn/config.py).
    static let realSettings: Set<String> = [
        "threads", "max_requests", "max_requests_jitter", "chdir", "daemon", "pidfile", "user", "group",
        "umask", "preload_app", "reload", "reload_engine", "reload_extra_files", "certfile", "keyfile", "proc_name", "default_proc_name",
        "access_log_format", "capture_output", "forwarded_allow_ips", "worker_tmp_dir", "spew", "check_config", "print_config", "statsd_host", "statsd_prefix", "dogstatsd_tags",
        "syslog", "syslog_addr", "syslog_prefix", "syslog_facility", "pythonpath", "paste", "proxy_protocol", "proxy_allow_ips",
        "ssl_version", "ssl_context", "ca_certs", "ciphers", "cert_reqs", "suppress_ragged_eofs", "do_handshake_on_connect", "sendfile",
        "reuse_port", "logger_class", "logconfig", "logconfig_dict", "logconfig_json", "disable_redirect_access_to_syslog",
        "enable_stdio_inheritance", "strip_header_spaces", "tmp_upload_dir", "secure_scheme_headers", "raw_paste_global_conf",
        "initgroups", "worker_abort", "worker_int", "worker_exit", "on_starting", "on_reload", "when_ready", "pre_fork", "post_fork",
        "post_worker_init", "pre_exec", "pre_request", "post_request", "child_exit", "nworkers_changed", "on_exit", "config",
        "permit_obsolete_folding", "header_map", "casefold_http_method", "permit_unconventional_http_method",
        "permit_unconventional_http_version", "forwarder_headers",
    ]

    static func apply(_ name: String, _ value: PythonLiteral, to config: inout GunicornConfig, fail: (String) -> ConfigError) throws {
        func string() throws -> String {
            guard case .string(let s) = value else { throw fail("must be a \"string\"") }
            return s
        }
        func number(atLeast minimum: Int) throws -> Int {
            guard case .int(let n) = value else { throw fail("must be a whole number, e.g. \(name) = \(max(minimum, 1))") }
            guard n >= minimum else { throw fail("must be \(minimum) or more") }
            return n
        }
        switch name {
        case "bind":
            let address: String
            switch value {
            case .string(let s): address = s
            case .list(let items) where items.count == 1: address = items[0]
            case .list: throw fail("stacklab's gunicorn listens on one address: bind = \"127.0.1.11:8000\"")
            default: throw fail("must be a \"host:port\" string, e.g. bind = \"127.0.1.11:8000\"")
            }
            if address.hasPrefix("unix:") || address.hasPrefix("fd://") {
                throw fail("unix sockets and file descriptors are not supported: bind = \"127.0.1.11:8000\"")
            }
            // gunicorn: a host without a port listens on 8000.
            let withPort = address.contains(":") ? address : address + ":8000"
            switch ConfigText.hostPort(withPort, example: "127.0.1.11:8000") {
            case .success(let hostPort): config.bindHost = hostPort.host; config.bindPort = hostPort.port
            case .failure(let failure): throw fail(failure.reason)
            }
        case "workers":
            let n = try number(atLeast: 1)
            // Each worker is a pid and a slot in the miniature, not a process: a thousand is more than a class needs.
            guard n <= 1024 else { throw fail("stacklab's gunicorn runs at most 1024 workers") }
            config.workers = n
        case "backlog": config.backlog = try number(atLeast: 1)
        case "worker_connections":
            // Accepted: gevent and eventlet workers use it; a sync worker, the only kind stacklab runs, holds one
            // connection at a time whatever it says.
            config.workerConnections = try number(atLeast: 1)
        case "limit_request_line":
            // gunicorn: anything from 8190 up means its largest, 8190; 0 means no limit.
            let n = try number(atLeast: 0)
            config.limitRequestLine = min(n, 8190)
        case "limit_request_fields":
            // gunicorn: 0 (or anything above 32768) means its largest, 32768.
            let n = try number(atLeast: 0)
            config.limitRequestFields = n == 0 || n > 32768 ? 32768 : n
        case "limit_request_field_size": config.limitRequestFieldSize = try number(atLeast: 0)
        case "timeout": config.timeout = try number(atLeast: 0)   // gunicorn: 0 = no worker timeout
        case "graceful_timeout": config.gracefulTimeout = try number(atLeast: 0)
        case "keepalive":
            // gunicorn's validate_pos_int. Kept and shown, never used: "sync worker does not support persistent
            // connections and will ignore this option" (gunicorn's own words) — the only worker stacklab runs closes
            // each connection after its response, `Connection: close`.
            switch value {
            case .int(let n) where n < 0: throw fail("Invalid value for keepalive: \(n) (Value must be positive: \(n))")
            case .int(let n): config.keepalive = n
            case .bool(let b): config.keepalive = b ? 1 : 0
            case .string(let s):
                guard let n = Int(s.trimmingSpaces) else {
                    throw fail("Invalid value for keepalive: \(s) (invalid literal for int() with base 0: '\(s)')")
                }
                guard n >= 0 else { throw fail("Invalid value for keepalive: \(s) (Value must be positive: \(n))") }
                config.keepalive = n
            default: throw fail("must be a whole number of seconds, e.g. keepalive = 2 (a sync worker ignores it)")
            }
        case "accesslog":
            if case .null = value { config.accessLog = nil } else { config.accessLog = try string() }
        case "errorlog": config.errorLog = try string()
        case "loglevel":
            let level = try string().lowercased()
            let levels = ["debug", "info", "warning", "error", "critical"]
            guard levels.contains(level) else { throw fail("invalid level \"\(level)\" (levels: \(levels.joined(separator: ", ")))") }
            config.logLevel = level
        case "wsgi_app":
            let app = try string()
            guard app == "foobar:app" else { throw fail("stacklab's gunicorn runs the foobar app only: wsgi_app = \"foobar:app\"") }
            config.wsgiApp = app
        case "raw_env":
            guard case .list(let items) = value else { throw fail("must be a list of \"KEY=VALUE\" strings") }
            var environment: [String: String] = [:]
            for item in items {
                guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { throw fail("\"\(item)\" is not KEY=VALUE") }
                environment[String(item[..<eq])] = String(item[item.index(after: eq)...])
            }
            config.environment = environment
        case "worker_class":
            let kind = try string()
            guard kind == "sync" || kind == "gunicorn.workers.sync.SyncWorker" else {
                throw fail("worker class \"\(kind)\" is not supported by stacklab's gunicorn: only \"sync\"")
            }
        default:
            throw fail(ConfigText.unknownReason(name, kind: "setting", supported: settings, realButUnsupported: realSettings, tool: "gunicorn"))
        }
    }

    static func stripComment(_ line: String) -> String {
        var quote: Character?
        var escaped = false
        var result = ""
        for c in line {
            if let q = quote {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == q { quote = nil }
            } else if c == "#" {
                break
            } else if c == "\"" || c == "'" {
                quote = c
            }
            result.append(c)
        }
        return result.hasSuffix("\r") ? String(result.dropLast()) : result
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return s.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}

/// The Python literals a gunicorn.conf.py value may be, in stacklab's reading.
enum PythonLiteral: Equatable {
    case string(String), int(Int), bool(Bool), null, list([String])

    static func parse(_ text: String) -> PythonLiteral? {
        var scanner = Substring(text)
        guard let value = parseValue(&scanner) else { return nil }
        guard scanner.trimmingSpaces.isEmpty else { return nil }
        return value
    }

    private static func parseValue(_ s: inout Substring) -> PythonLiteral? {
        s = s.drop { $0 == " " || $0 == "\t" }
        switch s.first {
        case "\"", "'": return parseString(&s).map { .string($0) }
        case "[", "(":
            let close: Character = s.first == "[" ? "]" : ")"
            s.removeFirst()
            var items: [String] = []
            while true {
                s = s.drop { $0 == " " || $0 == "\t" }
                if s.first == close { s.removeFirst(); return .list(items) }
                guard let item = parseString(&s) else { return nil }
                items.append(item)
                s = s.drop { $0 == " " || $0 == "\t" }
                if s.first == "," { s.removeFirst() } else if s.first != close { return nil }
            }
        default:
            let word = s.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
            s = s.dropFirst(word.count)
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .null
            default:
                let digits = word.filter { $0 != "_" }
                guard !digits.isEmpty, let n = Int(digits) else { return nil }
                return .int(n)
            }
        }
    }

    private static func parseString(_ s: inout Substring) -> String? {
        guard let quote = s.first, quote == "\"" || quote == "'" else { return nil }
        s.removeFirst()
        var result = ""
        while let c = s.popFirst() {
            if c == quote { return result }
            if c == "\\", let next = s.popFirst() {
                switch next {
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: result.append(next)
                }
            } else {
                result.append(c)
            }
        }
        return nil
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}

extension GunicornConfigParser {
    /// The square and round brackets a statement has opened and not yet closed.
    struct Brackets {
        var square = 0, round = 0
        init(_ text: String) { add(text) }
        mutating func add(_ text: String) {
            for c in text.utf8 {
                switch c {
                case UInt8(ascii: "["): square += 1
                case UInt8(ascii: "]"): square -= 1
                case UInt8(ascii: "("): round += 1
                case UInt8(ascii: ")"): round -= 1
                default: break
                }
            }
        }
        var isOpen: Bool { square > 0 || round > 0 }
    }
}
