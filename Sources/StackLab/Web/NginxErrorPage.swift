import NIOCore
import NIOHTTP1

/// nginx's built-in error pages (src/http/ngx_http_special_response.c), CRLF line ends, with the `nginx/VERSION`
/// footer unless `server_tokens off`.
public enum NginxErrorPage {
    public static let version = "1.22.1"   // Debian 12's nginx

    static let titles: [Int: String] = [
        301: "301 Moved Permanently", 302: "302 Found", 400: "400 Bad Request", 403: "403 Forbidden", 404: "404 Not Found",
        405: "405 Not Allowed", 408: "408 Request Time-out", 412: "412 Precondition Failed", 413: "413 Request Entity Too Large",
        414: "414 Request-URI Too Large", 416: "416 Requested Range Not Satisfiable",
        500: "500 Internal Server Error", 502: "502 Bad Gateway",
        503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out",
    ]

    public static func body(_ code: Int, serverTokens: Bool = true) -> String {
        let title = titles[code] ?? "\(code)"
        let footer = serverTokens ? "nginx/\(version)" : "nginx"
        return "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n"
            + "<hr><center>\(footer)</center>\r\n</body>\r\n</html>\r\n"
    }

    /// nginx's page for a head that does not fit its large_client_header_buffers: a 400 with its own title.
    public static func headerTooLargeBody(serverTokens: Bool = true) -> String {
        let footer = serverTokens ? "nginx/\(version)" : "nginx"
        return "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n"
            + "<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n"
            + "<hr><center>\(footer)</center>\r\n</body>\r\n</html>\r\n"
    }

    public static func status(_ code: Int) -> HTTPResponseStatus {
        switch code {
        case 503: .custom(code: 503, reasonPhrase: "Service Temporarily Unavailable")
        case 504: .custom(code: 504, reasonPhrase: "Gateway Time-out")
        case 405: .custom(code: 405, reasonPhrase: "Not Allowed")
        case 408: .custom(code: 408, reasonPhrase: "Request Time-out")
        case 413: .custom(code: 413, reasonPhrase: "Request Entity Too Large")
        case 414: .custom(code: 414, reasonPhrase: "Request-URI Too Large")
        case 416: .custom(code: 416, reasonPhrase: "Requested Range Not Satisfiable")
        default: HTTPResponseStatus(statusCode: code)
        }
    }

    static func response(_ code: Int, serverTokens: Bool, close: Bool = false) -> ServerResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/html")
        return ServerResponse(status: status(code), headers: headers, body: ByteBuffer(string: body(code, serverTokens: serverTokens)),
                              close: close)
    }
}
