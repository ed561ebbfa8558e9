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
                let reasons = StatusLineWatch()
                try sync.addHandler(reasons)
                try sync.addForwardingClientHandlers(interim: .forward)
                try sync.addHandler(UpstreamResponseHandler(reasons: reasons))
            }
        }
        .flatMapError { error in eventLoop.makeFailedFuture(UpstreamError.connect(DialError.classify(error))) }
        .flatMapThrowing { channel in
            let handler = try channel.pipeline.syncOperations.handler(type: UpstreamResponseHandler.self)
            return UpstreamConnection(channel: channel, handler: handler)
        }
    }

    /// Sends one request and waits for the whole response. Must be called on the connection's event loop.
    /// With `following`, the head goes now with its `Expect: 100-continue` and the body once the server says
    /// `100 Continue` (the client is told so through `following`); a final answer first and the body is never sent.
    public func send(head: HTTPRequestHead, body: ByteBuffer?, readTimeoutMilliseconds: Int?,
                     following: FollowingBody? = nil) -> EventLoopFuture<UpstreamResponse> {
        // The server may have spoken and hung up before we asked (a MySQL greeting to an HTTP client): nothing will
        // come on this connection any more, so say so now rather than at the read timeout.
        guard channel.isActive else {
            let error: UpstreamError = handler.value.lastError is HTTPParserError ? .invalidResponse : .closedEarly
            return channel.eventLoop.makeFailedFuture(error)
        }
        let promise = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        let handler = self.handler.value
        handler.expect(promise, timeout: readTimeoutMilliseconds.map { .milliseconds(Int64($0)) }, channel: channel)
        let channel = self.channel
        let written = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        if let following {
            channel.writeAndFlush(HTTPClientRequestPart.head(head)).whenSuccess { written.value.requestStarted = true }
            handler.onContinue = {
                following.proceed()
                following.body.hop(to: channel.eventLoop).whenSuccess { body in
                    guard written.value.awaitingBody else { return }
                    written.value.awaitingBody = false
                    if let body, body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                }
            }
            handler.awaitingBody = true
            return promise.futureResult
        }
        var head = head
        // The length is spelled as the sender spells its headers (HAProxy: `content-length`).
        let lengthName = head.headers.contains { Self.hasUppercase($0.name) } || head.headers.isEmpty
            ? "Content-Length" : "content-length"
        if let body, body.readableBytes > 0 {
            head.headers.replaceOrAdd(name: lengthName, value: String(body.readableBytes))
        } else if head.method == .POST || head.method == .PUT {
            head.headers.replaceOrAdd(name: lengthName, value: "0")
        }
        channel.write(HTTPClientRequestPart.head(head)).whenSuccess { written.value.requestStarted = true }
        if let body, body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return promise.futureResult
    }

    /// Whether a header name has an upper-case letter: A to Z looked for in its bytes, Unicode's rule only for a
    /// name that is not all ASCII (every request's header names pass here).
    static func hasUppercase(_ name: String) -> Bool {
        var ascii = true
        for byte in name.utf8 {
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { return true }
            if byte >= 0x80 { ascii = false }
        }
        return !ascii && name.contains(where: \.isUppercase)
    }

    /// Whether bytes of the request in flight reached the server's socket: a request that did may have been acted
    /// on, and is not sent again (HAProxy retries only what never left it).
    public var requestReachedServer: Bool { handler.value.requestStarted }

    /// Whether the connection can carry another request after this response.
    public var isReusable: Bool { channel.isActive && handler.value.reusable }

    public func close() { channel.close(promise: nil) }
}

/// Before the response decoder, on the raw bytes: each response's reason phrase as the server wrote it (NIO's
/// decoder keeps only the code), so a proxy passes on `413 Request Entity Too Large` and `504 Gateway Time-out` as
/// nginx spells them, as HAProxy and nginx do.
final class StatusLineWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State {
        case statusLine
        /// An interim answer's head: skipped up to its empty line, then the next status line.
        case interim
        case body
    }
    private var state = State.statusLine
    /// The status line so far (its first 512 bytes); the last bytes of an interim head. Emptied, not freed, between
    /// responses: a kept-alive connection reads one status line per request.
    private var line: [UInt8] = []
    private var last: [UInt8] = []
    /// The final response's code and reason, once its status line has passed.
    private(set) var reason: (code: UInt, text: String)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Only the bytes up to the final status line are looked at; the rest passes untouched.
        if case .body = state {
            context.fireChannelRead(data)
            return
        }
        let bytes = unwrapInboundIn(data).readableBytesView
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch state {
            case .body:
                index = bytes.endIndex
            case .statusLine:
                // The line up to its line feed, taken in one piece.
                let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n"))
                let end = newline ?? bytes.endIndex
                if line.count < 512 { line.append(contentsOf: bytes[index..<min(end, index + (512 - line.count))]) }
                guard let newline else { return context.fireChannelRead(data) }
                index = newline + 1
                endOfStatusLine()
            case .interim:
                observeInterim(bytes[index])
                index += 1
            }
        }
        context.fireChannelRead(data)
    }

    private func endOfStatusLine() {
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        // `HTTP/1.1 413 Request Entity Too Large`: the code after the first space, the reason after the second.
        var code: UInt?
        var text = ""
        if let space = line.firstIndex(of: UInt8(ascii: " ")) {
            let rest = line[(space + 1)...]
            let second = rest.firstIndex(of: UInt8(ascii: " "))
            code = UInt(String(decoding: rest[..<(second ?? rest.endIndex)], as: UTF8.self))
            if let second { text = String(decoding: line[(second + 1)...], as: UTF8.self) }
        }
        line.removeAll(keepingCapacity: true)
        if let code, (100..<200).contains(code), code != 101 {
            state = .interim
            last.removeAll(keepingCapacity: true)
            return
        }
        if let code { reason = (code, text) }
        state = .body
    }

    private func observeInterim(_ byte: UInt8) {
        last.append(byte)
        if last.count > 4 { last.removeFirst() }
        if last == Array("\r\n\r\n".utf8) || last.suffix(2) == Array("\n\n".utf8) {
            state = .statusLine
        }
    }

    /// The response ended: the next bytes begin the next one.
    func responseEnded() {
        state = .statusLine
        line.removeAll(keepingCapacity: true)
        reason = nil
    }

    /// `status` with the reason phrase the server wrote, when it wrote one NIO's name for the code does not match.
    func spelled(_ status: HTTPResponseStatus) -> HTTPResponseStatus {
        guard let reason, reason.code == status.code, !reason.text.isEmpty, reason.text != status.reasonPhrase else { return status }
        return .custom(code: status.code, reasonPhrase: reason.text)
    }
}

/// Collects one whole response (head, body, end) for the request in flight.
final class UpstreamResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    static let maxBody = 64 << 20
    private let reasons: StatusLineWatch?

    init(reasons: StatusLineWatch? = nil) {
        self.reasons = reasons
    }

    private var promise: EventLoopPromise<UpstreamResponse>?
    /// The read timeout of the request in flight (`timeout server`, `proxy_read_timeout`).
    private var timeout = LazyTimer()
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    fileprivate(set) var reusable = true
    /// Some bytes of the request in flight were written to the socket.
    fileprivate(set) var requestStarted = false
    /// The server's `100 Continue` for a request whose body waits for it.
    fileprivate var onContinue: (() -> Void)?
    /// The body of the request in flight has not been sent (it waits for `100 Continue`).
    fileprivate var awaitingBody = false
    /// The error that ended the connection, for a client that wants to say why (a TLS certificate problem).
    private(set) var lastError: (any Error)?

    func expect(_ promise: EventLoopPromise<UpstreamResponse>, timeout: TimeAmount?, channel: Channel) {
        self.promise = promise
        reusable = false
        requestStarted = false
        onContinue = nil
        awaitingBody = false
        let target = timeout.map { channel.eventLoop.now + $0 }
        if self.timeout.move(to: target), let target { scheduleTimeout(due: target, channel: channel) }
    }

    private func scheduleTimeout(due: NIODeadline, channel: Channel) {
        let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
        let task = channel.eventLoop.scheduleTask(deadline: due) {
            let handler = bound.value
            handler.timeout.fired()
            guard let target = handler.timeout.target else { return }
            if target > due {
                handler.scheduleTimeout(due: target, channel: channel)
            } else {
                handler.fail(.timedOut)
                channel.close(promise: nil)
            }
        }
        timeout.scheduled(task, due: due)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head) where (100..<200).contains(head.status.code) && head.status.code != 101:
            // An interim answer: `100 Continue` lets the waiting body go; the final answer follows.
            if head.status.code == 100, let go = onContinue {
                onContinue = nil
                go()
            }
        case .head(var head):
            if let reasons { head.status = reasons.spelled(head.status) }
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
            timeout.target = nil
            // Answered before its body was sent: the server may still expect it, so the connection is not reused.
            reusable = head.isKeepAlive && !awaitingBody
            awaitingBody = false
            onContinue = nil
            reasons?.responseEnded()
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
        timeout.cancel()
        context.fireChannelInactive()
    }

    private func fail(_ error: UpstreamError) {
        timeout.target = nil
        let promise = self.promise
        self.promise = nil
        promise?.fail(error)
    }
}

/// Idle keep-alive connections to upstream servers, per event loop (a request reuses a connection on its own loop).
///
/// With a purge delay the pool closes idle connections nobody needs, as HAProxy 2.6 does with `pool-purge-delay`
/// (default 5 s, `srv_cleanup_idle_conns`): every delay, for each server, half (rounded up) of the connections past the
/// most it has recently had in use are closed, so an idle balancer gives its server connections back within about
/// 30 s (HAProxy 2.6 beside it: 16 idle connections after a wrk run, 10 at 15 s, 6 at 18 s, 2 at 24 s, none at 30 s).
public final class UpstreamPool: Sendable {
    private let maxIdlePerTarget: Int
    private let purgeDelay: TimeAmount?
    private let state = NIOLockedValueBox(State())

    private struct Key: Hashable {
        let loop: ObjectIdentifier
        let target: String
    }

    private struct Idle {
        let connection: UpstreamConnection
        let since: NIODeadline
    }

    /// HAProxy's `curr_used_conns`, `max_used_conns` and `est_need_conns` for one server.
    private struct Usage {
        var used = 0
        var maxUsed = 0
        var estimatedNeed = 0
    }

    private struct State {
        var idle: [Key: [Idle]] = [:]
        var usage: [String: Usage] = [:]
        /// Connections handed out and not yet given back or closed.
        var inUse: [ObjectIdentifier: String] = [:]
        var purge: Scheduled<Void>?

        mutating func checkIn(_ id: ObjectIdentifier) {
            guard let target = inUse.removeValue(forKey: id) else { return }
            usage[target]?.used -= 1
        }
    }

    /// `purgeDelay` nil: idle connections stay until the server closes them or the pool is full.
    public init(maxIdlePerTarget: Int, purgeDelay: TimeAmount? = nil) {
        self.maxIdlePerTarget = maxIdlePerTarget
        self.purgeDelay = purgeDelay
    }

    /// A ready connection: an idle one when there is one, else a new one.
    public func connection(dialer: Dialer, host: String, configuredPort: Int, on eventLoop: EventLoop,
                           connectTimeoutMilliseconds: Int?) -> (EventLoopFuture<UpstreamConnection>, reused: Bool) {
        let target = "\(host):\(configuredPort)"
        let key = Key(loop: ObjectIdentifier(eventLoop), target: target)
        while let candidate = state.withLockedValue({ $0.idle[key]?.popLast()?.connection }) {
            if candidate.channel.isActive {
                checkOut(candidate, target: target)
                return (eventLoop.makeSucceededFuture(candidate), true)
            }
        }
        let opening = UpstreamConnection.open(dialer: dialer, host: host, configuredPort: configuredPort, on: eventLoop,
                                              connectTimeoutMilliseconds: connectTimeoutMilliseconds)
        guard purgeDelay != nil else { return (opening, false) }
        return (opening.map { connection in
            self.checkOut(connection, target: target)
            // Once per connection: a connection closed while in use (a failed exchange) is no longer used.
            connection.channel.closeFuture.whenComplete { _ in
                self.state.withLockedValue { $0.checkIn(ObjectIdentifier(connection)) }
            }
            return connection
        }, false)
    }

    /// Gives a connection back after a complete response; it is closed when it cannot be reused or the pool is full.
    public func release(_ connection: UpstreamConnection, host: String, configuredPort: Int) {
        let target = "\(host):\(configuredPort)"
        let reusable = maxIdlePerTarget > 0 && connection.isReusable
        let key = Key(loop: ObjectIdentifier(connection.channel.eventLoop), target: target)
        let (kept, startPurge) = state.withLockedValue { state -> (Bool, Bool) in
            state.checkIn(ObjectIdentifier(connection))
            guard reusable, state.idle[key, default: []].count < maxIdlePerTarget else { return (false, false) }
            state.idle[key, default: []].append(Idle(connection: connection, since: .now()))
            return (true, purgeDelay != nil && state.purge == nil)
        }
        if !kept { connection.close() }
        if startPurge { schedulePurge(on: connection.channel.eventLoop) }
    }

    public func closeAll() {
        let all = state.withLockedValue { state -> [UpstreamConnection] in
            let all = state.idle.values.flatMap { $0.map(\.connection) }
            state.idle.removeAll()
            state.purge?.cancel()
            state.purge = nil
            return all
        }
        for connection in all { connection.close() }
    }

    private func checkOut(_ connection: UpstreamConnection, target: String) {
        guard purgeDelay != nil else { return }
        state.withLockedValue { state in
            guard state.inUse.updateValue(target, forKey: ObjectIdentifier(connection)) == nil else { return }
            var usage = state.usage[target, default: Usage()]
            usage.used += 1
            usage.maxUsed = max(usage.maxUsed, usage.used)
            state.usage[target] = usage
        }
    }

    private func schedulePurge(on loop: EventLoop) {
        guard let delay = purgeDelay else { return }
        let task = loop.scheduleTask(in: delay) { self.purge(on: loop) }
        state.withLockedValue { state in
            if state.purge == nil { state.purge = task } else { task.cancel() }
        }
    }

    private func purge(on loop: EventLoop) {
        let (closing, again) = state.withLockedValue { state -> ([UpstreamConnection], Bool) in
            state.purge = nil
            var closing: [UpstreamConnection] = []
            for target in Set(state.idle.keys.map(\.target)) {
                let keys = state.idle.keys.filter { $0.target == target }
                // Connections the server closed while idle are only dropped.
                for key in keys { state.idle[key]?.removeAll { !$0.connection.channel.isActive } }
                let idle = keys.flatMap { state.idle[$0] ?? [] }
                guard !idle.isEmpty else { continue }
                var usage = state.usage[target, default: Usage()]
                let exceeding = usage.used + idle.count - max(usage.maxUsed, usage.estimatedNeed)
                usage.estimatedNeed = max((usage.estimatedNeed + usage.maxUsed) / 2, usage.maxUsed)
                usage.maxUsed = usage.used
                state.usage[target] = usage
                guard exceeding > 0 else { continue }
                // Shared out over the event loops as over HAProxy's threads, each closing one more than its share.
                let toClose = exceeding / 2 + exceeding % 2
                for key in keys {
                    guard let list = state.idle[key], !list.isEmpty else { continue }
                    let share = min(list.count, toClose * list.count / idle.count + 1)
                    closing += list.prefix(share).map(\.connection)   // the longest idle first
                    state.idle[key] = Array(list.dropFirst(share))
                }
            }
            state.idle = state.idle.filter { !$0.value.isEmpty }
            return (closing, !state.idle.isEmpty)
        }
        for connection in closing { connection.close() }
        if again { schedulePurge(on: loop) }
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// NIO's HTTP/1 client handlers with the checks of a proxy that forwards what it received, instead of NIO's own:
    /// see `ForwardedRequestValidator`.
    /// `interim: .forward` passes interim answers (`100 Continue`) up, for a request whose body waits for them.
    func addForwardingClientHandlers(interim: NIOInformationalResponseStrategy = .drop) throws {
        try addHandler(HTTPRequestEncoder())
        try addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: interim)))
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
