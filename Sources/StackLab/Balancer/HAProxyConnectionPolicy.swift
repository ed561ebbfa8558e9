import Foundation
import NIOCore
import NIOHTTP1

/// How lb-01 treats a client connection, as HAProxy 2.6 does: its timeouts and limits, its 400 and 408 pages, and the
/// log line of a request that never reached a backend (`www www/<NOSRV> -1/-1/-1/-1/2002 408 0 - - cR-- … "<BADREQ>"`).
struct HAProxyConnectionPolicy: HTTPConnectionPolicy {
    let frontend: HAProxyConfig.Frontend
    let log: LogBook
    /// The process's and the frontend's connection counts (the log's `%ac/%fc`).
    let global: ConnectionBudget
    let own: ConnectionBudget

    /// HAProxy's buffer (tune.bufsize 16384) less the room it keeps for rewriting headers (tune.maxrewrite 1024):
    /// a request head must fit in it.
    static let headRoom = 16_384 - 1_024

    /// The frontend's limits. `timeout client` counts from the start of a request head when `timeout http-request`
    /// is not set (what HAProxy 2.6's HTTP/1 layer does), and is the inactivity timeout while a body arrives.
    static func limits(for frontend: HAProxyConfig.Frontend) -> HTTPServerLimits {
        let t = frontend.timeouts
        var limits = HTTPServerLimits()
        limits.headTimeout = (t.httpRequest ?? t.client).map { .milliseconds(Int64($0)) }
        limits.headIdleTimeout = t.client.map { .milliseconds(Int64($0)) }
        limits.keepAliveTimeout = (t.httpKeepAlive ?? t.httpRequest ?? t.client).map { .milliseconds(Int64($0)) }
        limits.maxHeadBytes = headRoom
        limits.refusesHead = refuses
        limits.acceptsBareLineFeeds = true
        limits.body = HTTPServerLimits.BodyLimits(idleTimeout: t.client.map { .milliseconds(Int64($0)) })
        return limits
    }

    /// HAProxy's request parser takes `{ } | ^ \ " < >` in a URI as they are, but not a fragment; and two Host
    /// headers must say the same (in any case), when they do HAProxy sends one on.
    static func refuses(_ head: HTTPRequestHead) -> Bool {
        if head.uri.utf8.contains(UInt8(ascii: "#")) { return true }
        let hosts = head.headers["Host"]
        guard let first = hosts.first else { return false }
        return hosts.dropFirst().contains { $0.lowercased() != first.lowercased() }
    }

    /// HAProxy answers HTTP/1.1, passes `Expect: 100-continue` to the server, and — its HTTP/1 layer (HTX) keeps
    /// header names in lower case — writes every header name it sends to the client in lower case
    /// (`x-served-by: web-01`), as it does those it forwards to the server.
    var wire: HTTPWireStyle { HTTPWireStyle(lowercaseHeaderNames: true, expectation: .relay) }

    func answer(_ event: HTTPConnectionEvent, connection: HTTPConnectionInfo) -> ServerResponse? {
        switch event {
        case .keepAliveTimeout:
            return nil   // HAProxy: "no error is returned, the connection just closes"
        case .clientClosed:
            // A client that leaves before a whole request: `400 … CR--` (not for an empty one with dontlognull).
            logBadRequest(connection, status: 400, termination: "CR--")
            return nil
        case .headTimeout, .headIdleTimeout:
            logBadRequest(connection, status: 408, termination: "cR--")
            return HAProxyErrorPage.connectionResponse(408)
        case .requestLineTooLong, .headerLineTooLong, .tooManyHeaders, .headTooLarge, .badRequest:
            logBadRequest(connection, status: 400, termination: "PR--")
            return HAProxyErrorPage.connectionResponse(400)
        case .bodyTimeout:
            // The balancer holds a request until its body is in, as with `option http-buffer-request`: a client that
            // stops sending gets the stream's 408 (`cD--`).
            logRequest(connection, status: 408, termination: "cD--")
            return HAProxyErrorPage.response(408, close: true)
        case .bodyTooLarge:
            logRequest(connection, status: 413, termination: "PR--")
            return HAProxyErrorPage.response(413, close: true)
        case .handlerFailed:
            logBadRequest(connection, status: 500, termination: "PR--")
            return HAProxyErrorPage.connectionResponse(500)
        }
    }

    /// `127.0.0.1:58138 [01/Dec/2026:10:30:41.739] www www/<NOSRV> -1/-1/-1/-1/2002 408 0 - - cR-- 1/1/0/0/0 0/0 "<BADREQ>"`;
    /// with `option dontlognull`, nothing for a connection that sent nothing.
    private func logBadRequest(_ connection: HTTPConnectionInfo, status: Int, termination: String) {
        guard frontend.httpLog else { return }
        if frontend.dontLogNull, connection.requestBytes == 0 { return }
        log.append(line(connection, target: "\(frontend.name)/<NOSRV>", timers: "-1/-1/-1/-1", status: status, termination: termination,
                        request: "<BADREQ>"))
    }

    /// A request whose head arrived but which never reached a server: `www web/<NOSRV> 5/-1/-1/-1/2007 408 …`.
    private func logRequest(_ connection: HTTPConnectionInfo, status: Int, termination: String) {
        guard frontend.httpLog else { return }
        let head = connection.head
        let request = head.map { "\($0.method.rawValue) \($0.uri) HTTP/\($0.version.major).\($0.version.minor)" } ?? "<BADREQ>"
        let backend = frontend.defaultBackend ?? frontend.name
        log.append(line(connection, target: "\(backend)/<NOSRV>", timers: "0/-1/-1/-1", status: status, termination: termination,
                        request: request))
    }

    private func line(_ connection: HTTPConnectionInfo, target: String, timers: String, status: Int, termination: String,
                      request: String) -> String {
        let started = connection.accepted.addingTimeInterval(Double((connection.requestStarted - connection.acceptedAt).nanoseconds) / 1e9)
        let total = max(0, (NIODeadline.now() - connection.requestStarted).nanoseconds / 1_000_000)
        return "\(connection.remoteAddress):\(connection.remotePort) [\(LogTime.haproxy(started))] \(frontend.name) \(target) "
            + "\(timers)/\(total) \(status) 0 - - \(termination) \(global.inUse)/\(own.inUse)/0/0/0 0/0 \"\(request)\""
    }
}
