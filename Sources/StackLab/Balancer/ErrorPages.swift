import NIOCore
import NIOHTTP1

/// HAProxy's built-in error responses (HAProxy 2.6, src/http.c `http_err_msgs`): status, `Cache-Control: no-cache`,
/// `Content-Type: text/html`, and a one-line explanation.
///
/// HAProxy sends them two ways, and the wire shows which: the stream's answers (502, 503, 504, a 408 while waiting
/// for a body) go out through its HTTP/1 encoder, with lower-case header names (`connection: close` last when it ends the connection); the
/// answers of the connection layer itself (a 400 for a bad request, a 408 for a request head that took too long)
/// are written out as the message is stored, `Content-length:` and all.
enum HAProxyErrorPage {
    private static let messages: [Int: (reason: String, text: String)] = [
        400: ("Bad request", "Your browser sent an invalid request."),
        408: ("Request Time-out", "Your browser didn't send a complete request in time."),
        413: ("Payload Too Large", "The request entity exceeds the maximum allowed."),
        500: ("Internal Server Error", "An internal server error occurred."),
        502: ("Bad Gateway", "The server returned an invalid or incomplete response."),
        503: ("Service Unavailable", "No server is available to handle this request."),
        504: ("Gateway Time-out", "The server didn't respond in time."),
    ]

    static func body(_ code: Int) -> String {
        let message = messages[code] ?? (reason: "Service Unavailable", text: "No server is available to handle this request.")
        return "<html><body><h1>\(code) \(message.reason)</h1>\n\(message.text)\n</body></html>\n"
    }

    private static func status(_ code: Int) -> HTTPResponseStatus {
        .custom(code: UInt(code), reasonPhrase: messages[code]?.reason ?? "Service Unavailable")
    }

    /// As the stream sends it (502, 503, 504, and a 408 or 413 about a request body). A 502, 503 or 504 leaves the
    /// client's connection open for its next request, as HAProxy 2.6 does; `close` adds `connection: close` and ends it.
    static func response(_ code: Int, close: Bool = false) -> ServerResponse {
        let body = Self.body(code)
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "cache-control", value: "no-cache")
        headers.add(name: "content-type", value: "text/html")
        if close { headers.add(name: "connection", value: "close") }
        return ServerResponse(status: status(code), headers: headers, body: ByteBuffer(string: body), close: close, rawHeaders: true)
    }

    /// As the connection layer writes it (a 400 for a request it cannot parse, a 408 for a head that took too long).
    static func connectionResponse(_ code: Int) -> ServerResponse {
        let body = Self.body(code)
        var headers = HTTPHeaders()
        headers.add(name: "Content-length", value: String(body.utf8.count))
        headers.add(name: "Cache-Control", value: "no-cache")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Content-Type", value: "text/html")
        return ServerResponse(status: status(code), headers: headers, body: ByteBuffer(string: body), close: true, rawHeaders: true)
    }
}
