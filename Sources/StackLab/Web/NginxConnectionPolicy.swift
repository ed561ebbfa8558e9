import Foundation
import NIOCore
import NIOHTTP1

/// How web-0N/nginx treats a client connection, as nginx 1.22 does: a head that takes longer than
/// client_header_timeout, a body that pauses past client_body_timeout and an idle keep-alive connection are closed
/// without a word (the access log notes 408); a request line longer than a large header buffer gets 414, a header
/// line 400 "Request Header Or Cookie Too Large", a body past client_max_body_size 413 — each with nginx's log lines.
struct NginxConnectionPolicy: HTTPConnectionPolicy {
    let web: WebServer
    let server: NginxConfig.Server

    static func limits(for server: NginxConfig.Server) -> HTTPServerLimits {
        var limits = HTTPServerLimits()
        limits.headTimeout = .milliseconds(Int64(server.clientHeaderTimeout))
        if server.keepaliveTimeout > 0 {
            limits.keepAliveTimeout = .milliseconds(Int64(server.keepaliveTimeout))
        } else {
            limits.keepAlive = false   // keepalive_timeout 0: every response closes its connection
        }
        // A line must fit in one large buffer, CRLF included; the whole head in all of them.
        limits.maxRequestLine = server.largeHeaderBufferSize - 2
        limits.maxHeaderLine = server.largeHeaderBufferSize - 2
        limits.maxHeadBytes = server.largeHeaderBuffers * server.largeHeaderBufferSize
        limits.body = bodyLimits(server.fallback)
        limits.refusesHead = { refuses($0.uri) }
        limits.acceptsBareLineFeeds = true
        return limits
    }

    /// ngx_http_parse_request_line takes a URI that starts with `/`, or an absolute one (`http://host/path`); any
    /// other (`*`, `index.html`) is an invalid request: 400.
    static func refuses(_ uri: String) -> Bool {
        let bytes = Array(uri.utf8.prefix(64))
        if bytes.first == UInt8(ascii: "/") { return false }
        let letter: (UInt8) -> Bool = { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) }
        let schemeByte: (UInt8) -> Bool = { letter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || Array("+-.".utf8).contains($0) }
        guard let first = bytes.first, letter(first), let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
              bytes[colon...].starts(with: Array("://".utf8)) else { return true }
        return !bytes[..<colon].allSatisfy(schemeByte)
    }

    /// An absolute request target (`GET http://www.foobar.com/a?b HTTP/1.1`, as a client sends to a proxy): the host
    /// it names and its path, which nginx serves as if the client had asked for the path with that Host.
    static func originForm(of uri: String) -> (host: String, path: String)? {
        guard !uri.hasPrefix("/"), !refuses(uri), let scheme = uri.range(of: "://") else { return nil }
        let rest = uri[scheme.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let path = rest[end...]
        return (String(rest[..<end]), path.hasPrefix("/") ? String(path) : "/" + path)
    }

    static func bodyLimits(_ location: NginxConfig.Location) -> HTTPServerLimits.BodyLimits {
        HTTPServerLimits.BodyLimits(maxBytes: location.clientMaxBodySize == 0 ? HTTPServerLimits.largestBody : location.clientMaxBodySize,
                                    idleTimeout: .milliseconds(Int64(location.clientBodyTimeout)))
    }

    func bodyLimits(for head: HTTPRequestHead, connection: @autoclosure () -> HTTPConnectionInfo) -> HTTPServerLimits.BodyLimits? {
        let path = StaticFiles.withoutQuery(head.uri)
        return Self.bodyLimits(server.location(for: StaticFiles.normalise(path) ?? path))
    }

    /// nginx reads the body itself: it says `100 Continue` once the head has passed client_max_body_size.
    var wire: HTTPWireStyle { HTTPWireStyle(expectation: .answer) }

    func answer(_ event: HTTPConnectionEvent, connection: HTTPConnectionInfo) -> ServerResponse? {
        let tokens = server.fallback.serverTokens
        switch event {
        case .keepAliveTimeout, .headIdleTimeout:
            return nil
        case .clientClosed(sawBytes: false):
            web.errorLog(level: "info", connection: connection.number, "client closed connection while waiting for request, "
                         + "client: \(connection.remoteAddress), server: \(connection.localAddress):\(connection.localPort)")
            return nil
        case .clientClosed(sawBytes: true):
            let phase = connection.head != nil ? "reading client request body"
                : connection.requestLineComplete ? "reading client request headers" : "reading client request line"
            web.errorLog(level: "info", connection: connection.number, "client prematurely closed connection while \(phase), \(place(connection))")
            access(connection, status: 400, bytes: 0)
            return nil
        case .headTimeout(sawBytes: false):
            web.errorLog(level: "info", connection: connection.number, "client timed out (110: Connection timed out) while waiting for request, "
                         + "client: \(connection.remoteAddress), server: \(connection.localAddress):\(connection.localPort)")
            return nil
        case .headTimeout(sawBytes: true):
            let phase = connection.requestLineComplete ? "reading client request headers" : "reading client request line"
            web.errorLog(level: "info", connection: connection.number,
                         "client timed out (110: Connection timed out) while \(phase), \(place(connection))")
            access(connection, status: 408, bytes: 0)
            return nil
        case .bodyTimeout:
            access(connection, status: 408, bytes: 0)
            return nil
        case .requestLineTooLong:
            web.errorLog(level: "info", connection: connection.number, "client sent too long URI while reading client request line, \(place(connection))")
            return page(414, connection: connection, body: NginxErrorPage.body(414, serverTokens: tokens))
        case .headerLineTooLong(let line):
            let shown = String(line.prefix(min(server.largeHeaderBufferSize, 1748)))   // NGX_MAX_ERROR_STR − 300
            web.errorLog(level: "info", connection: connection.number,
                         "client sent too long header line: \"\(shown)...\" while reading client request headers, \(place(connection))")
            return page(400, connection: connection, body: NginxErrorPage.headerTooLargeBody(serverTokens: tokens))
        case .tooManyHeaders, .headTooLarge:
            web.errorLog(level: "info", connection: connection.number, "client sent too large request while reading client request headers, \(place(connection))")
            return page(400, connection: connection, body: NginxErrorPage.headerTooLargeBody(serverTokens: tokens))
        case .bodyTooLarge(let declared, let received, let adding):
            let what = declared.map { "body: \($0) bytes" } ?? "chunked body: \(received)+\(adding) bytes"
            web.errorLog(level: "error", connection: connection.number, "client intended to send too large \(what), \(place(connection))")
            return page(413, connection: connection, body: NginxErrorPage.body(413, serverTokens: tokens))
        case .badRequest:
            web.errorLog(level: "info", connection: connection.number, "client sent invalid request while reading client request line, \(place(connection))")
            return page(400, connection: connection, body: NginxErrorPage.body(400, serverTokens: tokens))
        case .handlerFailed(let reason):
            web.errorLog(level: "alert", connection: connection.number, "stacklab: \(reason), \(place(connection))")
            return page(500, connection: connection, body: NginxErrorPage.body(500, serverTokens: tokens))
        }
    }

    /// `client: 127.0.0.1, server: www.foobar.com, request: "GET / HTTP/1.1", host: "x"`.
    private func place(_ connection: HTTPConnectionInfo) -> String {
        var text = "client: \(connection.remoteAddress), server: \(server.serverNames.first.flatMap { $0.isEmpty ? nil : $0 } ?? "_")"
        let line = requestLine(connection)
        if !line.isEmpty { text += ", request: \"\(line)\"" }
        if let host = connection.head?.headers.first(name: "Host") { text += ", host: \"\(host)\"" }
        return text
    }

    private func requestLine(_ connection: HTTPConnectionInfo) -> String {
        if let head = connection.head { return "\(head.method.rawValue) \(head.uri) HTTP/\(head.version.major).\(head.version.minor)" }
        return NginxConnectionPolicy.escaped(connection.partialRequestLine)
    }

    /// nginx's page with its usual headers, and the access-log line for it.
    private func page(_ code: Int, connection: HTTPConnectionInfo, body: String) -> ServerResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Server", value: server.fallback.serverTokens ? "nginx/\(NginxErrorPage.version)" : "nginx")
        headers.add(name: "Date", value: LogTime.http())
        headers.add(name: "Content-Type", value: "text/html")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        access(connection, status: code, bytes: body.utf8.count)
        return ServerResponse(status: NginxErrorPage.status(code), headers: headers, body: ByteBuffer(string: body), close: true,
                              rawHeaders: true)
    }

    /// The `combined` line for a request that ended here (a partial request line as received).
    private func access(_ connection: HTTPConnectionInfo, status: Int, bytes: Int) {
        guard server.fallback.accessLog != .off else { return }
        let line = requestLine(connection)
        let referer = connection.head?.headers.first(name: "Referer") ?? "-"
        let agent = connection.head?.headers.first(name: "User-Agent") ?? "-"
        web.accessLog.append("\(connection.remoteAddress) - - [\(LogTime.common())] \"\(line.isEmpty ? "-" : line)\" \(status) \(bytes) "
            + "\"\(referer)\" \"\(agent)\"")
    }

    /// nginx writes `"`, `\` and bytes outside printable ASCII in its logs as `\xHH`.
    static func escaped(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out += "\\x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            } else {
                out.append(Character(Unicode.Scalar(byte)))
            }
        }
        return out
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
