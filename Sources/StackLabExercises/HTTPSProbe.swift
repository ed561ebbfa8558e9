import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A visitor's browser speaking HTTPS to the lab: TLS with the lab's CA trusted (and, for the old-TLS check, with
/// the highest version capped), one GET, the response head and body.
struct HTTPSProbe {
    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    var group: EventLoopGroup
    var caFile: String
    var serverName = "www.foobar.com"

    func get(host: String, port: Int, path: String = "/", maximumTLS: TLSVersion? = nil, timeout: Double = 3) async throws -> Response {
        var tls = TLSConfiguration.makeClientConfiguration()
        // Without a CA file the lab has minted no certificate; the connection attempt still says what is there.
        tls.trustRoots = FileManager.default.fileExists(atPath: caFile) ? .file(caFile) : .default
        if let maximumTLS {
            tls.maximumTLSVersion = maximumTLS
            tls.minimumTLSVersion = .tlsv1
        }
        let context = try NIOSSLContext(configuration: tls)
        let collector = ResponseCollector(promise: group.next().makePromise())
        let name = serverName
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: name)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).get()
        } catch {
            collector.promise.fail(error)   // a promise must be completed, even when nothing connected
            throw Failure(description: Self.words(for: error))
        }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: "\(name):\(port)")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "User-Agent", value: "stacklab-grader/1.0")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let deadline = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            collector.promise.fail(Failure(description: "no answer within \(timeout) s"))
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        do {
            let response = try await collector.promise.futureResult.get()
            channel.close(promise: nil)
            return response
        } catch {
            channel.close(promise: nil)
            throw Failure(description: Self.words(for: error))
        }
    }

    /// "connection refused", not NIO's whole error value.
    static func words(for error: Error) -> String {
        let text = "\(error)"
        if text.contains("refused") || text.contains("errno: 111") { return "connection refused" }
        if text.contains("PROTOCOL_VERSION") { return "the server answered with a protocol_version alert" }
        if text.contains("connection reset") || text.contains("Connection reset") { return "connection reset" }
        if text.contains("timeout") || text.contains("timedOut") { return "connection timed out" }
        return text
    }

    private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
        // Only touched on the channel's event loop (handler callbacks); the promise is thread-safe.
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<Response>
        private var head: HTTPResponseHead?
        private var body = ""

        init(promise: EventLoopPromise<Response>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body(let buffer): body += String(buffer: buffer)
            case .end:
                if let head { promise.succeed(Response(status: Int(head.status.code), headers: head.headers, body: body)) }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(description: "the connection closed before a response"))
        }
    }
}
