import Foundation
import NIOCore
import NIOHTTP1

/// A request as a process sees it: the whole message plus where it came from.
public struct IncomingRequest: Sendable {
    public var head: HTTPRequestHead
    public var body: ByteBuffer?
    public var remoteAddress: String
    public var remotePort: Int
    public var localAddress: String
    public var localPort: Int
    /// When the request's first byte arrived … approximately: when the full request was read.
    public var received: NIODeadline
    public var receivedDate: Date
    public var eventLoop: EventLoop

    public var bodyString: String { body.map { String(buffer: $0) } ?? "" }
}

/// What a process answers. `abort` closes the connection without answering (a killed worker).
public struct ServerResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer?
    public var close: Bool
    public var abort: Bool

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer? = nil, close: Bool = false, abort: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.close = close
        self.abort = abort
    }

    public static func aborted() -> ServerResponse { ServerResponse(status: .internalServerError, abort: true) }

    public var bodyBytes: Int { body?.readableBytes ?? 0 }
}

/// The decision part of an HTTP process (balancer, web server, app server): turn a request into a response.
public protocol HTTPResponder: Sendable {
    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse>
}

/// The server side of every HTTP process: whole requests in, whole responses out, keep-alive as HTTP/1.x says.
final class HTTPServerHandler: ChannelInboundHandler {
    typealias InboundIn = NIOHTTPServerRequestFull
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: any HTTPResponder
    private let serverHeader: String?

    init(responder: any HTTPResponder, serverHeader: String?) {
        self.responder = responder
        self.serverHeader = serverHeader
    }

    /// The pipeline of an HTTP process, in one place: HTTP/1 codec, pipelining, whole requests, then the process.
    static func install(on channel: Channel, responder: any HTTPResponder, serverHeader: String?) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            try sync.configureHTTPServerPipeline(withErrorHandling: true)
            try sync.addHandler(NIOHTTPServerRequestAggregator(maxContentLength: 1 << 20))
            try sync.addHandler(HTTPServerHandler(responder: responder, serverHeader: serverHeader))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let full = unwrapInboundIn(data)
        let remote = context.remoteAddress
        let local = context.localAddress
        let request = IncomingRequest(
            head: full.head, body: full.body,
            remoteAddress: remote?.ipAddress ?? "-", remotePort: remote?.port ?? 0,
            localAddress: local?.ipAddress ?? "-", localPort: local?.port ?? 0,
            received: .now(), receivedDate: Date(), eventLoop: context.eventLoop)
        let keepAlive = full.head.isKeepAlive
        let version = full.head.version
        let isHead = full.head.method == .HEAD
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        responder.respond(to: request).hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            switch result {
            case .success(let response):
                handler.write(response, keepAlive: keepAlive, version: version, isHead: isHead, context: context)
            case .failure:
                context.close(promise: nil)
            }
        }
    }

    private func write(_ response: ServerResponse, keepAlive: Bool, version: HTTPVersion, isHead: Bool, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if response.abort {
            context.close(promise: nil)
            return
        }
        let close = response.close || !keepAlive
        var headers = response.headers
        if let serverHeader, !headers.contains(name: "Server") { headers.add(name: "Server", value: serverHeader) }
        if !headers.contains(name: "Date") { headers.add(name: "Date", value: LogTime.http()) }
        headers.replaceOrAdd(name: "Content-Length", value: String(response.bodyBytes))
        if close {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if version.minor == 0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: version.major == 1 ? version : .http1_1, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = response.body, !isHead, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension HTTPHeaders {
    /// Appends to a comma-separated header such as `Via` or `X-Forwarded-For`.
    mutating func append(to name: String, _ value: String) {
        let existing = self[name]
        if existing.isEmpty {
            add(name: name, value: value)
        } else {
            replaceOrAdd(name: name, value: (existing + [value]).joined(separator: ", "))
        }
    }
}

extension ByteBuffer {
    init(text: String) {
        self = ByteBuffer(string: text)
    }
}
