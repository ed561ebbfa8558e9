/// The subset of haproxy.cfg that the balancer understands, after parsing.
///
/// `defaults` values are already folded into each proxy; `listen` sections appear as a frontend and a backend of the
/// same name. Times are milliseconds; `nil` means "not set" (HAProxy: infinite, with a warning at start-up).
public struct HAProxyConfig: Sendable, Equatable {
    public var global: Global
    public var frontends: [Frontend]
    public var backends: [Backend]
    /// Start-up warnings HAProxy would print (missing timeouts, …), in HAProxy's words.
    public var warnings: [String]

    public init(global: Global = Global(), frontends: [Frontend] = [], backends: [Backend] = [], warnings: [String] = []) {
        self.global = global
        self.frontends = frontends
        self.backends = backends
        self.warnings = warnings
    }

    public func backend(named name: String) -> Backend? { backends.first { $0.name == name } }

    public struct Global: Sendable, Equatable {
        /// Connections the whole process accepts at once; nil: HAProxy works it out from the descriptors it has.
        public var maxconn: Int?
        /// The TLS versions `ssl` binds speak (`ssl-default-bind-options ssl-min-ver …`; HAProxy 2.6: TLS 1.2 and 1.3).
        public var tlsProtocols: [String]
        public init(maxconn: Int? = nil, tlsProtocols: [String] = ["TLSv1.2", "TLSv1.3"]) {
            self.maxconn = maxconn
            self.tlsProtocols = tlsProtocols
        }
    }

    public struct Bind: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// `ssl crt FILE` (the [security] issue); nil for plain HTTP.
        public var certificateFile: String?
        public var line: Int
        public init(host: String, port: Int, certificateFile: String? = nil, line: Int = 0) {
            self.host = host
            self.port = port
            self.certificateFile = certificateFile
            self.line = line
        }
    }

    public struct Timeouts: Sendable, Equatable {
        public var connect: Int?
        /// The client's inactivity while it sends its request (and reads the answer).
        public var client: Int?
        public var server: Int?
        public var check: Int?
        /// `timeout http-request`: the whole request head must arrive within it (408 and `cR--` past it).
        public var httpRequest: Int?
        /// `timeout http-keep-alive`: the wait for the next request; falls back to http-request, then client.
        public var httpKeepAlive: Int?
        public init(connect: Int? = nil, client: Int? = nil, server: Int? = nil, check: Int? = nil, httpRequest: Int? = nil,
                    httpKeepAlive: Int? = nil) {
            self.connect = connect
            self.client = client
            self.server = server
            self.check = check
            self.httpRequest = httpRequest
            self.httpKeepAlive = httpKeepAlive
        }
    }

    public struct Frontend: Sendable, Equatable {
        public var name: String
        public var line: Int
        public var binds: [Bind]
        public var defaultBackend: String?
        public var timeouts: Timeouts
        /// `option httplog`: log one line per request in HAProxy's HTTP format.
        public var httpLog: Bool
        /// `option dontlognull`: no log line for connections that sent nothing.
        public var dontLogNull: Bool
        /// `option forwardfor`: add `X-Forwarded-For: <client address>`.
        public var forwardFor: Bool
        /// Connections this frontend accepts at once; nil: the global maxconn. Past it, connections wait in the
        /// kernel's accept queue.
        public var maxconn: Int?
        /// `backlog`: the kernel's accept queue for the binds; nil: the frontend's maxconn, as HAProxy passes it to listen().
        public var backlog: Int?
        /// `http-request redirect scheme https unless { ssl_fc }` (or `redirect scheme https if !{ ssl_fc }`).
        public var httpsRedirect: HTTPSRedirect?
        /// `http-request set-header NAME VALUE [if|unless COND]`, in order.
        public var requestHeaders: [HeaderRule]
        /// `http-response set-header NAME VALUE [if|unless COND]`, in order (not applied to redirects and error pages).
        public var responseHeaders: [HeaderRule]
        public init(name: String, line: Int = 0, binds: [Bind] = [], defaultBackend: String? = nil, timeouts: Timeouts = Timeouts(),
                    httpLog: Bool = false, dontLogNull: Bool = false, forwardFor: Bool = false, maxconn: Int? = nil, backlog: Int? = nil,
                    httpsRedirect: HTTPSRedirect? = nil, requestHeaders: [HeaderRule] = [], responseHeaders: [HeaderRule] = []) {
            self.backlog = backlog
            self.httpsRedirect = httpsRedirect
            self.requestHeaders = requestHeaders
            self.responseHeaders = responseHeaders
            self.name = name
            self.line = line
            self.binds = binds
            self.defaultBackend = defaultBackend
            self.timeouts = timeouts
            self.httpLog = httpLog
            self.dontLogNull = dontLogNull
            self.forwardFor = forwardFor
            self.maxconn = maxconn
        }
    }

    /// When a rule applies, in the only ACL the subset knows: `ssl_fc` (the connection came in over TLS).
    public enum TLSCondition: Sendable, Equatable {
        case always
        /// `if { ssl_fc }` / `unless !{ ssl_fc }`
        case overTLS
        /// `unless { ssl_fc }` / `if !{ ssl_fc }`
        case plainHTTP

        public func holds(tls: Bool) -> Bool {
            switch self {
            case .always: true
            case .overTLS: tls
            case .plainHTTP: !tls
            }
        }
    }

    /// `redirect scheme https [code N]`: HAProxy's default code is 302.
    public struct HTTPSRedirect: Sendable, Equatable {
        public var code: Int
        public var condition: TLSCondition
        public var line: Int
        public init(code: Int = 302, condition: TLSCondition = .plainHTTP, line: Int = 0) {
            self.code = code
            self.condition = condition
            self.line = line
        }
    }

    /// `set-header NAME VALUE`: replaces every header of that name.
    public struct HeaderRule: Sendable, Equatable {
        public var name: String
        public var value: String
        public var condition: TLSCondition
        public var line: Int
        public init(name: String, value: String, condition: TLSCondition = .always, line: Int = 0) {
            self.name = name
            self.value = value
            self.condition = condition
            self.line = line
        }
    }

    public enum Balance: String, Sendable, Equatable {
        case roundrobin, leastconn, source
    }

    /// `option httpchk [METHOD] [URI] [VERSION]`; HAProxy's default is `OPTIONS / HTTP/1.0`.
    public struct HTTPCheck: Sendable, Equatable {
        public var method: String
        public var uri: String
        public var version: String
        public init(method: String = "OPTIONS", uri: String = "/", version: String = "HTTP/1.0") {
            self.method = method
            self.uri = uri
            self.version = version
        }
    }

    public struct Server: Sendable, Equatable {
        public var name: String
        public var line: Int
        public var host: String
        public var port: Int
        public var check: Bool
        public var inter: Int          // HAProxy default 2000 ms
        public var fastinter: Int?     // falls back to inter
        public var downinter: Int?     // falls back to inter
        public var fall: Int           // HAProxy default 3
        public var rise: Int           // HAProxy default 2
        public var weight: Int         // HAProxy default 1, 0…256
        public var backup: Bool
        public init(name: String, line: Int = 0, host: String, port: Int, check: Bool = false, inter: Int = 2000,
                    fastinter: Int? = nil, downinter: Int? = nil, fall: Int = 3, rise: Int = 2, weight: Int = 1, backup: Bool = false) {
            self.name = name
            self.line = line
            self.host = host
            self.port = port
            self.check = check
            self.inter = inter
            self.fastinter = fastinter
            self.downinter = downinter
            self.fall = fall
            self.rise = rise
            self.weight = weight
            self.backup = backup
        }
    }

    public struct Backend: Sendable, Equatable {
        public var name: String
        public var line: Int
        public var balance: Balance
        public var servers: [Server]
        public var httpCheck: HTTPCheck?
        /// `retries`, HAProxy default 3.
        public var retries: Int
        /// `option redispatch [interval]`: nil when off; HAProxy's default interval -1 = redispatch on the last retry.
        public var redispatch: Int?
        public var timeouts: Timeouts
        public var forwardFor: Bool
        public init(name: String, line: Int = 0, balance: Balance = .roundrobin, servers: [Server] = [], httpCheck: HTTPCheck? = nil,
                    retries: Int = 3, redispatch: Int? = nil, timeouts: Timeouts = Timeouts(), forwardFor: Bool = false) {
            self.name = name
            self.line = line
            self.balance = balance
            self.servers = servers
            self.httpCheck = httpCheck
            self.retries = retries
            self.redispatch = redispatch
            self.timeouts = timeouts
            self.forwardFor = forwardFor
        }
    }
}
