import Atomics
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL

/// lb-01: the HAProxy-like load balancer. Frontends accept clients; a backend picks a server per request
/// (round robin by default), forwards the request over a kept-alive connection, retries and redispatches on
/// connection failure, answers HAProxy's own 502/503/504 pages, and logs each request in HAProxy's httplog format.
public final class Balancer: LabProcess {
    public let kind = Topology.ProcessKind.haproxy
    public let runtime: ProcessRuntime
    public let config: HAProxyConfig
    private let backends: [String: BackendState]
    private let checkers: [HealthChecker]
    /// HAProxy's idle server connections, purged as `pool-purge-delay` (default 5 s) does.
    private let pool = UpstreamPool(maxIdlePerTarget: 64, purgeDelay: .seconds(5))
    private let activeSessions = ManagedAtomic<Int>(0)
    /// The connection budgets of this run of the process: global maxconn and each frontend's.
    private struct Budgets {
        var global = ConnectionBudget(limit: 100, policy: .pauseAccepting)
        var frontends: [String: ConnectionBudget] = [:]
        /// The server's share of descriptors, when it is smaller than maxconn allows.
        var descriptors: ConnectionBudget?
        var maxconn = 100
    }
    private let budgets = NIOLockedValueBox(Budgets())
    /// The server's lab folder: `crt` files are read relative to it.
    private let folder: String?
    /// keepalived's floating addresses on this server: binds on them are open only while the server is MASTER.
    public let floating = FloatingAddresses()

    public init(config: HAProxyConfig, runtime: ProcessRuntime, folder: String? = nil) {
        self.config = config
        self.runtime = runtime
        self.folder = folder
        var backends: [String: BackendState] = [:]
        var checkers: [HealthChecker] = []
        for backend in config.backends {
            let state = BackendState(config: backend)
            backends[backend.name] = state
            checkers.append(HealthChecker(backend: state, runtime: runtime, timeoutCheck: backend.timeouts.check))
        }
        self.backends = backends
        self.checkers = checkers
    }

    /// Every backend server's status, in config order (what `show stat` would list).
    public var serverStatuses: [BackendServerStatus] {
        config.backends.flatMap { backends[$0.name]?.servers ?? [] }
    }

    public func responses(backend: String) -> [Int: Int] { backends[backend]?.responsesByClass ?? [:] }

    public func start() async throws {
        let pid = runtime.pid
        runtime.log.append("[NOTICE]   (\(pid)) : haproxy version is 2.6.12-1+deb12u4")
        for warning in config.warnings { runtime.log.append("[WARNING]  (\(pid)) : config : \(warning)") }
        let limits = descriptorPlan()
        let soft = OpenFileLimit.current.soft
        if limits.maxsock > soft {
            runtime.log.append("[ALERT]    (\(pid)) : [haproxy.main()] FD limit (\(soft)) too low for maxconn=\(limits.maxconn)/"
                + "maxsock=\(limits.maxsock). Please raise 'ulimit-n' to \(limits.maxsock) or more to avoid any trouble.")
        }
        let global = ConnectionBudget(limit: limits.maxconn, policy: .pauseAccepting)
        // The descriptors lb-01 may hold in the lab are its server's share: past them HAProxy stops accepting and says
        // why, as it does when accept() fails for want of descriptors, and the other servers keep theirs.
        let log = runtime.log
        let proxy = config.frontends.first?.name ?? "www"
        let share = limits.share
        let descriptors = ConnectionBudget(limit: max(1, (limits.share - limits.fixed) / 2), policy: .pauseAccepting) { _ in
            log.append("[ALERT]    (\(pid)) : Proxy \(proxy) reached process FD limit (maxsock=\(share)). Please check 'ulimit-n' and restart.")
        }
        var own: [String: ConnectionBudget] = [:]
        for frontend in config.frontends {
            own[frontend.name] = ConnectionBudget(limit: frontend.maxconn ?? limits.maxconn, policy: .pauseAccepting)
        }
        budgets.withLockedValue {
            $0 = Budgets(global: global, frontends: own, descriptors: descriptors.limit < limits.maxconn ? descriptors : nil, maxconn: limits.maxconn)
        }
        let (held, floatingHosts) = floating.beginListening()
        do {
            for frontend in config.frontends {
                for bind in frontend.binds where !floatingHosts.contains(bind.host) || held.contains(bind.host) {
                    try await listen(bind, frontend: frontend)
                }
            }
        } catch {
            floating.endListening()
            await runtime.abandonListeners()
            throw error
        }
        for backend in backends.values { backend.resetHealth() }
        runtime.markRunning()
        for checker in checkers { checker.start() }
        runtime.log.append("[NOTICE]   (\(pid)) : New worker (\(pid + 1)) forked")
        runtime.log.append("[NOTICE]   (\(pid)) : Loading success.")
    }

    /// The descriptors HAProxy plans for (haproxy.c): two per connection, plus the listeners and health checks,
    /// within this server's share of the open-file limit. Without `maxconn` in global, HAProxy takes what the
    /// limit leaves: half the free descriptors, and never less than its DEFAULT_MAXCONN of 100.
    private func descriptorPlan() -> (maxconn: Int, maxsock: Int, share: Int, fixed: Int) {
        let share = OpenFileLimit.share(servers: runtime.network.serverCount)
        let fixed = config.frontends.reduce(0) { $0 + $1.binds.count } + config.backends.reduce(0) { $0 + $1.servers.filter(\.check).count } + 3
        let maxconn = config.global.maxconn ?? max(100, (share - fixed) / 2)
        let (twice, overflow) = maxconn.multipliedReportingOverflow(by: 2)
        return (maxconn, overflow ? Int.max : twice + fixed, share, fixed)
    }

    /// Connections held now, per frontend (HAProxy's `feconn`).
    public func connections(frontend: String) -> Int { budgets.withLockedValue { $0.frontends[frontend]?.inUse ?? 0 } }

    /// Opens one frontend bind, counting its connections against global and frontend maxconn.
    func listen(_ bind: HAProxyConfig.Bind, frontend: HAProxyConfig.Frontend) async throws {
        let run = budgets.withLockedValue { $0 }
        let global = run.global
        let own = run.frontends[frontend.name] ?? ConnectionBudget(limit: run.maxconn, policy: .pauseAccepting)
        let globalMaxconn = run.maxconn
        let all = [global, own] + (run.descriptors.map { [$0] } ?? [])
        // `bind … ssl crt FILE`: TLS ends here (the [security] issue); the responder knows ssl_fc.
        let tls = try bind.certificateFile.map {
            try TLSMaterial.serverContext(certificateFile: resolve($0), protocols: config.global.tlsProtocols)
        }
        let responder = FrontendResponder(balancer: self, frontend: frontend, tls: tls != nil)
        let limits = HAProxyConnectionPolicy.limits(for: frontend).frozen(with: runtime.faults)
        let policy = HAProxyConnectionPolicy(frontend: frontend, log: runtime.log, global: global, own: own)
        // HAProxy passes the frontend's maxconn to listen() as the backlog, unless `backlog` says otherwise.
        let backlog = frontend.backlog ?? frontend.maxconn ?? globalMaxconn
        try await runtime.listen(host: bind.host, configuredPort: bind.port, budgets: all, backlog: backlog) { channel in
            if let tls {
                do { try channel.pipeline.syncOperations.addHandlers(NIOSSLServerHandler(context: tls), TLSWriteCoalescer()) } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            return HTTPServerHandler.install(on: channel, responder: responder, serverHeader: nil, limits: limits, policy: policy)
        }
    }

    public func halt(graceful: Bool) async {
        floating.endListening()
        // A floating bind opened while the ports were closing.
        await runtime.crashListeners()
        for checker in checkers { checker.stop() }
        pool.closeAll()
        if graceful {
            runtime.log.append("[NOTICE]   (\(runtime.pid)) : haproxy version is 2.6.12-1+deb12u4")
            runtime.log.append("[WARNING]  (\(runtime.pid)) : Exiting Master process...")
        }
    }

    private func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), let folder else { return path }
        return (folder as NSString).appendingPathComponent(path)
    }

    // MARK: - The request path

    fileprivate func handle(_ request: IncomingRequest, frontend: HAProxyConfig.Frontend, tls: Bool = false) -> EventLoopFuture<ServerResponse> {
        var request = request
        if frontend.httpsRedirect != nil || !frontend.requestHeaders.isEmpty {
            if let redirect = HTTPSRules.redirect(request, frontend: frontend, tls: tls, network: runtime.network) {
                return request.eventLoop.makeSucceededFuture(redirect)
            }
            HTTPSRules.setRequestHeaders(&request.head.headers, frontend: frontend, tls: tls)
        }
        let loop = request.eventLoop
        runtime.requests.wrappingIncrement(ordering: .relaxed)
        let incoming = TraceContext(traceparent: request.head.headers.first(name: "traceparent"))
        let trace = incoming?.child() ?? TraceContext.new()
        guard let backendName = frontend.defaultBackend, let backend = backends[backendName] else {
            return loop.makeSucceededFuture(HAProxyErrorPage.response(503))
        }
        activeSessions.wrappingIncrement(ordering: .relaxed)
        var exchange = Exchange(request: request, frontend: frontend, backend: backend, trace: trace, parent: incoming?.spanID)
        exchange.tls = tls
        exchange.retriesLeft = backend.config.retries
        let promise = loop.makePromise(of: ServerResponse.self)
        attempt(exchange, serverIndex: nil, promise: promise)
        return promise.futureResult.always { _ in self.activeSessions.wrappingDecrement(ordering: .relaxed) }
    }

    /// Everything one request carries through its attempts.
    private struct Exchange: Sendable {
        var request: IncomingRequest
        var frontend: HAProxyConfig.Frontend
        var backend: BackendState
        var trace: TraceContext
        var parent: String?
        var retriesLeft = 0
        var retriesDone = 0
        var redispatched = false
        var tried: Set<Int> = []
        var connectMilliseconds = -1
        var connectStarted = NIODeadline.now()
        /// The client came in over TLS (`ssl_fc`).
        var tls = false
    }

    private func attempt(_ exchange: Exchange, serverIndex chosen: Int?, promise: EventLoopPromise<ServerResponse>) {
        var exchange = exchange
        let loop = exchange.request.eventLoop
        let backend = exchange.backend
        let index: Int
        if let chosen {
            index = chosen
        } else if let picked = backend.pick(excluding: exchange.tried, clientAddress: exchange.request.remoteAddress) {
            index = picked
        } else if !exchange.tried.isEmpty, let picked = backend.pick(excluding: [], clientAddress: exchange.request.remoteAddress) {
            index = picked
        } else {
            finish(exchange, server: nil, response: HAProxyErrorPage.response(503), termination: "SC--", serverMs: -1, promise: promise)
            return
        }
        let server = backend.config.servers[index]
        exchange.connectStarted = .now()
        let (connecting, reused) = pool.connection(dialer: runtime.dialer, host: server.host, configuredPort: server.port, on: loop,
                                                   connectTimeoutMilliseconds: backend.config.timeouts.connect)
        let pending = exchange
        connecting.whenComplete { [self] result in
            var exchange = pending
            switch result {
            case .failure(let error):
                backend.finish(index)
                backend.update(index) { $0.connectionErrors += 1 }
                let dial: DialError = if case .connect(let d) = error as? UpstreamError { d } else { .other("\(error)") }
                retryAfterConnectFailure(exchange, index: index, dial: dial, promise: promise)
            case .success(let connection):
                exchange.connectMilliseconds = reused ? 0 : Self.milliseconds(since: exchange.connectStarted)
                forward(exchange, index: index, connection: connection, reused: reused, promise: promise)
            }
        }
    }

    /// HAProxy's retries (stream_choose_redispatch): wait min(timeout connect, 1 s) and try the same server again;
    /// with `option redispatch`, go to another server at once instead — on the last retry (by default) or as the
    /// interval says, whenever the server is not UP, and on every retry when round robin has more than one server UP
    /// (any server will do).
    private func retryAfterConnectFailure(_ exchange: Exchange, index: Int, dial: DialError, promise: EventLoopPromise<ServerResponse>) {
        var exchange = exchange
        let backend = exchange.backend
        guard exchange.retriesLeft > 0 else {
            let termination = dial == .timedOut ? "sC--" : "SC--"
            finish(exchange, server: index, response: HAProxyErrorPage.response(503), termination: termination, serverMs: -1, promise: promise)
            return
        }
        exchange.retriesLeft -= 1
        exchange.retriesDone += 1
        backend.update(index) { $0.retries += 1 }
        let retryNumber = exchange.retriesDone
        let isLast = exchange.retriesLeft == 0
        var redispatchNow = false
        if let interval = backend.config.redispatch {
            if interval > 0 {
                redispatchNow = retryNumber % interval == 0
            } else {
                // A negative interval -N redispatches on the Nth retry before the last (-1: on the last one).
                // -(interval + 1) rather than -interval - 1: the most negative Int has no positive twin.
                redispatchNow = exchange.retriesLeft == -(interval + 1) || (isLast && interval == -1)
            }
            let servers = backend.servers
            let serverDown = index < servers.count && !servers[index].isUp
            let activeUp = servers.filter { !$0.backup && $0.isUp && $0.weight > 0 }.count
            if serverDown || (backend.config.balance == .roundrobin && activeUp > 1) { redispatchNow = true }
        }
        if redispatchNow {
            exchange.redispatched = true
            exchange.tried.insert(index)
            backend.update(index) { $0.redispatches += 1 }
            attempt(exchange, serverIndex: nil, promise: promise)
            return
        }
        let turnAround = min(backend.config.timeouts.connect ?? 1000, 1000)
        let loop = exchange.request.eventLoop
        let retry = exchange
        loop.scheduleTask(in: .milliseconds(Int64(turnAround))) { [self] in
            let exchange = retry
            backend.update(index) { $0.currentSessions += 1 }
            attempt(exchange, serverIndex: index, promise: promise)
        }
    }

    private func forward(_ exchange: Exchange, index: Int, connection: UpstreamConnection, reused: Bool,
                         promise: EventLoopPromise<ServerResponse>) {
        let backend = exchange.backend
        let server = backend.config.servers[index]
        // The request line keeps the client's version, as HAProxy's HTTP/1 layer writes it; a 1.0 request asks to
        // keep the server connection.
        var head = exchange.request.head
        if head.version != .http1_0 { head.version = .http1_1 }
        // HAProxy 2.6 sends the server every header name in lower case (`host:`, `x-forwarded-for:`), as it answers:
        // the names are lowered as the list is copied (with room for what is added), and what is added is lower case.
        var headers = HTTPServerHandler.lowercased(head.headers, room: 3)
        Self.stripHopByHop(&headers)
        // Two Host headers that say the same are one (the parser refused two that differ).
        let hosts = headers["host"]
        if hosts.count > 1, let host = hosts.first { headers.replaceOrAdd(name: "host", value: host) }
        if head.version == .http1_0 { headers.add(name: "connection", value: "keep-alive") }
        if exchange.frontend.forwardFor || backend.config.forwardFor {
            headers.append(to: "x-forwarded-for", exchange.request.remoteAddress)
        }
        headers.replaceOrAdd(name: "traceparent", value: exchange.trace.traceparent)
        head.headers = headers
        let sent = NIODeadline.now()
        connection.send(head: head, body: exchange.request.body, readTimeoutMilliseconds: backend.config.timeouts.server,
                        following: exchange.request.following)
            .whenComplete { [self] result in
                backend.finish(index)
                switch result {
                case .success(let upstream):
                    pool.release(connection, host: server.host, configuredPort: server.port)
                    var headers = upstream.head.headers
                    Self.stripHopByHop(&headers)
                    if !exchange.frontend.responseHeaders.isEmpty {
                        HTTPSRules.setResponseHeaders(&headers, frontend: exchange.frontend, tls: exchange.tls)
                    }
                    let response = ServerResponse(status: upstream.head.status, headers: headers, body: upstream.body)
                    finish(exchange, server: index, response: response, termination: "----",
                           serverMs: Self.milliseconds(since: sent), promise: promise)
                case .failure(let error):
                    let reachedServer = connection.requestReachedServer
                    connection.close()
                    let failure = error as? UpstreamError
                    // A kept-alive connection the server had closed while it sat idle fails at once, before any of
                    // the request left or within a round trip of it: that request is sent again on a fresh
                    // connection, as HAProxy's safe reuse never puts a client's first request on an idle one.
                    // A request that reached a server which then died holding it is never sent again (502 SH--).
                    let closedWhileIdle = !reachedServer || NIODeadline.now() - sent < Self.idleCloseWindow
                    if reused && closedWhileIdle && (failure == .closedEarly || failure == .reset) {
                        backend.update(index) { $0.currentSessions += 1 }
                        attempt(exchange, serverIndex: index, promise: promise)
                        return
                    }
                    backend.update(index) { $0.responseErrors += 1 }
                    if failure == .timedOut {
                        finish(exchange, server: index, response: HAProxyErrorPage.response(504), termination: "sH--", serverMs: -1, promise: promise)
                    } else {
                        finish(exchange, server: index, response: HAProxyErrorPage.response(502), termination: "SH--", serverMs: -1, promise: promise)
                    }
                }
            }
    }

    private func finish(_ exchange: Exchange, server index: Int?, response: ServerResponse, termination: String, serverMs: Int,
                        promise: EventLoopPromise<ServerResponse>) {
        let backend = exchange.backend
        let status = Int(response.status.code)
        backend.countResponse(status: status)
        if status >= 500 { runtime.errors.wrappingIncrement(ordering: .relaxed) }
        let serverName = index.map { backend.config.servers[$0].name } ?? "<NOSRV>"
        let total = Self.milliseconds(since: exchange.request.received)
        if exchange.frontend.httpLog {
            runtime.log.append(logLine(exchange, server: index, serverName: serverName, status: status, bytes: Self.wireSize(response, request: exchange.request.head),
                                       termination: termination, serverMs: serverMs, total: total))
        }
        let note = index == nil ? "no server available" : "-> \(serverName)"
            + (exchange.retriesDone > 0 ? " after \(exchange.retriesDone) retr\(exchange.retriesDone == 1 ? "y" : "ies")" : "")
            + (exchange.redispatched ? ", redispatched" : "")
        runtime.traces.record(Span(traceID: exchange.trace.traceID, spanID: exchange.trace.spanID, parentID: exchange.parent,
                                   process: runtime.name, start: exchange.request.receivedDate,
                                   duration: exchange.request.spanDuration, status: status, note: note))
        promise.succeed(response)
    }

    /// `127.0.0.1:33317 [24/Nov/2026:12:14:14.655] www web/web-01 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"`
    private func logLine(_ exchange: Exchange, server index: Int?, serverName: String, status: Int, bytes: Int, termination: String, serverMs: Int,
                         total: Int) -> String {
        let request = exchange.request
        let backendName = exchange.backend.config.name
        let noServer = serverName == "<NOSRV>"
        let connect = noServer ? -1 : exchange.connectMilliseconds
        // Tw: the time in the queue, -1 when no server was ever assigned.
        let queued = noServer ? -1 : 0
        // %ac/%fc: the process's and the frontend's connections; %bc/%sc: the backend's and the server's other
        // sessions — this one has ended when the line is written, so one request alone logs 1/1/0/0.
        let (connections, frontendConnections) = budgets.withLockedValue { ($0.global.inUse, $0.frontends[exchange.frontend.name]?.inUse ?? 0) }
        let others = max(0, activeSessions.load(ordering: .relaxed) - 1)
        let serverSessions = index.map { exchange.backend.currentSessions($0) } ?? 0
        // Written into one string sized for it (every request logs one).
        let head = request.head
        var text = ""
        text.reserveCapacity(160 + head.uri.utf8.count + request.remoteAddress.utf8.count + exchange.frontend.name.utf8.count
                             + backendName.utf8.count + serverName.utf8.count)
        text += request.remoteAddress
        text += ":"
        text += String(request.remotePort)
        text += " ["
        LogTime.appendHAProxy(request.receivedDate, to: &text)
        text += "] "
        text += exchange.frontend.name
        text += " "
        text += backendName
        text += "/"
        text += serverName
        text += " 0/"
        func number(_ value: Int, _ separator: String) {
            text += String(value)
            text += separator
        }
        number(queued, "/")
        number(connect, "/")
        number(serverMs, "/")
        number(total, " ")
        number(status, " ")
        number(bytes, " - - ")
        text += termination
        text += " "
        number(connections, "/")
        number(frontendConnections, "/")
        number(others, "/")
        number(noServer ? 0 : serverSessions, "/")
        if exchange.redispatched { text += "+" }
        text += String(exchange.retriesDone)
        text += " 0/0 \""
        text.appendRequestLine(head)
        text += "\""
        return text
    }

    /// HAProxy's `%B`: the bytes sent to the client, status line and headers included — the `content-length` and
    /// `connection` lines written on the way out too.
    static func wireSize(_ response: ServerResponse, request: HTTPRequestHead) -> Int {
        var size = 15 + response.status.reasonPhrase.utf8.count   // "HTTP/1.1 200 OK\r\n"
        for header in response.headers { size += header.name.utf8.count + header.value.utf8.count + 4 }
        let body = request.method == .HEAD ? 0 : response.bodyBytes
        if !response.rawHeaders {
            if !response.headers.contains(name: "Date") { size += 37 }   // "date: Tue, 01 Dec 2026 16:42:27 GMT\r\n"
            if !response.headers.contains(name: "Content-Length") { size += 18 + String(response.bodyBytes).utf8.count }
            if !response.headers.contains(name: "Connection") {
                if response.close || !request.isKeepAlive { size += 19 } else if request.version.minor == 0 { size += 24 }
            }
        }
        return size + 2 + body
    }

    /// How soon after a request was written a reused connection's failure counts as the server having closed it
    /// while idle (the close and the request crossed on the wire), not as the server dying with the request.
    static let idleCloseWindow = TimeAmount.milliseconds(100)

    static func milliseconds(since start: NIODeadline) -> Int {
        Int((NIODeadline.now() - start).nanoseconds / 1_000_000)
    }

    static let hopByHop = ["Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade"]

    static func stripHopByHop(_ headers: inout HTTPHeaders) {
        // One look through the headers first: most messages carry none of these, and each removal is a pass of its own.
        // (A loose match only costs the exact removals below.)
        guard headers.contains(where: { header in
            let name = header.name.utf8
            return hopByHop.contains { $0.utf8.count == name.count && zip($0.utf8, name).allSatisfy { $0 | 0x20 == $1 | 0x20 } }
        }) else { return }
        for name in hopByHop { headers.remove(name: name) }
    }
}

private struct FrontendResponder: HTTPResponder {
    let balancer: Balancer
    let frontend: HAProxyConfig.Frontend
    var tls = false

    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse> {
        balancer.handle(request, frontend: frontend, tls: tls)
    }
}
