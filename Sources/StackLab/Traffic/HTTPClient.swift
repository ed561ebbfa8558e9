import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// A response as a client sees it.
public struct ClientResponse: Sendable {
    public var status: Int
    public var reason: String
    public var version: String
    public var headers: [(name: String, value: String)]
    public var body: String
    /// Seconds from sending to the whole response.
    public var elapsed: Double
    /// The trace id this request carried (`traceparent`), to look up its hops.
    public var traceID: String

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// What a client sees when there is no response at all.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case refused(String)
    case connectTimeout(String)
    case noResponse(String)
    case timedOut(String)
    case badURL(String)
    case tlsFailed(String, String)

    public var description: String {
        switch self {
        case .refused(let address): "Failed to connect to \(address): Connection refused"
        case .connectTimeout(let address): "Failed to connect to \(address): Connection timed out"
        case .noResponse(let address): "Empty reply from server \(address)"
        case .timedOut(let address): "Operation timed out: no answer from \(address)"
        case .badURL(let text): "not a URL or path: \(text)"
        case .tlsFailed(let address, let reason): "TLS with \(address) failed: \(reason)"
        }
    }
}

/// HTTPS for the client: which certificate authority to trust (like `curl --cacert`) and the name to check the
/// server's certificate against (SNI); nil checks the certificate's IP address against the one connected to.
public struct ClientTLS: Sendable {
    public var caFile: String
    public var serverName: String?
    public init(caFile: String, serverName: String? = nil) {
        self.caFile = caFile
        self.serverName = serverName
    }

    func handler() throws -> NIOSSLClientHandler {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(caFile)
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLClientHandler(context: try NIOSSLContext(configuration: configuration), serverHostname: serverName)
    }
}

/// A small HTTP/1.1 client on the lab's wires: it connects *from* an address (the internet side, 127.0.0.1, unless
/// told otherwise), so the lab sees it like a browser on the internet.
public struct HTTPClient: Sendable {
    public let dialer: Dialer
    public let group: EventLoopGroup

    public init(dialer: Dialer, group: EventLoopGroup) {
        self.dialer = dialer
        self.group = group
    }

    /// Splits `http://host:port/path`, `host:port/path` or `/path` (then `defaultAddress`) into parts.
    public static func split(_ text: String, defaultAddress: String) -> (host: String, port: Int, path: String)? {
        var rest = Substring(text)
        if rest.hasPrefix("/") {
            let parts = defaultAddress.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]) else { return nil }
            return (String(parts[0]), port, String(rest))
        }
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash < rest.endIndex ? String(rest[slash...]) : "/"
        let pieces = authority.split(separator: ":")
        guard pieces.count <= 2, let host = pieces.first, !host.isEmpty else { return nil }
        let port = pieces.count == 2 ? Int(pieces[1]) : 80
        guard let port, (1...65535).contains(port) else { return nil }
        return (String(host), port, path)
    }

    /// The request head `request` sends: Host, User-Agent, Accept, the trace's `traceparent`, `Connection: close`,
    /// then `headers` (each replaces one of the same name), and a form's Content-Type when there is a body.
    public static func head(method: String, host: String, port: Int, path: String, headers: [(String, String)], body: String?,
                            trace: TraceContext, tls: ClientTLS?) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        let hostName = tls?.serverName ?? host
        head.headers.add(name: "Host", value: port == (tls == nil ? 80 : 443) ? hostName : "\(hostName):\(port)")
        head.headers.add(name: "User-Agent", value: "stacklab-curl/1.0")
        head.headers.add(name: "Accept", value: "*/*")
        head.headers.add(name: "traceparent", value: trace.traceparent)
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.replaceOrAdd(name: name, value: value) }
        if let body {
            if !body.isEmpty { head.headers.replaceOrAdd(name: "Content-Length", value: String(body.utf8.count)) }
            if !head.headers.contains(name: "Content-Type") {
                head.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            }
        }
        return head
    }

    /// Sends one request on a new connection. `port` is a real port.
    public func request(method: String = "GET", host: String, port: Int, path: String, headers: [(String, String)] = [],
                        body: String? = nil, timeout: Double = 30, trace: TraceContext = .new(),
                        tls: ClientTLS? = nil) async throws -> ClientResponse {
        let loop = group.next()
        let started = Date()
        let address = "\(host):\(port)"
        let connection: UpstreamConnection
        do {
            connection = try await dialer.connect(host: host, port: port, on: loop, timeoutMilliseconds: Int(timeout * 1000)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(try tls.handler()) }
                    try sync.addForwardingClientHandlers()
                    try sync.addHandler(UpstreamResponseHandler())
                }
            }
            .flatMapThrowing { channel in
                UpstreamConnection(channel: channel, handler: try channel.pipeline.syncOperations.handler(type: UpstreamResponseHandler.self))
            }
            .get()
        } catch {
            switch DialError.classify(error) {
            case .refused: throw ClientError.refused(address)
            case .timedOut: throw ClientError.connectTimeout(address)
            case .other: throw ClientError.refused(address)
            }
        }
        let request = Self.head(method: method, host: host, port: port, path: path, headers: headers, body: body, trace: trace, tls: tls)
        let payload = body.map { ByteBuffer(string: $0) }
        do {
            let response = try await loop.flatSubmit {
                connection.send(head: request, body: payload, readTimeoutMilliseconds: Int(timeout * 1000))
            }.get()
            connection.close()
            return ClientResponse(
                status: Int(response.head.status.code), reason: response.head.status.reasonPhrase,
                version: "HTTP/\(response.head.version.major).\(response.head.version.minor)",
                headers: response.head.headers.map { ($0.name, $0.value) },
                body: response.body.map { String(buffer: $0) } ?? "", elapsed: Date().timeIntervalSince(started), traceID: trace.traceID)
        } catch {
            connection.close()
            if case .timedOut = error as? UpstreamError { throw ClientError.timedOut(address) }
            if tls != nil, let reason = Self.tlsFailure(connection) { throw ClientError.tlsFailed(address, reason) }
            throw ClientError.noResponse(address)
        }
    }
}

extension HTTPClient {
    /// Why a TLS connection ended, when the TLS handler saw it (a certificate the CA did not sign, an old protocol).
    static func tlsFailure(_ connection: UpstreamConnection) -> String? {
        connection.handler.value.lastError.map { "\($0)" }
    }
}

extension Lab {
    /// A client on the internet side (127.0.0.1), like a learner's browser.
    public var internetClient: HTTPClient {
        HTTPClient(dialer: Dialer(network: network, fromServer: "internet", sourceAddress: LabNetwork.internetAddress), group: group)
    }

    /// One request to the site through the balancer, as a browser would send it.
    public func get(_ path: String, method: String = "GET", body: String? = nil, headers: [(String, String)] = [],
                    timeout: Double = 30) async throws -> ClientResponse {
        guard let entry = entryAddress, let target = HTTPClient.split(path, defaultAddress: entry) else {
            throw ClientError.badURL(path)
        }
        return try await internetClient.request(method: method, host: target.host, port: target.port, path: target.path,
                                                headers: headers, body: body, timeout: timeout)
    }
}
