import NIOCore
import NIOHTTP1

/// The balancer's HTTPS rules: `http-request redirect scheme https`, `http-request set-header`, `http-response
/// set-header`, each with its `ssl_fc` condition.
enum HTTPSRules {
    /// HAProxy's scheme redirect for a request that came in over plain HTTP, or nil when the rule does not apply.
    ///
    /// The location is `https://` + the Host header + the path, as HAProxy writes it. One difference, for the lab's
    /// ports: real sites use 80 and 443, where the Host header carries no port; the lab uses 8080 and 8443, so a Host
    /// naming a plain bind's port is moved to the frontend's ssl bind port (real, after the port plan).
    static func redirect(_ request: IncomingRequest, frontend: HAProxyConfig.Frontend, tls: Bool, network: LabNetwork) -> ServerResponse? {
        guard let rule = frontend.httpsRedirect, rule.condition.holds(tls: tls) else { return nil }
        var host = request.head.headers.first(name: "Host") ?? "\(request.localAddress):\(request.localPort)"
        if let colon = host.lastIndex(of: ":"), let port = Int(host[host.index(after: colon)...]) {
            let plainPorts = frontend.binds.filter { $0.certificateFile == nil }.map { network.port($0.port) }
            if plainPorts.contains(port), let ssl = frontend.binds.first(where: { $0.certificateFile != nil }) {
                host = String(host[..<colon]) + ":\(network.port(ssl.port))"
            }
        }
        let status: HTTPResponseStatus = switch rule.code {
        case 301: .movedPermanently
        case 303: .seeOther
        case 307: .temporaryRedirect
        case 308: .permanentRedirect
        default: .found
        }
        // HAProxy 2.6's redirect (http_apply_redirect_rule), as the real one answers here: empty body, these headers
        // in this order and case, no Date, and `connection: close` only when the client asked to close.
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: "0")
        headers.add(name: "location", value: "https://\(host)\(request.head.uri)")
        headers.add(name: "cache-control", value: "no-cache")
        let close = !request.head.isKeepAlive
        if close { headers.add(name: "connection", value: "close") }
        return ServerResponse(status: status, headers: headers, close: close, rawHeaders: true)
    }

    static func setRequestHeaders(_ headers: inout HTTPHeaders, frontend: HAProxyConfig.Frontend, tls: Bool) {
        for rule in frontend.requestHeaders where rule.condition.holds(tls: tls) {
            headers.replaceOrAdd(name: rule.name, value: rule.value)
        }
    }

    static func setResponseHeaders(_ headers: inout HTTPHeaders, frontend: HAProxyConfig.Frontend, tls: Bool) {
        for rule in frontend.responseHeaders where rule.condition.holds(tls: tls) {
            headers.replaceOrAdd(name: rule.name, value: rule.value)
        }
    }
}
