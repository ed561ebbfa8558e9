import NIOCore
import NIOHTTP1

/// HAProxy's built-in error responses (HAProxy 2.6, src/http_htx.c): status, `cache-control: no-cache`,
/// `content-type: text/html`, and a one-line explanation.
enum HAProxyErrorPage {
    static func response(_ code: Int) -> ServerResponse {
        let (status, text): (HTTPResponseStatus, String) = switch code {
        case 502: (.badGateway, "The server returned an invalid or incomplete response.")
        case 504: (.gatewayTimeout, "The server didn't respond in time.")
        default: (.serviceUnavailable, "No server is available to handle this request.")
        }
        let title = code == 504 ? "504 Gateway Time-out" : "\(status.code) \(status.reasonPhrase)"
        let body = "<html><body><h1>\(title)</h1>\n\(text)\n</body></html>\n"
        var headers = HTTPHeaders()
        headers.add(name: "cache-control", value: "no-cache")
        headers.add(name: "content-type", value: "text/html")
        let realStatus: HTTPResponseStatus = code == 504 ? .custom(code: 504, reasonPhrase: "Gateway Time-out") : status
        return ServerResponse(status: realStatus, headers: headers, body: ByteBuffer(string: body), close: true)
    }
}
