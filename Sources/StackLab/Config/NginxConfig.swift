/// The subset of nginx.conf that the web server understands, after parsing. Times are milliseconds.
public struct NginxConfig: Sendable, Equatable {
    /// `worker_connections` (nginx default 512): every connection the worker holds — clients, upstreams and its
    /// listening sockets. Past it, idle keep-alive connections are closed to make room, else the new one is.
    public var workerConnections: Int
    /// `error_log FILE [LEVEL]` (main or http level); nil = nginx's default `logs/error.log`.
    public var errorLog: String?
    /// The least severe level written to the error log (nginx default `error`: `info` lines such as
    /// "client timed out" appear only with `error_log FILE info;`).
    public var errorLogLevel: String
    public var upstreams: [Upstream]
    public var servers: [Server]

    public init(workerConnections: Int = 512, errorLog: String? = nil, errorLogLevel: String = "error", upstreams: [Upstream] = [],
                servers: [Server] = []) {
        self.workerConnections = workerConnections
        self.errorLog = errorLog
        self.errorLogLevel = errorLogLevel
        self.upstreams = upstreams
        self.servers = servers
    }

    public func upstream(named name: String) -> Upstream? { upstreams.first { $0.name == name } }

    public struct UpstreamServer: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var weight: Int          // nginx default 1
        public var maxFails: Int        // nginx default 1
        public var failTimeout: Int     // nginx default 10 s
        public var backup: Bool
        public var line: Int
        public init(host: String, port: Int, weight: Int = 1, maxFails: Int = 1, failTimeout: Int = 10_000, backup: Bool = false, line: Int = 0) {
            self.host = host
            self.port = port
            self.weight = weight
            self.maxFails = maxFails
            self.failTimeout = failTimeout
            self.backup = backup
            self.line = line
        }
    }

    public struct Upstream: Sendable, Equatable {
        public var name: String
        public var servers: [UpstreamServer]
        /// `keepalive N`: idle connections kept open to the upstream servers; 0 = a new connection per request.
        public var keepalive: Int
        /// The line of `upstream NAME {`.
        public var line: Int
        public init(name: String, servers: [UpstreamServer] = [], keepalive: Int = 0, line: Int = 0) {
            self.name = name
            self.servers = servers
            self.keepalive = keepalive
            self.line = line
        }
    }

    public struct Listen: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var ssl: Bool
        public var defaultServer: Bool
        public var line: Int
        public init(host: String, port: Int, ssl: Bool = false, defaultServer: Bool = false, line: Int = 0) {
            self.host = host
            self.port = port
            self.ssl = ssl
            self.defaultServer = defaultServer
            self.line = line
        }
    }

    /// `access_log FILE [combined]` or `access_log off`.
    public enum AccessLog: Sendable, Equatable {
        case off
        case file(String)
    }

    /// What a location does with a request; inherited values are already resolved into each location.
    public struct Location: Sendable, Equatable {
        public enum Match: Sendable, Equatable {
            case prefix(String)
            case exact(String)
        }
        public var match: Match
        public var line: Int
        public var root: String?
        public var index: [String]
        /// `proxy_pass http://NAME` (an upstream) or `http://HOST:PORT`, with an optional URI part.
        public var proxyPass: String?
        public var proxyHTTPVersion: String        // nginx default "1.0"
        public var proxyConnectTimeout: Int        // nginx default 60 s
        public var proxyReadTimeout: Int           // nginx default 60 s
        public var proxySendTimeout: Int           // nginx default 60 s
        /// `proxy_next_upstream`: nginx default `error timeout`; `off` = empty.
        public var proxyNextUpstream: [String]
        /// `proxy_set_header NAME VALUE`, in order; values may hold variables ($host, $remote_addr, …).
        public var proxySetHeaders: [(name: String, value: String)]
        /// `add_header NAME VALUE [always]`.
        public var addHeaders: [(name: String, value: String, always: Bool)]
        /// `return CODE [TEXT|URL]` / `return URL`.
        public var returnDirective: (code: Int, text: String?)?
        public var accessLog: AccessLog?
        public var serverTokens: Bool
        /// `default_type`: the Content-Type of a static file whose extension has no known MIME type (nginx default text/plain).
        public var defaultType: String
        /// `client_max_body_size` in bytes (nginx default 1m); 0 = no limit. Past it: 413.
        public var clientMaxBodySize: Int
        /// `client_body_timeout`, ms (nginx default 60 s): the longest silence while a request body arrives.
        public var clientBodyTimeout: Int

        public init(match: Match, line: Int = 0, root: String? = nil, index: [String] = ["index.html"], proxyPass: String? = nil,
                    proxyHTTPVersion: String = "1.0", proxyConnectTimeout: Int = 60_000, proxyReadTimeout: Int = 60_000,
                    proxySendTimeout: Int = 60_000, proxyNextUpstream: [String] = ["error", "timeout"],
                    proxySetHeaders: [(name: String, value: String)] = [], addHeaders: [(name: String, value: String, always: Bool)] = [],
                    returnDirective: (code: Int, text: String?)? = nil, accessLog: AccessLog? = nil, serverTokens: Bool = true,
                    defaultType: String = "text/plain", clientMaxBodySize: Int = 1 << 20, clientBodyTimeout: Int = 60_000) {
            self.clientMaxBodySize = clientMaxBodySize
            self.clientBodyTimeout = clientBodyTimeout
            self.match = match
            self.line = line
            self.root = root
            self.index = index
            self.proxyPass = proxyPass
            self.proxyHTTPVersion = proxyHTTPVersion
            self.proxyConnectTimeout = proxyConnectTimeout
            self.proxyReadTimeout = proxyReadTimeout
            self.proxySendTimeout = proxySendTimeout
            self.proxyNextUpstream = proxyNextUpstream
            self.proxySetHeaders = proxySetHeaders
            self.addHeaders = addHeaders
            self.returnDirective = returnDirective
            self.accessLog = accessLog
            self.serverTokens = serverTokens
            self.defaultType = defaultType
        }

        public static func == (a: Location, b: Location) -> Bool {
            a.match == b.match && a.line == b.line && a.root == b.root && a.index == b.index && a.proxyPass == b.proxyPass
                && a.proxyHTTPVersion == b.proxyHTTPVersion && a.proxyConnectTimeout == b.proxyConnectTimeout
                && a.proxyReadTimeout == b.proxyReadTimeout && a.proxySendTimeout == b.proxySendTimeout
                && a.proxyNextUpstream == b.proxyNextUpstream
                && a.proxySetHeaders.map { "\($0.name)=\($0.value)" } == b.proxySetHeaders.map { "\($0.name)=\($0.value)" }
                && a.addHeaders.map { "\($0.name)=\($0.value)\($0.always)" } == b.addHeaders.map { "\($0.name)=\($0.value)\($0.always)" }
                && a.returnDirective?.code == b.returnDirective?.code && a.returnDirective?.text == b.returnDirective?.text
                && a.accessLog == b.accessLog && a.serverTokens == b.serverTokens && a.defaultType == b.defaultType
                && a.clientMaxBodySize == b.clientMaxBodySize && a.clientBodyTimeout == b.clientBodyTimeout
        }
    }

    public struct Server: Sendable, Equatable {
        public var listens: [Listen]
        public var serverNames: [String]
        /// Locations in file order; matching follows nginx: `=` exact first, then the longest prefix.
        public var locations: [Location]
        /// Server-level settings, used when no location matches.
        public var fallback: Location
        public var sslCertificate: String?
        public var sslCertificateKey: String?
        public var sslProtocols: [String]
        /// `keepalive_timeout`: how long an idle client connection stays open, ms (nginx default 75 s); 0 = no keep-alive.
        public var keepaliveTimeout: Int
        /// `client_header_timeout`, ms (nginx default 60 s): the whole request head must arrive within it.
        public var clientHeaderTimeout: Int
        /// `large_client_header_buffers NUMBER SIZE` (nginx default 4 8k): a request line longer than SIZE gets 414,
        /// a header line longer than SIZE (or a head larger than NUMBER × SIZE) gets 400.
        public var largeHeaderBuffers: Int
        public var largeHeaderBufferSize: Int
        /// The line of `server {`.
        public var line: Int
        public init(listens: [Listen] = [], serverNames: [String] = [], locations: [Location] = [], fallback: Location = Location(match: .prefix("/")),
                    sslCertificate: String? = nil, sslCertificateKey: String? = nil, sslProtocols: [String] = ["TLSv1.2", "TLSv1.3"],
                    keepaliveTimeout: Int = 75_000, clientHeaderTimeout: Int = 60_000, largeHeaderBuffers: Int = 4,
                    largeHeaderBufferSize: Int = 8192, line: Int = 0) {
            self.clientHeaderTimeout = clientHeaderTimeout
            self.largeHeaderBuffers = largeHeaderBuffers
            self.largeHeaderBufferSize = largeHeaderBufferSize
            self.listens = listens
            self.serverNames = serverNames
            self.locations = locations
            self.fallback = fallback
            self.sslCertificate = sslCertificate
            self.sslCertificateKey = sslCertificateKey
            self.sslProtocols = sslProtocols
            self.keepaliveTimeout = keepaliveTimeout
            self.line = line
        }

        /// nginx's choice: an exact `=` match wins; otherwise the longest matching prefix; otherwise the server itself.
        public func location(for path: String) -> Location {
            if let exact = locations.first(where: { $0.match == .exact(path) }) { return exact }
            var best: Location?
            var bestLength = -1
            for location in locations {
                if case .prefix(let prefix) = location.match, path.hasPrefix(prefix), prefix.count > bestLength {
                    best = location
                    bestLength = prefix.count
                }
            }
            return best ?? fallback
        }
    }
}
