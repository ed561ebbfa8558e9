import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// A whole HTTP response from an upstream server.
public struct UpstreamResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: ByteBuffer?
}

/// How talking to an upstream went wrong, in the terms nginx and HAProxy use to pick 502 or 504.
public enum UpstreamError: Error, Sendable, Equatable {
    /// The connection could not be made (refused, timed out).
    case connect(DialError)
    /// Connected, but no response header within the read timeout.
    case timedOut
    /// The server closed the connection before a complete response header.
    case closedEarly
    /// The server reset the connection (ECONNRESET) before a complete response.
    case reset
    /// The response was not valid HTTP.
    case invalidResponse
}

/// One HTTP/1.1 client connection to an upstream (balancer → web, web → app). One request at a time.
public final class UpstreamConnection: Sendable {
    public let channel: Channel
    let handler: NIOLoopBound<UpstreamResponseHandler>

    init(channel: Channel, handler: UpstreamResponseHandler) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    /// Opens a connection from `dialer`'s server. Must be called on `eventLoop`.
    public static func open(dialer: Dialer, host: String, configuredPort: Int, on eventLoop: EventLoop,
                            connectTimeoutMilliseconds: Int?) -> EventLoopFuture<UpstreamConnection> {
        dialer.connect(host: host, configuredPort: configuredPort, on: eventLoop, timeoutMilliseconds: connectTimeoutMilliseconds) { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                try sync.addForwardingClientHandlers()
                try sync.addHandler(UpstreamResponseHandler())
            }
        }
        .flatMapError { error in eventLoop.makeFailedFuture(UpstreamError.connect(DialError.classify(error))) }
        .flatMapThrowing { channel in
            let handler = try channel.pipeline.syncOperations.handler(type: UpstreamResponseHandler.self)
            return UpstreamConnection(channel: channel, handler: handler)
        }
    }

    /// Sends one request and waits for the whole response. Must be called on the connection's event loop.
    public func send(head: HTTPRequestHead, body: ByteBuffer?, readTimeoutMilliseconds: Int?) -> EventLoopFuture<UpstreamResponse> {
        // The server may have spoken and hung up before we asked (a MySQL greeting to an HTTP client): nothing will
        // come on this connection any more, so say so now rather than at the read timeout.
        guard channel.isActive else {
            let error: UpstreamError = handler.value.lastError is HTTPParserError ? .invalidResponse : .closedEarly
            return channel.eventLoop.makeFailedFuture(error)
        }
        let promise = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        handler.value.expect(promise, timeout: readTimeoutMilliseconds.map { .milliseconds(Int64($0)) }, channel: channel)
        var head = head
        if let body, body.readableBytes > 0 {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        } else if head.method == .POST || head.method == .PUT {
            head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body, body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return promise.futureResult
    }

    /// Whether the connection can carry another request after this response.
    public var isReusable: Bool { channel.isActive && handler.value.reusable }

    public func close() { channel.close(promise: nil) }
}

/// Collects one whole response (head, body, end) for the request in flight.
final class UpstreamResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    static let maxBody = 64 << 20

    private var promise: EventLoopPromise<UpstreamResponse>?
    private var timeout: Scheduled<Void>?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    fileprivate(set) var reusable = true
    /// The error that ended the connection, for a client that wants to say why (a TLS certificate problem).
    private(set) var lastError: (any Error)?

    func expect(_ promise: EventLoopPromise<UpstreamResponse>, timeout: TimeAmount?, channel: Channel) {
        self.promise = promise
        reusable = false
        if let timeout {
            let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
            self.timeout = channel.eventLoop.scheduleTask(in: timeout) {
                bound.value.fail(.timedOut)
                channel.close(promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
        case .body(var chunk):
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
            if (body?.readableBytes ?? 0) > Self.maxBody {
                fail(.invalidResponse)
                context.close(promise: nil)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            timeout?.cancel()
            timeout = nil
            reusable = head.isKeepAlive
            let promise = self.promise
            self.promise = nil
            let response = UpstreamResponse(head: head, body: body)
            body = nil
            promise?.succeed(response)
            if !reusable { context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = error
        if let io = error as? IOError, io.errnoCode == ECONNRESET {
            fail(.reset)
        } else if error is HTTPParserError {
            fail(.invalidResponse)
        } else {
            fail(.closedEarly)
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        reusable = false
        fail(.closedEarly)
        context.fireChannelInactive()
    }

    private func fail(_ error: UpstreamError) {
        timeout?.cancel()
        timeout = nil
        let promise = self.promise
        self.promise = nil
        promise?.fail(error)
    }
}

/// Idle keep-alive connections to upstream servers, per event loop (a request reuses a connection on its own loop).
public final class UpstreamPool: Sendable {
    private let maxIdlePerTarget: Int
    private let idle = NIOLockedValueBox<[Key: [UpstreamConnection]]>([:])

    private struct Key: Hashable {
        let loop: ObjectIdentifier
        let target: String
    }

    public init(maxIdlePerTarget: Int) { self.maxIdlePerTarget = maxIdlePerTarget }

    /// A ready connection: an idle one when there is one, else a new one.
    public func connection(dialer: Dialer, host: String, configuredPort: Int, on eventLoop: EventLoop,
                           connectTimeoutMilliseconds: Int?) -> (EventLoopFuture<UpstreamConnection>, reused: Bool) {
        let key = Key(loop: ObjectIdentifier(eventLoop), target: "\(host):\(configuredPort)")
        while let candidate = idle.withLockedValue({ $0[key]?.popLast() }) {
            if candidate.channel.isActive { return (eventLoop.makeSucceededFuture(candidate), true) }
        }
        return (UpstreamConnection.open(dialer: dialer, host: host, configuredPort: configuredPort, on: eventLoop,
                                        connectTimeoutMilliseconds: connectTimeoutMilliseconds), false)
    }

    /// Gives a connection back after a complete response; it is closed when it cannot be reused or the pool is full.
    public func release(_ connection: UpstreamConnection, host: String, configuredPort: Int) {
        guard maxIdlePerTarget > 0, connection.isReusable else {
            connection.close()
            return
        }
        let key = Key(loop: ObjectIdentifier(connection.channel.eventLoop), target: "\(host):\(configuredPort)")
        let kept = idle.withLockedValue { idle -> Bool in
            var list = idle[key, default: []]
            guard list.count < maxIdlePerTarget else { return false }
            list.append(connection)
            idle[key] = list
            return true
        }
        if !kept { connection.close() }
    }

    public func closeAll() {
        let all = idle.withLockedValue { idle -> [UpstreamConnection] in
            let all = idle.values.flatMap { $0 }
            idle.removeAll()
            return all
        }
        for connection in all { connection.close() }
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// NIO's HTTP/1 client handlers with the checks of a proxy that forwards what it received, instead of NIO's own:
    /// see `ForwardedRequestValidator`.
    func addForwardingClientHandlers() throws {
        try addHTTPClientHandlers(enableOutboundHeaderValidation: false)
        try addHandler(ForwardedRequestValidator())
    }
}

/// What a proxy checks before it sends a request on: nothing in the URI that would end it (a space, CR, LF or other
/// control byte) and header names and values that cannot split the message. NIO's own validator also holds URIs to
/// RFC 3986's characters, and so refuses `{ } | ^ \ " < >` — which HAProxy and nginx forward as they came.
final class ForwardedRequestValidator: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head(let head) = unwrapOutboundIn(data) {
            let uriIsSafe = !head.uri.isEmpty && head.uri.utf8.allSatisfy { $0 > 0x20 }
            guard uriIsSafe, head.method.rawValue.utf8.allSatisfy(Self.isToken), Self.safe(head.headers) else {
                promise?.fail(HTTPParserError.invalidHeaderToken)
                context.fireErrorCaught(HTTPParserError.invalidHeaderToken)
                return
            }
        }
        context.write(data, promise: promise)
    }

    static func safe(_ headers: HTTPHeaders) -> Bool {
        headers.allSatisfy { name, value in
            !name.isEmpty && name.utf8.allSatisfy(isToken)
                && value.utf8.allSatisfy { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") && $0 != 0 }
        }
    }

    /// RFC 9110's token characters (header names, methods).
    static func isToken(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
