/// Reads the subset of nginx.conf that the web server understands.
///
/// ```swift
/// let config = try NginxConfigParser.parse(text, file: "web-01/nginx.conf")
/// config.servers[0].location(for: "/api/posts").proxyPass   // "http://app"
/// ```
///
/// Settings inherit as nginx merges them: http → server → location for root, index, proxy_* times and versions,
/// access_log, server_tokens, default_type; `proxy_set_header` and `add_header` come down only to a level that has
/// none of its own. Relative paths stay relative: the runtime resolves them against the server's lab folder, as
/// nginx's `-p` prefix does.
public enum NginxConfigParser {
    public static func parse(_ text: String, file: String) throws -> NginxConfig {
        let tree = try NginxTokenizer.parse(ConfigText.unixLines(text), file: file)
        var reader = NginxReader(file: file)
        return try reader.readMain(tree)
    }

    enum Context: String { case main, events, http, upstream, server, location }

    /// Where each supported directive may appear (nginx's own contexts, narrowed where stacklab supports less).
    static let contexts: [String: [Context]] = [
        "user": [.main], "worker_processes": [.main], "pid": [.main], "events": [.main], "http": [.main],
        "error_log": [.main, .http, .server, .location],
        "worker_connections": [.events],
        "include": [.main, .events, .http, .server, .location, .upstream],
        "upstream": [.http], "server": [.http, .upstream], "keepalive": [.upstream],
        "access_log": [.http, .server, .location], "server_tokens": [.http, .server, .location],
        "sendfile": [.http, .server, .location], "keepalive_timeout": [.http, .server, .location],
        "default_type": [.http, .server, .location],
        "client_header_timeout": [.http, .server], "client_body_timeout": [.http, .server, .location],
        "client_max_body_size": [.http, .server, .location], "large_client_header_buffers": [.http, .server],
        "root": [.http, .server, .location], "index": [.http, .server, .location],
        "proxy_http_version": [.http, .server, .location], "proxy_connect_timeout": [.http, .server, .location],
        "proxy_read_timeout": [.http, .server, .location], "proxy_send_timeout": [.http, .server, .location],
        "proxy_next_upstream": [.http, .server, .location], "proxy_set_header": [.http, .server, .location],
        "add_header": [.http, .server, .location],
        "ssl_certificate": [.http, .server], "ssl_certificate_key": [.http, .server], "ssl_protocols": [.http, .server],
        "listen": [.server], "server_name": [.server], "location": [.server, .location], "return": [.server, .location],
        "proxy_pass": [.location],
    ]

    /// The directives to name in a reason: without `include` (only mime.types) and without those that nginx allows
    /// here but stacklab takes only higher up (error_log, nested location).
    static func supported(in context: Context) -> [String] {
        let hidden: Set<String> = context == .server || context == .location ? ["include", "error_log", "location"] : ["include"]
        let names = contexts.filter { $0.value.contains(context) && !hidden.contains($0.key) }.map(\.key).sorted()
        return context == .server ? names + ["location"] : names
    }

    /// Real nginx directives outside the subset: named plainly as "not supported" rather than as typos.
    static let realDirectives: Set<String> = [
        "gzip", "gzip_types", "gzip_vary", "gzip_proxied", "gzip_comp_level", "gzip_min_length", "gzip_disable", "gzip_http_version",
        "send_timeout", "try_files", "rewrite", "if", "set",
        "map", "geo", "limit_req", "limit_req_zone", "limit_conn", "limit_conn_zone", "ssl_ciphers", "ssl_prefer_server_ciphers",
        "ssl_session_cache", "ssl_session_timeout", "ssl_session_tickets", "ssl_dhparam", "ssl_stapling", "ssl_stapling_verify",
        "ssl_trusted_certificate", "ssl_ecdh_curve", "ssl_client_certificate", "ssl_verify_client", "proxy_buffering", "proxy_buffers",
        "proxy_buffer_size", "proxy_busy_buffers_size", "proxy_cache", "proxy_cache_path", "proxy_cache_valid", "proxy_cache_key",
        "proxy_redirect", "proxy_hide_header", "proxy_pass_header", "proxy_intercept_errors", "proxy_ssl_verify", "proxy_ssl_server_name",
        "proxy_next_upstream_tries", "proxy_next_upstream_timeout", "proxy_ignore_client_abort", "proxy_request_buffering",
        "proxy_max_temp_file_size", "proxy_temp_path", "proxy_method", "proxy_set_body", "proxy_cookie_domain", "proxy_cookie_path",
        "proxy_bind", "proxy_pass_request_headers", "proxy_pass_request_body", "proxy_headers_hash_max_size", "log_format", "tcp_nopush",
        "tcp_nodelay", "types_hash_max_size", "types", "server_names_hash_bucket_size", "alias", "autoindex", "error_page", "expires",
        "charset", "deny", "allow", "auth_basic", "auth_basic_user_file", "stub_status", "worker_rlimit_nofile", "multi_accept", "use",
        "accept_mutex", "fastcgi_pass", "fastcgi_param", "uwsgi_pass", "grpc_pass", "scgi_pass", "least_conn", "ip_hash", "hash",
        "random", "zone", "sub_filter", "ssi", "etag", "if_modified_since", "open_file_cache", "resolver", "resolver_timeout",
        "client_body_buffer_size", "client_header_buffer_size", "reset_timedout_connection",
        "keepalive_requests", "keepalive_time", "keepalive_disable", "lingering_close", "port_in_redirect", "absolute_redirect",
        "server_name_in_redirect", "merge_slashes", "underscores_in_headers", "ignore_invalid_headers", "real_ip_header",
        "set_real_ip_from", "http2", "ssl", "worker_cpu_affinity", "worker_priority", "daemon", "master_process", "env", "load_module",
        "thread_pool", "aio", "directio", "output_buffers", "postpone_output", "internal", "limit_except", "satisfy", "break",
        "log_not_found", "log_subrequest", "open_log_file_cache", "recursive_error_pages", "mirror", "add_trailer", "variables_hash_max_size",
        "server_names_hash_max_size", "ssl_buffer_size", "chunked_transfer_encoding", "server_name_in_redirect", "disable_symlinks",
        "debug_connection", "worker_shutdown_timeout", "timer_resolution", "lock_file", "working_directory", "stream", "mail",
    ]

    static let errorLogLevels: Set<String> = ["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"]
}

// MARK: - The values one level (http, server or location) sets

/// What a level sets itself; nil = inherited from the level above (nginx's merge).
private struct Level {
    var root: String?
    var index: [String]?
    var proxyHTTPVersion: String?
    var proxyConnectTimeout: Int?
    var proxyReadTimeout: Int?
    var proxySendTimeout: Int?
    var proxyNextUpstream: [String]?
    var proxySetHeaders: [(name: String, value: String)]?
    var addHeaders: [(name: String, value: String, always: Bool)]?
    var accessLog: NginxConfig.AccessLog?
    var serverTokens: Bool?
    var defaultType: String?
    var keepaliveTimeout: Int?
    var clientHeaderTimeout: Int?
    var clientBodyTimeout: Int?
    var clientMaxBodySize: Int?
    var largeHeaderBuffers: (count: Int, size: Int)?
    var sslCertificate: String?
    var sslCertificateKey: String?
    var sslProtocols: [String]?

    func inheriting(from parent: Level) -> Level {
        var merged = self
        merged.root = root ?? parent.root
        merged.index = index ?? parent.index
        merged.proxyHTTPVersion = proxyHTTPVersion ?? parent.proxyHTTPVersion
        merged.proxyConnectTimeout = proxyConnectTimeout ?? parent.proxyConnectTimeout
        merged.proxyReadTimeout = proxyReadTimeout ?? parent.proxyReadTimeout
        merged.proxySendTimeout = proxySendTimeout ?? parent.proxySendTimeout
        merged.proxyNextUpstream = proxyNextUpstream ?? parent.proxyNextUpstream
        merged.proxySetHeaders = proxySetHeaders ?? parent.proxySetHeaders   // all or nothing, as nginx does
        merged.addHeaders = addHeaders ?? parent.addHeaders                  // all or nothing, as nginx does
        merged.accessLog = accessLog ?? parent.accessLog
        merged.serverTokens = serverTokens ?? parent.serverTokens
        merged.defaultType = defaultType ?? parent.defaultType
        merged.keepaliveTimeout = keepaliveTimeout ?? parent.keepaliveTimeout
        merged.clientHeaderTimeout = clientHeaderTimeout ?? parent.clientHeaderTimeout
        merged.clientBodyTimeout = clientBodyTimeout ?? parent.clientBodyTimeout
        merged.clientMaxBodySize = clientMaxBodySize ?? parent.clientMaxBodySize
        merged.largeHeaderBuffers = largeHeaderBuffers ?? parent.largeHeaderBuffers
        merged.sslCertificate = sslCertificate ?? parent.sslCertificate
        merged.sslCertificateKey = sslCertificateKey ?? parent.sslCertificateKey
        merged.sslProtocols = sslProtocols ?? parent.sslProtocols
        return merged
    }

    func location(_ match: NginxConfig.Location.Match, line: Int, proxyPass: String?, returnDirective: (code: Int, text: String?)?) -> NginxConfig.Location {
        var location = NginxConfig.Location(match: match, line: line, root: root, proxyPass: proxyPass, returnDirective: returnDirective,
                                            accessLog: accessLog)
        if let index { location.index = index }
        if let proxyHTTPVersion { location.proxyHTTPVersion = proxyHTTPVersion }
        if let proxyConnectTimeout { location.proxyConnectTimeout = proxyConnectTimeout }
        if let proxyReadTimeout { location.proxyReadTimeout = proxyReadTimeout }
        if let proxySendTimeout { location.proxySendTimeout = proxySendTimeout }
        if let proxyNextUpstream { location.proxyNextUpstream = proxyNextUpstream }
        if let proxySetHeaders { location.proxySetHeaders = proxySetHeaders }
        if let addHeaders { location.addHeaders = addHeaders }
        if let serverTokens { location.serverTokens = serverTokens }
        if let defaultType { location.defaultType = defaultType }
        if let clientMaxBodySize { location.clientMaxBodySize = clientMaxBodySize }
        if let clientBodyTimeout { location.clientBodyTimeout = clientBodyTimeout }
        return location
    }
}

private struct LocationDraft {
    var match: NginxConfig.Location.Match
    var line: Int
    var level = Level()
    var proxyPass: String?
    var returnDirective: (code: Int, text: String?)?
}

private struct ProxyPassUse {
    var url: String
    var host: String
    var hasPort: Bool
    var line: Int
}

// MARK: - Reading the tree

private struct NginxReader {
    typealias Context = NginxConfigParser.Context
    let file: String
    var config = NginxConfig()
    var proxyPasses: [ProxyPassUse] = []
    var sawEvents = false
    var mainErrorLog: (file: String, level: String)?
    var httpErrorLog: (file: String, level: String)?

    init(file: String) { self.file = file }

    func error(_ d: NginxDirective, _ reason: String) -> ConfigError {
        ConfigError(file: file, line: d.line, directive: d.name, reason: reason)
    }

    // MARK: shared checks

    /// Unknown, misspelt, unsupported or misplaced: nginx's reason, plus what to do about it.
    func check(_ d: NginxDirective, in context: Context) throws {
        guard let allowed = NginxConfigParser.contexts[d.name] else {
            let supported = NginxConfigParser.supported(in: context)
            if let reason = TLSLeftOut.reason(for: d.name) { throw error(d, "not supported: " + reason) }
            if NginxConfigParser.realDirectives.contains(d.name) {
                throw error(d, "not supported by stacklab's nginx (supported here: \(ConfigText.compact(supported)))")
            }
            if let near = ConfigText.nearest(d.name, in: Array(NginxConfigParser.contexts.keys)) {
                throw error(d, "unknown directive — did you mean \"\(near)\"?")
            }
            throw error(d, "unknown directive (supported here: \(ConfigText.compact(supported)))")
        }
        guard allowed.contains(context) else {
            let places = allowed.map { $0 == .main ? "the top of the file" : "\($0.rawValue) { }" }.joined(separator: " or ")
            throw error(d, "\"\(d.name)\" directive is not allowed here (it belongs in \(places))")
        }
        let isBlock = ["events", "http", "upstream", "location"].contains(d.name) || (d.name == "server" && context == .http)
        if isBlock, d.block == nil { throw error(d, "directive \"\(d.name)\" has no opening \"{\"") }
        if !isBlock, d.block != nil { throw error(d, "directive \"\(d.name)\" is not terminated by \";\"") }
    }

    /// nginx's "invalid number of arguments", with a hint when the arguments run onto later lines (a missing `;`).
    func arguments(_ d: NginxDirective, _ range: ClosedRange<Int>) throws {
        guard !range.contains(d.args.count) else { return }
        var reason = "invalid number of arguments in \"\(d.name)\" directive"
        if d.args.count > range.upperBound, let later = d.argLines.first(where: { $0 > d.line }) {
            reason += " — missing \";\" at the end of line \(later - 1)?"
        }
        throw error(d, reason)
    }

    func flag(_ d: NginxDirective) throws -> Bool {
        try arguments(d, 1...1)
        switch d.args[0] {
        case "on": return true
        case "off": return false
        default: throw error(d, "invalid value \"\(d.args[0])\", it must be \"on\" or \"off\"")
        }
    }

    func time(_ d: NginxDirective, _ text: String) throws -> Int {
        guard let ms = Durations.nginx(text) else {
            throw error(d, "\"\(text)\" is not a time: write e.g. 60s, 500ms or 1m (a bare number means seconds)")
        }
        return ms
    }

    /// nginx's sizes: bytes, or a number with k/K, m/M, g/G; nil when it is not one (or is too large to hold).
    static func size(_ text: String) -> Int? {
        var digits = Substring(text)
        var unit = 1
        switch text.last {
        case "k", "K": unit = 1 << 10
        case "m", "M": unit = 1 << 20
        case "g", "G": unit = 1 << 30
        default: break
        }
        if unit > 1 { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: unit)
        return overflow || bytes > Int(Int32.max) * 1024 ? nil : bytes
    }

    func duplicate(_ d: NginxDirective, _ isSet: Bool) throws {
        if isSet { throw error(d, "\"\(d.name)\" directive is duplicate") }
    }

    // MARK: main and events

    mutating func readMain(_ tree: [NginxDirective]) throws -> NginxConfig {
        var sawHTTP = false
        var seenOnce: Set<String> = []
        for d in tree {
            try check(d, in: .main)
            if ["user", "worker_processes", "pid"].contains(d.name) {
                try duplicate(d, seenOnce.contains(d.name))
                seenOnce.insert(d.name)
            }
            switch d.name {
            case "user":
                // Accepted and ignored: the miniature never runs as root, so there is no user to switch to.
                try arguments(d, 1...2)
            case "worker_processes":
                // Accepted and not used: the miniature serves every server on one event loop; the count changes
                // nothing a learner can observe.
                try arguments(d, 1...1)
                guard d.args[0] == "auto" || (ConfigText.integer(d.args[0]) ?? 0) >= 1 else {
                    throw error(d, "invalid value \"\(d.args[0])\": a number of 1 or more, or auto")
                }
            case "pid":
                // Accepted and ignored: the miniature keeps no pid file.
                try arguments(d, 1...1)
            case "error_log":
                mainErrorLog = try errorLog(d)
            case "include":
                try include(d)
            case "events":
                try duplicate(d, sawEvents)
                sawEvents = true
                try readEvents(d.block ?? [])
            case "http":
                try duplicate(d, sawHTTP)
                sawHTTP = true
                try readHTTP(d.block ?? [])
            default:
                throw error(d, "\"\(d.name)\" directive is not allowed here")
            }
        }
        guard sawEvents else {
            throw ConfigError(file: file, line: 0, directive: "events", reason: "no \"events\" section in configuration: add events { worker_connections 1024; }")
        }
        let errorLog = httpErrorLog ?? mainErrorLog
        config.errorLog = errorLog?.file
        if let level = errorLog?.level { config.errorLogLevel = level }
        return config
    }

    func errorLog(_ d: NginxDirective) throws -> (file: String, level: String) {
        try arguments(d, 1...2)
        if d.args.count == 2, !NginxConfigParser.errorLogLevels.contains(d.args[1]) {
            throw error(d, "invalid log level \"\(d.args[1])\" (levels: debug, info, notice, warn, error, crit, alert, emerg)")
        }
        return (d.args[0], d.args.count == 2 ? d.args[1] : "error")   // nginx's default level
    }

    func include(_ d: NginxDirective) throws {
        try arguments(d, 1...1)
        // The miniature has nginx's MIME types built in, so mime.types needs no file; other includes would need one.
        guard d.args[0] == "mime.types" || d.args[0].hasSuffix("/mime.types") else {
            throw error(d, "only \"include mime.types;\" is supported (its types are built in): keep the rest of the configuration in nginx.conf")
        }
    }

    mutating func readEvents(_ block: [NginxDirective]) throws {
        for d in block {
            try check(d, in: .events)
            switch d.name {
            case "worker_connections":
                try arguments(d, 1...1)
                guard let n = ConfigText.integer(d.args[0]), n >= 1 else { throw error(d, "invalid value \"\(d.args[0])\": a number of 1 or more") }
                config.workerConnections = n
            case "include": try include(d)
            default: throw error(d, "\"\(d.name)\" directive is not allowed here")
            }
        }
    }

    // MARK: http, upstream

    mutating func readHTTP(_ block: [NginxDirective]) throws {
        var http = Level()
        var serverBlocks: [NginxDirective] = []
        for d in block {
            try check(d, in: .http)
            switch d.name {
            case "upstream": try readUpstream(d)
            case "server": serverBlocks.append(d)
            case "error_log": httpErrorLog = try errorLog(d)
            case "include": try include(d)
            default: try setLevel(&http, d)
            }
        }
        // Servers after upstreams, so a proxy_pass may name an upstream defined further down, as in nginx.
        for d in serverBlocks { try readServer(d, http: http) }
        let names = Set(config.upstreams.map(\.name))
        for use in proxyPasses {
            let known = !use.hasPort && names.contains(use.host)
            let address = use.host == "localhost" || ConfigText.isIPv4(use.host)
            if !known && !address {
                let name = use.url.dropFirst("http://".count).prefix { $0 != "/" }
                throw ConfigError(file: file, line: use.line, directive: "proxy_pass",
                                  reason: "host not found in upstream \"\(name)\"" + (names.isEmpty ? " (no upstream block defines it)" : " (upstreams: \(names.sorted().joined(separator: ", ")))"))
            }
        }
    }

    mutating func readUpstream(_ d: NginxDirective) throws {
        try arguments(d, 1...1)
        let name = d.args[0]
        if config.upstreams.contains(where: { $0.name == name }) { throw error(d, "duplicate upstream \"\(name)\"") }
        var upstream = NginxConfig.Upstream(name: name, line: d.line)
        var sawKeepalive = false
        for inner in d.block ?? [] {
            try check(inner, in: .upstream)
            switch inner.name {
            case "server": upstream.servers.append(try upstreamServer(inner))
            case "keepalive":
                try arguments(inner, 1...1)
                try duplicate(inner, sawKeepalive)
                sawKeepalive = true
                guard let n = ConfigText.integer(inner.args[0]), n >= 1 else { throw error(inner, "invalid value \"\(inner.args[0])\": a number of 1 or more") }
                upstream.keepalive = n
            case "include": try include(inner)
            default: throw error(inner, "\"\(inner.name)\" directive is not allowed here")
            }
        }
        if upstream.servers.isEmpty { throw error(d, "no servers are inside upstream \"\(name)\": add server ADDRESS:PORT;") }
        config.upstreams.append(upstream)
    }

    func upstreamServer(_ d: NginxDirective) throws -> NginxConfig.UpstreamServer {
        guard !d.args.isEmpty else { throw error(d, "invalid number of arguments in \"server\" directive") }
        let address = d.args[0]
        if address.hasPrefix("unix:") { throw error(d, "unix sockets are not supported: use ADDRESS:PORT, e.g. 127.0.1.11:8000") }
        let (host, port) = try hostAndPort(d, address, defaultPort: 80, example: "127.0.1.11:8000")
        if host == ConfigText.everyAddress { throw error(d, "an upstream server needs the address to connect to, e.g. 127.0.1.11:8000") }
        var server = NginxConfig.UpstreamServer(host: host, port: port, line: d.line)
        for parameter in d.args.dropFirst() {
            let parts = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0], value = parts.count == 2 ? parts[1] : nil
            switch (key, value) {
            case ("weight", let v?):
                guard let n = ConfigText.integer(v), n >= 1 else { throw error(d, "invalid parameter \"\(parameter)\": weight is a number of 1 or more") }
                server.weight = n
            case ("max_fails", let v?):
                guard let n = ConfigText.integer(v) else { throw error(d, "invalid parameter \"\(parameter)\": max_fails is a number (0 = never)") }
                server.maxFails = n
            case ("fail_timeout", let v?):
                server.failTimeout = try time(d, v)
            case ("backup", nil):
                server.backup = true
            default:
                let real: Set<String> = ["down", "max_conns", "slow_start", "resolve", "route", "service", "drain"]
                let supported = ["weight=N", "max_fails=N", "fail_timeout=TIME", "backup"]
                if real.contains(key) { throw error(d, "the parameter \"\(key)\" is not supported by stacklab's nginx (supported: \(supported.joined(separator: ", ")))") }
                if let near = ConfigText.nearest(key, in: ["weight", "max_fails", "fail_timeout", "backup"]) {
                    throw error(d, "invalid parameter \"\(parameter)\" — did you mean \"\(near)\"?")
                }
                throw error(d, "invalid parameter \"\(parameter)\" (supported: \(supported.joined(separator: ", ")))")
            }
        }
        return server
    }

    func hostAndPort(_ d: NginxDirective, _ text: String, defaultPort: Int, example: String) throws -> (String, Int) {
        if text.contains("$") { throw error(d, "variables are not supported here: write the address, e.g. \(example)") }
        let withPort = text.contains(":") ? text : "\(text):\(defaultPort)"
        switch ConfigText.hostPort(withPort, example: example) {
        case .success(let value): return value
        case .failure(let failure):
            let host = text.split(separator: ":").first.map(String.init) ?? text
            let portIsFine = !text.contains(":") || ConfigText.port(text.split(separator: ":").last ?? "") != nil
            if !ConfigText.isIPv4(host), host != "localhost", host != "*", !host.contains("["), portIsFine {
                // nginx's words, then what stacklab needs instead of a host name.
                let place = d.name == "listen" ? "host not found in \"\(text)\" of the \"listen\" directive" : "host not found in upstream \"\(text)\""
                throw error(d, "\(place): stacklab needs an IP address, e.g. \(example)")
            }
            throw error(d, failure.reason)
        }
    }

    // MARK: server and location

    mutating func readServer(_ d: NginxDirective, http: Level) throws {
        guard d.args.isEmpty else { throw error(d, "invalid number of arguments in \"server\" directive") }
        var level = Level()
        var server = NginxConfig.Server(line: d.line)
        var listens: [NginxConfig.Listen] = []
        var names: [String]?
        var serverReturn: (code: Int, text: String?)?
        var locations: [LocationDraft] = []
        for inner in d.block ?? [] {
            try check(inner, in: .server)
            switch inner.name {
            case "listen": listens.append(try listen(inner))
            case "server_name":
                try arguments(inner, 1...Int.max)
                names = (names ?? []) + inner.args
            case "return":
                try duplicate(inner, serverReturn != nil)
                serverReturn = try returnValue(inner)
            case "location":
                let draft = try readLocation(inner)
                if let other = locations.first(where: { $0.match == draft.match }) {
                    let path = switch draft.match { case .exact(let p): "= \(p)"; case .prefix(let p): p }
                    throw error(inner, "duplicate location \"\(path)\" (first at line \(other.line))")
                }
                locations.append(draft)
            case "error_log":
                throw error(inner, "stacklab keeps one error log per nginx: set error_log at the top of nginx.conf or in http { }")
            case "include": try include(inner)
            default: try setLevel(&level, inner)
            }
        }
        let merged = level.inheriting(from: http)
        // nginx's default listen without root rights is *:8000 (as root *:80; stacklab never runs as root): recorded
        // as every address, which the lab's check refuses with file:line (ConfigText.everyAddress).
        server.listens = listens.isEmpty ? [NginxConfig.Listen(host: ConfigText.everyAddress, port: 8000, line: d.line)] : listens
        server.serverNames = names ?? [""]
        server.sslCertificate = merged.sslCertificate
        server.sslCertificateKey = merged.sslCertificateKey
        if let protocols = merged.sslProtocols { server.sslProtocols = protocols }
        if let keepalive = merged.keepaliveTimeout { server.keepaliveTimeout = keepalive }
        if let header = merged.clientHeaderTimeout { server.clientHeaderTimeout = header }
        if let buffers = merged.largeHeaderBuffers {
            server.largeHeaderBuffers = buffers.count
            server.largeHeaderBufferSize = buffers.size
        }
        // A server-level return runs in nginx's server rewrite phase, before any location is chosen: it answers all.
        server.fallback = merged.location(.prefix("/"), line: d.line, proxyPass: nil, returnDirective: serverReturn)
        server.locations = locations.map { draft in
            draft.level.inheriting(from: merged).location(draft.match, line: draft.line, proxyPass: draft.proxyPass,
                                                          returnDirective: serverReturn ?? draft.returnDirective)
        }
        if listens.contains(where: \.ssl), server.sslCertificate == nil {
            throw error(d, "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive: add ssl_certificate FILE; and ssl_certificate_key FILE;")
        }
        config.servers.append(server)
    }

    mutating func readLocation(_ d: NginxDirective) throws -> LocationDraft {
        let match: NginxConfig.Location.Match
        switch d.args.count {
        case 1:
            guard !d.args[0].hasPrefix("@") else { throw error(d, "named locations (@name) are not supported by stacklab's nginx") }
            match = .prefix(d.args[0])
        case 2:
            switch d.args[0] {
            case "=": match = .exact(d.args[1])
            case "^~": match = .prefix(d.args[1])   // without regex locations, ^~ is a plain prefix
            case "~", "~*": throw error(d, "regular-expression locations are not supported: use a prefix (location /static/) or = for an exact path")
            default: throw error(d, "invalid location modifier \"\(d.args[0])\" (stacklab supports = and prefixes)")
            }
        default: throw error(d, "invalid number of arguments in \"location\" directive")
        }
        var draft = LocationDraft(match: match, line: d.line)
        for inner in d.block ?? [] {
            try check(inner, in: .location)
            switch inner.name {
            case "location": throw error(inner, "nested locations are not supported by stacklab's nginx: put each location directly in server { }")
            case "proxy_pass":
                try arguments(inner, 1...1)
                try duplicate(inner, draft.proxyPass != nil)
                draft.proxyPass = try proxyPass(inner)
            case "return":
                try duplicate(inner, draft.returnDirective != nil)
                draft.returnDirective = try returnValue(inner)
            case "error_log":
                throw error(inner, "stacklab keeps one error log per nginx: set error_log at the top of nginx.conf or in http { }")
            case "include": try include(inner)
            default: try setLevel(&draft.level, inner)
            }
        }
        return draft
    }

    func listen(_ d: NginxDirective) throws -> NginxConfig.Listen {
        try arguments(d, 1...Int.max)
        let address = d.args[0]
        let (host, port): (String, Int)
        if let bare = ConfigText.port(address) {
            (host, port) = (ConfigText.everyAddress, bare)
        } else {
            (host, port) = try hostAndPort(d, address, defaultPort: 80, example: "127.0.1.11:8080")
        }
        var listen = NginxConfig.Listen(host: host, port: port, line: d.line)
        for parameter in d.args.dropFirst() {
            switch parameter {
            case "default_server", "default": listen.defaultServer = true
            case "ssl": listen.ssl = true
            default:
                throw error(d, "the listen parameter \"\(parameter)\" is not supported by stacklab's nginx (supported: default_server, ssl)")
            }
        }
        return listen
    }

    mutating func proxyPass(_ d: NginxDirective) throws -> String {
        let url = d.args[0]
        if url.contains("$") { throw error(d, "variables in proxy_pass are not supported: write http://UPSTREAM or http://ADDRESS:PORT") }
        if url.hasPrefix("https://") { throw error(d, "https:// upstreams are not supported: stacklab's app servers speak plain HTTP; write http://…") }
        guard url.hasPrefix("http://") else { throw error(d, "invalid URL prefix in \"\(url)\": write http://UPSTREAM or http://ADDRESS:PORT") }
        let hostPart = url.dropFirst("http://".count).prefix { $0 != "/" }
        guard !hostPart.isEmpty else { throw error(d, "no host in \"\(url)\"") }
        var host = String(hostPart)
        var hasPort = false
        if let colon = hostPart.lastIndex(of: ":") {
            let portText = hostPart[hostPart.index(after: colon)...]
            guard ConfigText.port(portText) != nil else { throw error(d, "invalid port in upstream \"\(hostPart)\"") }
            host = String(hostPart[..<colon])
            hasPort = true
        }
        proxyPasses.append(ProxyPassUse(url: url, host: host, hasPort: hasPort, line: d.line))
        return url
    }

    func returnValue(_ d: NginxDirective) throws -> (code: Int, text: String?) {
        try arguments(d, 1...2)
        let first = d.args[0]
        if d.args.count == 1, first.hasPrefix("http://") || first.hasPrefix("https://") || first.hasPrefix("$scheme") {
            return (302, first)   // nginx: "return URL" is a temporary redirect
        }
        guard let code = ConfigText.integer(first), code <= 999 else { throw error(d, "invalid return code \"\(first)\"") }
        return (code, d.args.count == 2 ? d.args[1] : nil)
    }

    /// The directives that any of http, server and location may set.
    func setLevel(_ level: inout Level, _ d: NginxDirective) throws {
        switch d.name {
        case "root":
            try arguments(d, 1...1)
            try duplicate(d, level.root != nil)
            level.root = d.args[0]
        case "index":
            try arguments(d, 1...Int.max)
            level.index = (level.index ?? []) + d.args
        case "proxy_http_version":
            try arguments(d, 1...1)
            try duplicate(d, level.proxyHTTPVersion != nil)
            guard d.args[0] == "1.0" || d.args[0] == "1.1" else { throw error(d, "invalid value \"\(d.args[0])\": 1.0 or 1.1") }
            level.proxyHTTPVersion = d.args[0]
        case "proxy_connect_timeout":
            try arguments(d, 1...1)
            try duplicate(d, level.proxyConnectTimeout != nil)
            level.proxyConnectTimeout = try time(d, d.args[0])
        case "proxy_read_timeout":
            try arguments(d, 1...1)
            try duplicate(d, level.proxyReadTimeout != nil)
            level.proxyReadTimeout = try time(d, d.args[0])
        case "proxy_send_timeout":
            try arguments(d, 1...1)
            try duplicate(d, level.proxySendTimeout != nil)
            level.proxySendTimeout = try time(d, d.args[0])
        case "proxy_next_upstream":
            try arguments(d, 1...Int.max)
            try duplicate(d, level.proxyNextUpstream != nil)
            let supported = ["error", "timeout", "http_502", "http_503", "http_504", "off"]
            let real: Set<String> = ["invalid_header", "http_500", "http_403", "http_404", "http_429", "non_idempotent", "updating"]
            for value in d.args where !supported.contains(value) {
                if real.contains(value) { throw error(d, "\"\(value)\" is not supported by stacklab's nginx (supported: \(supported.joined(separator: ", ")))") }
                throw error(d, "invalid value \"\(value)\"" + (ConfigText.nearest(value, in: supported).map { " — did you mean \"\($0)\"?" } ?? " (values: \(supported.joined(separator: ", ")))"))
            }
            if d.args.contains("off") {
                guard d.args.count == 1 else { throw error(d, "\"off\" cannot be combined with other values") }
                level.proxyNextUpstream = []
            } else {
                level.proxyNextUpstream = d.args
            }
        case "proxy_set_header":
            try arguments(d, 2...2)
            level.proxySetHeaders = (level.proxySetHeaders ?? []) + [(d.args[0], d.args[1])]
        case "add_header":
            try arguments(d, 2...3)
            if d.args.count == 3, d.args[2] != "always" { throw error(d, "invalid parameter \"\(d.args[2])\": only \"always\" may follow the value") }
            level.addHeaders = (level.addHeaders ?? []) + [(d.args[0], d.args[1], d.args.count == 3)]
        case "access_log":
            try arguments(d, 1...2)
            try duplicate(d, level.accessLog != nil)
            if d.args[0] == "off" {
                guard d.args.count == 1 else { throw error(d, "\"access_log off\" takes nothing more") }
                level.accessLog = .off
            } else {
                if d.args.count == 2, d.args[1] != "combined" {
                    throw error(d, "only the \"combined\" log format is supported (log_format is not): write access_log \(d.args[0]) combined;")
                }
                level.accessLog = .file(d.args[0])
            }
        case "server_tokens":
            try duplicate(d, level.serverTokens != nil)
            level.serverTokens = try flag(d)
        case "sendfile":
            // Accepted: how nginx copies a file to the socket does not change what the client receives.
            _ = try flag(d)
        case "keepalive_timeout":
            try arguments(d, 1...2)   // the second value (the Keep-Alive header) is accepted and not sent
            try duplicate(d, level.keepaliveTimeout != nil)
            level.keepaliveTimeout = try time(d, d.args[0])
            if d.args.count == 2 { _ = try time(d, d.args[1]) }
        case "default_type":
            try arguments(d, 1...1)
            try duplicate(d, level.defaultType != nil)
            level.defaultType = d.args[0]
        case "client_header_timeout":
            try arguments(d, 1...1)
            try duplicate(d, level.clientHeaderTimeout != nil)
            level.clientHeaderTimeout = try time(d, d.args[0])
        case "client_body_timeout":
            try arguments(d, 1...1)
            try duplicate(d, level.clientBodyTimeout != nil)
            level.clientBodyTimeout = try time(d, d.args[0])
        case "client_max_body_size":
            try arguments(d, 1...1)
            try duplicate(d, level.clientMaxBodySize != nil)
            guard let bytes = Self.size(d.args[0]) else { throw error(d, "\"\(d.args[0])\" is not a size: write e.g. 1m, 512k or 0 (no limit)") }
            level.clientMaxBodySize = bytes
        case "large_client_header_buffers":
            try arguments(d, 2...2)
            try duplicate(d, level.largeHeaderBuffers != nil)
            guard let count = ConfigText.integer(d.args[0]), count >= 1 else { throw error(d, "invalid value \"\(d.args[0])\": a number of 1 or more") }
            guard let size = Self.size(d.args[1]), size >= 1 else { throw error(d, "invalid value \"\(d.args[1])\": a size above 0, e.g. 8k") }
            // nginx's connection_pool_size (256 on 64-bit systems) is the least a buffer may be.
            guard size >= 256 else {
                throw error(d, "the \"large_client_header_buffers\" size must be equal to or greater than \"connection_pool_size\" (256)")
            }
            // The miniature holds a whole head in memory: NUMBER × SIZE at most 1 MB.
            guard count <= 1024, size <= 1 << 20, count * size <= 1 << 20 else {
                throw error(d, "stacklab holds a request head in memory whole: NUMBER × SIZE must stay within 1m (e.g. 4 8k)")
            }
            level.largeHeaderBuffers = (count, size)
        case "ssl_certificate":
            try arguments(d, 1...1)
            try duplicate(d, level.sslCertificate != nil)
            level.sslCertificate = d.args[0]
        case "ssl_certificate_key":
            try arguments(d, 1...1)
            try duplicate(d, level.sslCertificateKey != nil)
            level.sslCertificateKey = d.args[0]
        case "ssl_protocols":
            try arguments(d, 1...Int.max)
            try duplicate(d, level.sslProtocols != nil)
            for value in d.args {
                switch value {
                case "TLSv1.2", "TLSv1.3": continue
                case "SSLv2", "SSLv3", "TLSv1", "TLSv1.1":
                    throw error(d, "\(value) is old and insecure, so stacklab does not offer it: write ssl_protocols TLSv1.2 TLSv1.3;")
                default:
                    throw error(d, "invalid value \"\(value)\" (protocols: TLSv1.2, TLSv1.3)")
                }
            }
            level.sslProtocols = d.args
        default:
            throw error(d, "\"\(d.name)\" directive is not allowed here")
        }
    }
}
