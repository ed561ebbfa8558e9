import Foundation
import NIOCore
import NIOHTTP1

/// How web-0N/gunicorn treats a client connection, as gunicorn 23's sync worker does: limit_request_line,
/// limit_request_fields and limit_request_field_size answered with its own error page (`util.write_error`) and an
/// `Invalid request from ip=…` warning; a client too slow to send its request holds its worker until the arbiter
/// kills that worker at `timeout` (WORKER TIMEOUT) and the connection closes without an answer.
struct GunicornConnectionPolicy: HTTPConnectionPolicy {
    let app: AppServer

    static func limits(for config: GunicornConfig) -> HTTPServerLimits {
        var limits = HTTPServerLimits()
        // A sync worker reading a request does not notify the arbiter: the whole request must be in within timeout.
        limits.headTimeout = config.timeout > 0 ? .seconds(clamping: config.timeout) : nil
        limits.headTimeoutCoversBody = true
        limits.keepAlive = false
        limits.maxRequestLine = config.limitRequestLine > 0 ? config.limitRequestLine : nil
        // gunicorn counts a header line with its CRLF.
        limits.maxHeaderLine = config.limitRequestFieldSize > 0 ? max(0, config.limitRequestFieldSize - 2) : nil
        limits.maxHeaderCount = config.limitRequestFields
        // gunicorn's max_buffer_headers: fields × (field size + 2) + 4, after a request line of at most 8190.
        // Both are held within a few MB first, so the product cannot overflow.
        let field = config.limitRequestFieldSize > 0 ? min(config.limitRequestFieldSize, 1 << 22) : 8190
        let fields = min(max(1, config.limitRequestFields), 32_768)
        limits.maxHeadBytes = min(fields * (field + 2) + 4 + 8192, 4 << 20)
        return limits
    }

    /// gunicorn writes its status line in the request's HTTP version and says `100 Continue` as soon as it has
    /// parsed a head that asks for it.
    var wire: HTTPWireStyle { HTTPWireStyle(echoesRequestVersion: true, expectation: .answer) }

    func answer(_ event: HTTPConnectionEvent, connection: HTTPConnectionInfo) -> ServerResponse? {
        switch event {
        case .headTimeout, .headIdleTimeout, .bodyTimeout:
            app.workerTimedOutReading()
            return nil
        case .keepAliveTimeout, .clientClosed:
            return nil
        case .requestLineTooLong(let length):
            let limit = app.config.limitRequestLine
            return invalid(connection, error: "Request Line is too large (\(length) > \(limit))", status: 400, reason: "Bad Request",
                           message: "Request Line is too large (\(length) > \(limit))")
        case .headerLineTooLong:
            return invalid(connection, error: "limit request headers fields size", status: 431, reason: "Request Header Fields Too Large",
                           message: "Error parsing headers: 'limit request headers fields size'")
        case .tooManyHeaders:
            return invalid(connection, error: "limit request headers fields", status: 431, reason: "Request Header Fields Too Large",
                           message: "Error parsing headers: 'limit request headers fields'")
        case .headTooLarge:
            return invalid(connection, error: "max buffer headers", status: 431, reason: "Request Header Fields Too Large",
                           message: "Error parsing headers: 'max buffer headers'")
        case .badRequest:
            let line = connection.partialRequestLine
            return invalid(connection, error: "Invalid HTTP request line: '\(line)'", status: 400, reason: "Bad Request",
                           message: "Invalid Request Line 'Invalid HTTP request line: '\(line)''")
        case .bodyTooLarge:
            // gunicorn hands the body to the app as it reads; the miniature holds it whole, so it has a bound.
            return GunicornConnectionPolicy.page(413, reason: "Request Entity Too Large",
                                                 message: "stacklab's gunicorn holds a request body in memory: at most 16 MB")
        case .handlerFailed(let reason):
            let uri = connection.head?.uri
            app.logError(uri.map { "Error handling request \($0)" } ?? "Error handling request (no URI read)")
            app.logError(reason)
            return GunicornConnectionPolicy.page(500, reason: "Internal Server Error", message: "")
        }
    }

    /// `[WARNING] Invalid request from ip=127.0.0.1: …` and gunicorn's page.
    private func invalid(_ connection: HTTPConnectionInfo, error: String, status: Int, reason: String, message: String) -> ServerResponse {
        app.logWarning("Invalid request from ip=\(connection.remoteAddress): \(error)")
        return GunicornConnectionPolicy.page(status, reason: reason, message: message)
    }

    /// gunicorn's `util.write_error`: exactly these three headers, and this page.
    static func page(_ status: Int, reason: String, message: String) -> ServerResponse {
        let body = "<html>\n  <head>\n    <title>\(reason)</title>\n  </head>\n  <body>\n    <h1><p>\(reason)</p></h1>\n    "
            + "\(htmlEscaped(message))\n  </body>\n</html>\n"
        var headers = HTTPHeaders()
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Content-Type", value: "text/html")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        return ServerResponse(status: .custom(code: UInt(status), reasonPhrase: reason), headers: headers, body: ByteBuffer(string: body),
                              close: true, rawHeaders: true)
    }

    /// Python's html.escape(quote=True).
    static func htmlEscaped(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#x27;"
            default: out.append(c)
            }
        }
        return out
    }
}
