import Atomics
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL

/// web-0N/nginx: serves static files from `root` and passes everything else to the app server through an
/// `upstream`, with nginx's defaults, error pages (502 refused/closed, 504 timed out) and log lines.
public final class WebServer: LabProcess {
    public let kind = Topology.ProcessKind.nginx
    public let runtime: ProcessRuntime
    public let config: NginxConfig
    /// The combined access log (`access_log`); `runtime.log` is the error log.
    public let accessLog: LogBook
    private let folder: String
    private let files = StaticFiles()
    private let upstreams: [String: UpstreamState]
    private let pools: [String: UpstreamPool]
    /// nginx numbers its connections (`*7` in the error log).
    private let connectionNumber = ManagedAtomic<Int>(0)
    /// Client connections reading a request head and working on a request: stub_status's Reading and Writing.
    public let connectionStates = HTTPConnectionStates()
    /// The multipart/byteranges boundaries handed out.
    private let boundaries = ManagedAtomic<Int>(0)
    /// worker_connections for this run of the process: clients, upstream connections and the listening sockets.
    private let budget = NIOLockedValueBox<ConnectionBudget?>(nil)
    /// Every location's `root`, resolved against the server's folder once (a static request reads it).
    private let roots: [String: String]

    /// - Parameter folder: the server's lab folder; relative paths (root, logs) resolve against it, as nginx's `-p`.
    public init(config: NginxConfig, runtime: ProcessRuntime, folder: String, accessLog: LogBook) {
        self.config = config
        self.runtime = runtime
        self.folder = folder
        self.accessLog = accessLog
        var upstreams: [String: UpstreamState] = [:]
        var pools: [String: UpstreamPool] = [:]
        for upstream in config.upstreams {
            upstreams[upstream.name] = UpstreamState(config: upstream)
            pools[upstream.name] = UpstreamPool(maxIdlePerTarget: upstream.keepalive)
        }
        self.upstreams = upstreams
        self.pools = pools
        var roots: [String: String] = [:]
        for server in config.servers {
            for location in server.locations + [server.fallback] {
                let root = location.root ?? "html"
                roots[root] = root.hasPrefix("/") ? root : (folder as NSString).appendingPathComponent(root)
            }
        }
        self.roots = roots
    }

    public func start() async throws {
        let pid = runtime.pid
        let soft = OpenFileLimit.current.soft
        if config.workerConnections > soft {
            errorLog(level: "warn", "\(config.workerConnections) worker_connections exceed open file resource limit: \(soft)")
        }
        let connections = config.workerConnections
        let log = runtime.log
        let level = config.errorLogLevel
        let budget = ConnectionBudget(limit: connections, policy: .reuseIdle) { event in
            let (severity, text) = switch event {
            case .reusing: ("warn", "\(connections) worker_connections are not enough, reusing connections")
            case .exhausted: ("alert", "\(connections) worker_connections are not enough")
            }
            guard NginxLogLevel.shows(severity, at: level) else { return }
            log.append("\(LogTime.nginxError()) [\(severity)] \(pid)#\(pid): \(text)")
        }
        // Each listening socket takes one of the worker's connections.
        budget.reserveFixed(config.servers.reduce(0) { $0 + $1.listens.count })
        self.budget.withLockedValue { $0 = budget }
        do {
            for server in config.servers {
                let responder = VirtualServer(web: self, server: server)
                let limits = NginxConnectionPolicy.limits(for: server).frozen(with: runtime.faults)
                let policy = NginxConnectionPolicy(web: self, server: server)
                let numbers = connectionNumber
                let states = connectionStates
                // `listen … ssl` with ssl_certificate / ssl_certificate_key / ssl_protocols (the [security] issue).
                let tls = try server.listens.contains(where: \.ssl) ? server.sslCertificate.map {
                    try TLSMaterial.serverContext(certificateFile: resolve($0), keyFile: server.sslCertificateKey.map(resolve),
                                                  protocols: server.sslProtocols)
                } : nil
                for listen in server.listens {
                    let context = listen.ssl ? tls : nil
                    try await bindRetrying(host: listen.host, port: listen.port) {
                        // nginx's listen backlog on Linux: 511 (NGX_LISTEN_BACKLOG).
                        try await runtime.listen(host: listen.host, configuredPort: listen.port, budgets: [budget], backlog: 511) { channel in
                            if let context {
                                do { try channel.pipeline.syncOperations.addHandlers(NIOSSLServerHandler(context: context), TLSWriteCoalescer()) } catch {
                                    return channel.eventLoop.makeFailedFuture(error)
                                }
                            }
                            return HTTPServerHandler.install(on: channel, responder: responder, serverHeader: nil, limits: limits, policy: policy,
                                                             budget: budget, number: numbers.wrappingIncrementThenLoad(ordering: .relaxed),
                                                             states: states)
                        }
                    }
                }
            }
        } catch {
            await runtime.abandonListeners()
            throw error
        }
        runtime.markRunning()
    }

    public func halt(graceful: Bool) async {
        for pool in pools.values { pool.closeAll() }
        if graceful {
            errorLog(level: "notice", "signal process started")
        }
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (folder as NSString).appendingPathComponent(path)
    }

    /// `2026/11/24 13:55:36 [error] 1234#1234: *7 connect() failed …`, when `error_log`'s level shows it.
    /// A port still taken is tried five times, half a second apart, as nginx does (ngx_open_listening_sockets):
    /// `[emerg] bind() to 127.0.1.11:8080 failed (98: Address already in use)` and `[notice] try again to bind()
    /// after 500ms` each time, then `[emerg] still could not bind()`.
    private func bindRetrying(host: String, port: Int, _ bind: () async throws -> Void) async throws {
        var lastError: ListenError?
        for _ in 1...5 {
            do {
                try await bind()
                return
            } catch let error as ListenError where error.isAddressInUse {
                errorLog(level: "emerg", "bind() to \(host):\(port) failed (98: Address already in use)")
                errorLog(level: "notice", "try again to bind() after 500ms")
                lastError = error
                try await Task.sleep(nanoseconds: 500_000_000)
            }
        }
        errorLog(level: "emerg", "still could not bind()")
        if let lastError { throw lastError }
    }

    func errorLog(level: String, connection: Int? = nil, _ message: String) {
        guard NginxLogLevel.shows(level, at: config.errorLogLevel) else { return }
        let pid = runtime.pid
        let number = connection.map { "*\($0) " } ?? ""
        runtime.log.append("\(LogTime.nginxError()) [\(level)] \(pid)#\(pid): \(number)\(message)")
    }

    // MARK: - Requests

    fileprivate func handle(_ received: IncomingRequest, server: NginxConfig.Server) -> EventLoopFuture<ServerResponse> {
        runtime.requests.wrappingIncrement(ordering: .relaxed)
        let request = NginxConnectionPolicy.originForm(of: received.head.uri).map { origin in
            // The host in the request line wins over the Host header ($host), as RFC 9112 says and nginx does.
            var request = received
            request.head.uri = origin.path
            request.head.headers.replaceOrAdd(name: "Host", value: origin.host)
            return request
        } ?? received
        let number = request.connection
        let incoming = TraceContext(traceparent: request.head.headers.first(name: "traceparent"))
        let trace = incoming?.child() ?? TraceContext.new()
        let path = StaticFiles.withoutQuery(request.head.uri)
        let location = server.location(for: StaticFiles.normalise(path) ?? path)
        let loop = request.eventLoop
        // An answer made here is finished at once; only a proxied one waits for its future.
        func finished(_ response: ServerResponse, _ note: String) -> ServerResponse {
            finish(response, note: note, request: request, received: received, server: server, location: location, trace: trace,
                   parent: incoming?.spanID)
        }
        if request.head.version == .http1_1 && !request.head.headers.contains(name: "Host") {
            // ngx_http_process_request_header: HTTP/1.1 requires a Host header.
            errorLog(level: "info", connection: number, "client sent HTTP/1.1 request without \"Host\" header while reading client request "
                     + "headers, client: \(request.remoteAddress), server: \(server.serverNames.first ?? "_"), request: "
                     + "\"\(request.head.method.rawValue) \(request.head.uri) HTTP/1.1\"")
            return loop.makeSucceededFuture(finished(NginxErrorPage.response(400, serverTokens: location.serverTokens, close: true),
                                                     "no Host header"))
        } else if let refusal = Self.hostRefusal(request.head) {
            // ngx_http_process_host: one Host, and a valid name.
            let host = request.head.headers.first(name: "Host") ?? ""
            errorLog(level: "info", connection: number, "\(refusal) while reading client request headers, client: \(request.remoteAddress), "
                     + "server: \(server.serverNames.first ?? "_"), request: \"\(request.head.method.rawValue) \(request.head.uri) "
                     + "HTTP/\(request.head.version.major).\(request.head.version.minor)\", host: \"\(host)\"")
            return loop.makeSucceededFuture(finished(NginxErrorPage.response(400, serverTokens: location.serverTokens, close: true),
                                                     "bad Host header"))
        } else if !StaticFiles.hasValidEscapes(path) {
            // nginx decodes every request's path: a `%` without two hex digits after it is a bad request.
            return loop.makeSucceededFuture(finished(NginxErrorPage.response(400, serverTokens: location.serverTokens, close: true),
                                                     "invalid %-escape"))
        } else if let (code, text) = location.returnDirective {
            return loop.makeSucceededFuture(finished(returnResponse(code: code, text: text, request: request, server: server), "return \(code)"))
        } else if let proxyPass = location.proxyPass {
            return proxy(request, to: proxyPass, location: location, server: server, trace: trace, number: number).map { response, note in
                finished(response, note)
            }
        } else {
            return loop.makeSucceededFuture(finished(serveStatic(request, location: location, server: server), "static \(path)"))
        }
    }

    private static let serverTokensOn = "nginx/\(NginxErrorPage.version)"

    /// Why nginx refuses the request's Host headers, in its error log's words; nil when it takes them.
    static func hostRefusal(_ head: HTTPRequestHead) -> String? {
        let hosts = head.headers["Host"]
        guard let first = hosts.first else { return nil }
        if hosts.count > 1 {
            return "client sent duplicate host header: \"Host: \(hosts[1])\", previous value: \"Host: \(first)\""
        }
        return validHost(first) ? nil : "client sent invalid host header"
    }

    /// ngx_http_validate_host: no path separator, control character or space, no two dots in a row; a trailing dot
    /// and the port do not count; something must be left.
    static func validHost(_ host: String) -> Bool {
        var length = 0
        var sawPort = false
        var lastDot = -2
        var literal = false
        for (index, byte) in host.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "."):
                if lastDot == index - 1 { return false }
                lastDot = index
            case UInt8(ascii: ":"):
                if !sawPort && !literal { length = index; sawPort = true }
            case UInt8(ascii: "["):
                if index == 0 { literal = true }
            case UInt8(ascii: "]"):
                if literal && !sawPort { length = index + 1; sawPort = true; literal = false }
            case UInt8(ascii: "/"):
                return false
            default:
                if byte <= 0x20 || byte == 0x7F { return false }
            }
            if !sawPort { length = index + 1 }
        }
        if lastDot == length - 1 { length -= 1 }
        return length > 0
    }

    /// What every answer gets on its way out: add_header, Server, the access-log line and the span.
    /// `received`: the request as it came (the access log's line), `request` as served (an absolute target as its path).
    private func finish(_ response: ServerResponse, note: String, request: IncomingRequest, received: IncomingRequest,
                        server: NginxConfig.Server, location: NginxConfig.Location, trace: TraceContext, parent: String?) -> ServerResponse {
        var response = response
        let status = Int(response.status.code)
        if status >= 500 { runtime.errors.wrappingIncrement(ordering: .relaxed) }
        for header in location.addHeaders where header.always || (200..<400).contains(status) {
            response.headers.add(name: header.name, value: expand(header.value, request: request, server: server))
        }
        response.headers.replaceOrAdd(name: "Server", value: location.serverTokens ? Self.serverTokensOn : "nginx")
        if location.accessLog != .off {
            accessLog.append(received.combinedLogLine(status: status, bytes: response.bodyBytes))
        }
        runtime.traces.record(Span(traceID: trace.traceID, spanID: trace.spanID, parentID: parent, process: runtime.name,
                                   start: request.receivedDate, duration: request.spanDuration,
                                   status: status, note: note))
        return response
    }

    private func serveStatic(_ request: IncomingRequest, location: NginxConfig.Location, server: NginxConfig.Server) -> ServerResponse {
        guard request.head.method == .GET || request.head.method == .HEAD else {
            return NginxErrorPage.response(405, serverTokens: location.serverTokens)
        }
        let root = roots[location.root ?? "html"] ?? resolve(location.root ?? "html")
        switch files.lookup(root: root, uri: request.head.uri, index: location.index) {
        case .file(let file):
            return StaticRanges.answer(request.head, file: file, serverTokens: location.serverTokens) {
                // nginx numbers its multipart boundaries (ngx_next_temp_number): 00000000000000000001, …
                let number = boundaries.wrappingIncrementThenLoad(ordering: .relaxed)
                let digits = String(number)
                return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
            }
        case .redirectToDirectory(let path):
            // ngx_http_static_handler: the name from Host (or the local address), the port nginx listens on, the
            // path with its slash, then the query: `http://www.foobar.com:8080/static/?x=1`.
            var response = NginxErrorPage.response(301, serverTokens: location.serverTokens)
            let host = request.head.headers.first(name: "Host").map { String($0.prefix { $0 != ":" }) } ?? request.localAddress
            let query = request.head.uri.firstIndex(of: "?").map { String(request.head.uri[$0...]) } ?? ""
            response.headers.add(name: "Location", value: "http://\(host):\(request.localPort)\(path)\(query)")
            return response
        case .badRequest:
            return NginxErrorPage.response(400, serverTokens: location.serverTokens, close: true)
        case .forbidden:
            errorLog(level: "error", "directory index of \"\(root)\(request.head.uri)\" is forbidden")
            return NginxErrorPage.response(403, serverTokens: location.serverTokens)
        case .notFound:
            let file = root + (StaticFiles.normalise(request.head.uri) ?? request.head.uri)
            errorLog(level: "error", "open() \"\(file)\" failed (2: No such file or directory), client: \(request.remoteAddress), "
                + "server: \(server.serverNames.first ?? "_"), request: \"\(request.head.method.rawValue) \(request.head.uri) HTTP/1.1\"")
            return NginxErrorPage.response(404, serverTokens: location.serverTokens)
        }
    }

    private func returnResponse(code: Int, text: String?, request: IncomingRequest, server: NginxConfig.Server) -> ServerResponse {
        let expanded = text.map { expand($0, request: request, server: server) }
        if [301, 302, 303, 307, 308].contains(code) {
            var response = NginxErrorPage.response(code, serverTokens: true)
            response.headers.add(name: "Location", value: expanded ?? "/")
            return response
        }
        if let expanded {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain")
            return ServerResponse(status: HTTPResponseStatus(statusCode: code), headers: headers, body: ByteBuffer(string: expanded))
        }
        return NginxErrorPage.response(code, serverTokens: true)
    }

    /// nginx variables in proxy_set_header / add_header / return values.
    func expand(_ text: String, request: IncomingRequest, server: NginxConfig.Server) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let char = text[index]
            guard char == "$" else {
                result.append(char)
                index = text.index(after: index)
                continue
            }
            var end = text.index(after: index)
            while end < text.endIndex, text[end].isLetter || text[end].isNumber || text[end] == "_" { end = text.index(after: end) }
            result += variable(text[text.index(after: index)..<end], request: request, server: server)
            index = end
        }
        return result
    }

    /// One variable's value, worked out only when a directive names it (every proxied request expands a few).
    private func variable(_ name: Substring, request: IncomingRequest, server: NginxConfig.Server) -> String {
        let headers = request.head.headers
        switch name {
        case "host": return headers.first(name: "Host").map { String($0.prefix { $0 != ":" }) } ?? server.serverNames.first ?? request.localAddress
        case "http_host": return headers.first(name: "Host") ?? ""
        case "remote_addr": return request.remoteAddress
        case "remote_port": return String(request.remotePort)
        case "scheme": return "http"
        case "request_uri": return request.head.uri
        case "uri": return String(request.head.uri.prefix { $0 != "?" })
        case "request_method": return request.head.method.rawValue
        case "server_name": return server.serverNames.first ?? ""
        case "server_addr": return request.localAddress
        case "server_port": return String(request.localPort)
        case "proxy_add_x_forwarded_for": return (headers["X-Forwarded-For"] + [request.remoteAddress]).joined(separator: ", ")
        default:
            guard name.hasPrefix("http_") else { return "" }
            return headers.first(name: name.dropFirst(5).replacingOccurrences(of: "_", with: "-")) ?? ""
        }
    }

    // MARK: - Reverse proxy

    private func proxy(_ request: IncomingRequest, to proxyPass: String, location: NginxConfig.Location, server: NginxConfig.Server,
                       trace: TraceContext, number: Int) -> EventLoopFuture<(ServerResponse, String)> {
        let loop = request.eventLoop
        let target = ProxyTarget(proxyPass)
        var head = request.head
        head.uri = target.uri(for: request.head.uri, location: location)
        let useKeepAlive = location.proxyHTTPVersion == "1.1" && (upstreams[target.host]?.config.keepalive ?? 0) > 0
        head.version = location.proxyHTTPVersion == "1.1" ? .http1_1 : .http1_0
        Balancer.stripHopByHop(&head.headers)
        // nginx read the body itself (and said `100 Continue` if asked): the upstream is not asked again.
        head.headers.remove(name: "Expect")
        // nginx's defaults: Host is the upstream's name, the connection closes after the response.
        head.headers.replaceOrAdd(name: "Host", value: target.host)
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        for header in location.proxySetHeaders {
            let value = expand(header.value, request: request, server: server)
            if value.isEmpty { head.headers.remove(name: header.name) } else { head.headers.replaceOrAdd(name: header.name, value: value) }
        }
        if useKeepAlive && head.headers.first(name: "Connection") == "close" && location.proxySetHeaders.contains(where: { $0.name.lowercased() == "connection" }) == false {
            head.headers.remove(name: "Connection")
        }
        head.headers.replaceOrAdd(name: "traceparent", value: trace.traceparent)

        let peers: [NginxConfig.UpstreamServer]
        let state = upstreams[target.host]
        if let state {
            peers = state.config.servers
        } else {
            peers = [NginxConfig.UpstreamServer(host: target.host, port: target.port)]
        }
        let promise = loop.makePromise(of: (ServerResponse, String).self)
        let context = ProxyContext(request: request, head: head, location: location, server: server, number: number, upstream: state,
                                   pool: pools[target.host], peers: peers)
        tryPeer(context, tried: [], promise: promise)
        return promise.futureResult
    }

    private struct ProxyContext: Sendable {
        var request: IncomingRequest
        var head: HTTPRequestHead
        var location: NginxConfig.Location
        var server: NginxConfig.Server
        var number: Int
        var upstream: UpstreamState?
        var pool: UpstreamPool?
        var peers: [NginxConfig.UpstreamServer]
    }

    private func tryPeer(_ context: ProxyContext, tried: Set<Int>, promise: EventLoopPromise<(ServerResponse, String)>) {
        let loop = context.request.eventLoop
        let index: Int?
        if let upstream = context.upstream {
            index = upstream.pick(excluding: tried)
        } else {
            index = tried.isEmpty ? 0 : nil
        }
        guard let index else {
            if tried.isEmpty {
                logUpstreamError("no live upstreams while connecting to upstream", context, peer: context.peers.first)
            }
            promise.succeed((NginxErrorPage.response(502, serverTokens: context.location.serverTokens), "no live upstreams"))
            return
        }
        let peer = context.peers[index]
        // An upstream connection is one of the worker's connections too; none free: nginx answers 500.
        let budget = self.budget.withLockedValue { $0 }
        if let budget, !budget.admitOutgoing() {
            promise.succeed((NginxErrorPage.response(500, serverTokens: context.location.serverTokens), "worker_connections are not enough"))
            return
        }
        let connecting: EventLoopFuture<UpstreamConnection>
        var reused = false
        if let pool = context.pool {
            let pooled = pool.connection(dialer: runtime.dialer, host: peer.host, configuredPort: peer.port, on: loop,
                                         connectTimeoutMilliseconds: context.location.proxyConnectTimeout)
            connecting = pooled.0
            reused = pooled.reused
        } else {
            connecting = UpstreamConnection.open(dialer: runtime.dialer, host: peer.host, configuredPort: peer.port, on: loop,
                                                 connectTimeoutMilliseconds: context.location.proxyConnectTimeout)
        }
        let wasReused = reused
        if let budget {
            if reused {
                budget.releaseOutgoing()
            } else {
                connecting.whenComplete { result in
                    switch result {
                    case .success(let connection): connection.channel.closeFuture.whenComplete { _ in budget.releaseOutgoing() }
                    case .failure: budget.releaseOutgoing()
                    }
                }
            }
        }
        connecting.flatMap { connection in
            connection.send(head: context.head, body: context.request.body, readTimeoutMilliseconds: context.location.proxyReadTimeout)
                .map { (connection, $0) }
                .flatMapErrorThrowing { error in
                    connection.close()
                    throw error
                }
        }
        .whenComplete { [self] result in
            switch result {
            case .success(let (connection, upstream)):
                context.upstream?.succeeded(index)
                if let pool = context.pool { pool.release(connection, host: peer.host, configuredPort: peer.port) } else { connection.close() }
                var headers = upstream.head.headers
                Balancer.stripHopByHop(&headers)
                // proxy_hide_header defaults: nginx sets its own Server and Date.
                headers.remove(name: "Server")
                headers.remove(name: "Date")
                promise.succeed((ServerResponse(status: upstream.head.status, headers: headers, body: upstream.body),
                                 // The address that answered ($upstream_addr), not the config's port before the port plan.
                                 "-> \(peer.host):\(runtime.network.port(peer.port))"))
            case .failure(let error):
                let failure = (error as? UpstreamError) ?? .closedEarly
                if wasReused && (failure == .closedEarly || failure == .reset) {
                    tryPeer(context, tried: tried, promise: promise)
                    return
                }
                let (message, code, kind) = Self.describe(failure)
                logUpstreamError(message, context, peer: peer)
                context.upstream?.failed(index)
                let next = context.location.proxyNextUpstream
                let retryable = (kind == "error" && next.contains("error")) || (kind == "timeout" && next.contains("timeout"))
                if retryable && context.peers.count > tried.count + 1 {
                    tryPeer(context, tried: tried.union([index]), promise: promise)
                } else {
                    promise.succeed((NginxErrorPage.response(code, serverTokens: context.location.serverTokens), message))
                }
            }
        }
    }

    /// nginx's error-log message, the status it answers, and the proxy_next_upstream class of the failure.
    static func describe(_ failure: UpstreamError) -> (String, Int, String) {
        switch failure {
        case .connect(.refused):
            ("connect() failed (111: Connection refused) while connecting to upstream", 502, "error")
        case .connect(.timedOut):
            ("upstream timed out (110: Connection timed out) while connecting to upstream", 504, "timeout")
        case .connect(let other):
            ("connect() failed (\(other.errnoCode): \(other)) while connecting to upstream", 502, "error")
        case .timedOut:
            ("upstream timed out (110: Connection timed out) while reading response header from upstream", 504, "timeout")
        case .closedEarly:
            ("upstream prematurely closed connection while reading response header from upstream", 502, "error")
        case .reset:
            ("recv() failed (104: Connection reset by peer) while reading response header from upstream", 502, "error")
        case .invalidResponse:
            ("upstream sent invalid header while reading response header from upstream", 502, "invalid_header")
        }
    }

    private func logUpstreamError(_ message: String, _ context: ProxyContext, peer: NginxConfig.UpstreamServer?) {
        let request = context.request
        let host = request.head.headers.first(name: "Host").map { ", host: \"\($0)\"" } ?? ""
        // The port that answers (the port plan applied), as nginx would print the address it connected to.
        let upstream = peer.map { ", upstream: \"http://\($0.host):\(runtime.network.port($0.port))\(context.head.uri)\"" } ?? ""
        let level = message.hasPrefix("upstream timed out") || message.hasPrefix("no live") ? "error" : "error"
        errorLog(level: level, connection: context.number,
                 "\(message), client: \(request.remoteAddress), server: \(context.server.serverNames.first ?? "_"), "
                 + "request: \"\(request.head.method.rawValue) \(request.head.uri) HTTP/\(request.head.version.major).\(request.head.version.minor)\"\(upstream)\(host)")
    }
}

/// nginx's error-log levels, least severe first: a line is written when its level is at or above `error_log`'s.
enum NginxLogLevel {
    static let order = ["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"]
    static func shows(_ level: String, at threshold: String) -> Bool {
        (order.firstIndex(of: level) ?? order.count) >= (order.firstIndex(of: threshold) ?? 4)
    }
}

/// `proxy_pass http://app` or `http://127.0.1.11:8000/prefix/`.
struct ProxyTarget: Sendable {
    var host: String
    var port: Int
    var path: String?

    init(_ proxyPass: String) {
        var rest = Substring(proxyPass)
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
        let slash = rest.firstIndex(of: "/")
        let authority = slash.map { rest[..<$0] } ?? rest
        path = slash.map { String(rest[$0...]) }
        if let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            self.port = port
        } else {
            host = String(authority)
            port = 80
        }
    }

    /// Without a URI part the request URI passes unchanged; with one, it replaces the matched location prefix.
    func uri(for requestURI: String, location: NginxConfig.Location) -> String {
        guard let path else { return requestURI }
        let prefix: String = switch location.match {
        case .prefix(let p): p
        case .exact(let p): p
        }
        if requestURI.hasPrefix(prefix) { return path + requestURI.dropFirst(prefix.count) }
        return path
    }
}

/// An upstream's servers as nginx tracks them: weighted round robin, and `max_fails` failures within
/// `fail_timeout` make a server unavailable for `fail_timeout` — except when it is the only one.
final class UpstreamState: Sendable {
    let config: NginxConfig.Upstream
    private let box: NIOLockedValueBox<Box>

    private struct Box {
        var picker: ServerPicker
        var fails: [Int]
        var firstFail: [NIODeadline?]
        var downUntil: [NIODeadline?]
    }

    init(config: NginxConfig.Upstream) {
        self.config = config
        let n = config.servers.count
        box = NIOLockedValueBox(Box(picker: ServerPicker(balance: .roundrobin, serverCount: n), fails: Array(repeating: 0, count: n),
                                    firstFail: Array(repeating: nil, count: n), downUntil: Array(repeating: nil, count: n)))
    }

    func pick(excluding: Set<Int>) -> Int? {
        let now = NIODeadline.now()
        let single = config.servers.count == 1
        return box.withLockedValue { box in
            let candidates = config.servers.enumerated().map { index, server in
                let available = single || (box.downUntil[index].map { $0 <= now } ?? true)
                return ServerPicker.Candidate(index: index, weight: server.weight, backup: server.backup, usable: available)
            }
            return box.picker.pick(candidates, excluding: excluding)
        }
    }

    func failed(_ index: Int) {
        guard config.servers.count > 1, index < config.servers.count else { return }
        let server = config.servers[index]
        let now = NIODeadline.now()
        box.withLockedValue { box in
            let window = TimeAmount.milliseconds(Int64(server.failTimeout))
            if let first = box.firstFail[index], now - first < window {
                box.fails[index] += 1
            } else {
                box.firstFail[index] = now
                box.fails[index] = 1
            }
            if server.maxFails > 0 && box.fails[index] >= server.maxFails {
                box.downUntil[index] = now + window
            }
        }
    }

    func succeeded(_ index: Int) {
        box.withLockedValue { box in
            guard index < box.fails.count else { return }
            box.fails[index] = 0
            box.firstFail[index] = nil
        }
    }
}

private struct VirtualServer: HTTPResponder {
    let web: WebServer
    let server: NginxConfig.Server

    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse> {
        web.handle(request, server: server)
    }
}
