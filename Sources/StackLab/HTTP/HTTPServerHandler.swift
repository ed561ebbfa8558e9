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

/// The server side of every HTTP process: whole requests in, whole responses out, in order, keep-alive as HTTP/1.x
/// says. One handler does what NIO's pipelining handler, error handler and aggregator do together, because every
/// request crosses three of these.
final class HTTPServerHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: any HTTPResponder
    private let serverHeader: String?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// Whole requests waiting for the one in progress (a client that pipelines).
    private var waiting: [NIOHTTPServerRequestFull] = []
    private var busy = false
    /// The connection's addresses, worked out once (not per request).
    private var peer: (remote: String, remotePort: Int, local: String, localPort: Int)?
    private var closing = false
    private var quiescing = false
    static let maxBody = 1 << 20

    init(responder: any HTTPResponder, serverHeader: String?) {
        self.responder = responder
        self.serverHeader = serverHeader
    }

    /// The pipeline of an HTTP process, in one place: HTTP/1 decoder and encoder, then the process.
    static func install(on channel: Channel, responder: any HTTPResponder, serverHeader: String?) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(HTTPResponseEncoder())
            try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
            try sync.addHandler(HTTPServerHandler(responder: responder, serverHeader: serverHeader))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
        case .body(var chunk):
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            if (body?.readableBytes ?? 0) > Self.maxBody {
                fail(context: context, status: .payloadTooLarge)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let full = NIOHTTPServerRequestFull(head: head, body: body)
            body = nil
            if busy {
                waiting.append(full)
            } else {
                handle(full, context: context)
            }
        }
    }

    private func handle(_ full: NIOHTTPServerRequestFull, context: ChannelHandlerContext) {
        busy = true
        if peer == nil {
            let remote = context.remoteAddress
            let local = context.localAddress
            peer = (remote?.ipAddress ?? "-", remote?.port ?? 0, local?.ipAddress ?? "-", local?.port ?? 0)
        }
        let peer = self.peer!
        let request = IncomingRequest(
            head: full.head, body: full.body,
            remoteAddress: peer.remote, remotePort: peer.remotePort, localAddress: peer.local, localPort: peer.localPort,
            received: .now(), receivedDate: Date(), eventLoop: context.eventLoop)
        let keepAlive = full.head.isKeepAlive && !quiescing
        let version = full.head.version
        let isHead = full.head.method == .HEAD
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        responder.respond(to: request).hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            switch result {
            case .success(let response):
                handler.write(response, keepAlive: keepAlive && !handler.quiescing, version: version, isHead: isHead, context: context)
            case .failure:
                handler.closing = true
                context.close(promise: nil)
            }
            handler.busy = false
            if !handler.closing, !handler.waiting.isEmpty {
                handler.handle(handler.waiting.removeFirst(), context: context)
            } else if handler.quiescing, !handler.closing {
                handler.closing = true
                context.close(promise: nil)
            }
        }
    }

    private func write(_ response: ServerResponse, keepAlive: Bool, version: HTTPVersion, isHead: Bool, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if response.abort {
            closing = true
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
        if close {
            closing = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    /// A request the decoder cannot parse gets a 400 and the connection closes, as HTTP servers do.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError, !busy {
            fail(context: context, status: .badRequest)
        } else {
            closing = true
            context.close(promise: nil)
        }
    }

    private func fail(context: ChannelHandlerContext, status: HTTPResponseStatus) {
        guard !closing else { return }
        closing = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Graceful stop: finish the request in progress, then close; an idle connection closes at once.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if !busy {
                closing = true
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
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
