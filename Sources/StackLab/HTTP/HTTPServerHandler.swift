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
    /// The connection's number in its process (nginx's `*7` in error-log lines).
    public var connection: Int = 0
    /// The body still to come, when the head was handed on at once (`Expect: 100-continue` relayed); `body` is nil.
    public var following: FollowingBody?

    public var bodyString: String { body.map { String(buffer: $0) } ?? "" }
}

/// The body of a request handed on before it arrived: the client asked `Expect: 100-continue` and waits. The
/// responder calls `proceed()` when the server it asked says `100 Continue`, then reads `body` once the client has
/// sent it; a final answer before that (nginx's 413) goes out at once and the body is never read.
public final class FollowingBody: Sendable {
    public let body: EventLoopFuture<ByteBuffer?>
    private let sayContinue: @Sendable () -> Void

    init(body: EventLoopFuture<ByteBuffer?>, sayContinue: @escaping @Sendable () -> Void) {
        self.body = body
        self.sayContinue = sayContinue
    }

    /// Tells the client to send its body (`HTTP/1.1 100 Continue`), from any thread.
    public func proceed() { sayContinue() }
}

/// What a process answers. `abort` closes the connection without answering (a killed worker).
public struct ServerResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer?
    public var close: Bool
    public var abort: Bool
    /// Sent with exactly these headers, in this order and case, and nothing added (HAProxy's and gunicorn's own
    /// error messages are written out whole).
    public var rawHeaders: Bool

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer? = nil, close: Bool = false,
                abort: Bool = false, rawHeaders: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.close = close
        self.abort = abort
        self.rawHeaders = rawHeaders
    }

    public static func aborted() -> ServerResponse { ServerResponse(status: .internalServerError, abort: true) }

    public var bodyBytes: Int { body?.readableBytes ?? 0 }
}

/// The decision part of an HTTP process (balancer, web server, app server): turn a request into a response.
public protocol HTTPResponder: Sendable {
    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse>
}

/// Before the HTTP decoder, on the raw bytes: what the decoder does not tell — that a request has begun (its first
/// byte), its first line as sent, whether that line is complete, and how many bytes it has taken so far.
final class RequestBytesWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The handler that owns the connection (same pipeline, same event loop).
    weak var server: HTTPServerHandler?
    private(set) var started = false
    private(set) var lineComplete = false
    private(set) var firstLine: [UInt8] = []
    private(set) var count = 0
    static let keptLine = 4096

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        observe(buffer.readableBytesView)
        server?.bytesArrived()
        context.fireChannelRead(data)
    }

    private func observe(_ bytes: ByteBufferView) {
        var rest = bytes[...]
        if !started {
            // Empty lines before a request are not a request (HAProxy, nginx and llhttp skip them).
            guard let first = rest.firstIndex(where: { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }) else { return }
            rest = rest[first...]
            started = true
        }
        count += rest.count
        guard !lineComplete else { return }
        if let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            lineComplete = true
            rest = rest[..<newline]
        }
        if firstLine.count < Self.keptLine { firstLine.append(contentsOf: rest.prefix(Self.keptLine - firstLine.count)) }
    }

    /// The request ended: the next bytes are the next request's.
    func requestEnded() {
        started = false
        lineComplete = false
        // Emptied, not freed: a kept-alive connection keeps one line's room for the next request.
        firstLine.removeAll(keepingCapacity: true)
        count = 0
    }

    /// The first line as received, without its CR (for log lines).
    var partialLine: String {
        var line = firstLine
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }
}

/// The server side of every HTTP process: whole requests in, whole responses out, in order, keep-alive as HTTP/1.x
/// says — and the connection's limits: head and body timeouts, keep-alive timeout, head and body sizes, each
/// answered as the process's policy says (a 408 page, a silent close, a 413 …). One handler does what NIO's
/// pipelining handler, error handler and aggregator do together, because every request crosses three of these.
final class HTTPServerHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: any HTTPResponder
    private let serverHeader: String?
    private let limits: HTTPServerLimits
    private let policy: any HTTPConnectionPolicy
    private let budget: ConnectionBudget?
    private let watch: RequestBytesWatch
    private let number: Int
    /// The process's count of connections reading and writing (nginx's stub_status), told of this one's phase.
    private let states: HTTPConnectionStates?
    private var phase: HTTPConnectionStates.Phase?

    /// Where reading the client's next request stands.
    private enum Reading: Equatable {
        /// Nothing of the next request yet; `first`: the connection's first request.
        case waiting(first: Bool)
        case head
        case body
    }

    private var reading = Reading.waiting(first: true)
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var bodyLimits = HTTPServerLimits.BodyLimits()
    /// What came in behind the request in progress (a client that pipelines): whole requests, or a problem with the
    /// next one, answered in turn.
    private enum Queued {
        case request(NIOHTTPServerRequestFull)
        case refusal(HTTPConnectionEvent)
    }
    private var waiting: [Queued] = []
    private var busy = false
    /// A refusal is queued: nothing after it is read.
    private var refusing = false
    /// The connection's addresses, worked out once (not per request).
    private var peer: (remote: String, remotePort: Int, local: String, localPort: Int)?
    private var closing = false
    private var quiescing = false
    private var accepted = Date()
    private var acceptedAt = NIODeadline.now()
    private var requestStarted = NIODeadline.now()
    /// The same two moments on the event loop's clock, which the timers run on (an EmbeddedEventLoop's in tests).
    private var acceptedOnLoop = NIODeadline.now()
    private var requestStartedOnLoop = NIODeadline.now()
    /// The head (or keep-alive) deadline and the inactivity timer.
    private var deadlineTimer = LazyTimer()
    private var idleTimer = LazyTimer()
    /// What the budget was last told (it hears only changes).
    private var reportedIdle: Bool?
    private var readsPaused = false
    /// The body of the request handed on at once (Expect relayed), delivered when its end arrives.
    private var followingBody: EventLoopPromise<ByteBuffer?>?
    private var saidContinue = false
    /// Pipelined requests held before reading stops until the ones in front are answered.
    static let maxWaiting = 16

    init(responder: any HTTPResponder, serverHeader: String?, limits: HTTPServerLimits = HTTPServerLimits(),
         policy: any HTTPConnectionPolicy = SilentConnectionPolicy(), budget: ConnectionBudget? = nil, watch: RequestBytesWatch,
         number: Int = 0, states: HTTPConnectionStates? = nil) {
        self.states = states
        self.responder = responder
        self.serverHeader = serverHeader
        self.limits = limits
        self.policy = policy
        self.budget = budget
        self.watch = watch
        self.number = number
        self.bodyLimits = limits.body
    }

    /// The pipeline of an HTTP process, in one place: the byte watch, HTTP/1 decoder and encoder, then the process.
    static func install(on channel: Channel, responder: any HTTPResponder, serverHeader: String?,
                        limits: HTTPServerLimits = HTTPServerLimits(), policy: any HTTPConnectionPolicy = SilentConnectionPolicy(),
                        budget: ConnectionBudget? = nil, number: Int = 0, states: HTTPConnectionStates? = nil) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            // A client may close its side after its request and still read the answer (`nc -N`, some scripts).
            try channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
            let sync = channel.pipeline.syncOperations
            let watch = RequestBytesWatch()
            let server = HTTPServerHandler(responder: responder, serverHeader: serverHeader, limits: limits, policy: policy,
                                           budget: budget, watch: watch, number: number, states: states)
            watch.server = server
            try sync.addHandler(HTTPResponseEncoder())
            if limits.acceptsBareLineFeeds { try sync.addHandler(BareLineFeeds()) }
            try sync.addHandler(watch)
            try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes,
                                                                        informationalResponseStrategy: .drop,
                                                                        limitConfiguration: limits.decoderLimits)))
            try sync.addHandler(server)
        }
    }

    // MARK: - Connection start and timers

    /// This handler's own context, for the byte watch's news (it arrives on the watch's context).
    private var ownContext: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        ownContext = context
        if context.channel.isActive { started(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        started(context: context)
        context.fireChannelActive()
    }

    private var hasStarted = false

    private func started(context: ChannelHandlerContext) {
        guard !hasStarted else { return }
        hasStarted = true
        accepted = Date()
        acceptedAt = .now()
        requestStarted = acceptedAt
        acceptedOnLoop = context.eventLoop.now
        requestStartedOnLoop = acceptedOnLoop
        enter(.waiting)
        armTimers(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        enter(nil)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        enter(nil)
        ownContext = nil
    }

    /// The connection's phase as stub_status counts it (nil once it is closed).
    private func enter(_ new: HTTPConnectionStates.Phase?) {
        guard new != phase else { return }
        states?.move(from: phase, to: new)
        phase = new
    }

    /// The phase once no request is being worked on: reading while the next head comes in, writing once it is in.
    private var restingPhase: HTTPConnectionStates.Phase {
        switch reading {
        case .waiting: .waiting
        case .head: .reading
        case .body: .writing
        }
    }

    private func cancelTimers() {
        deadlineTimer.cancel()
        idleTimer.cancel()
    }

    /// Tells the connection budget whether the connection waits for a request with nothing received.
    private func reportIdle(_ idle: Bool, context: ChannelHandlerContext) {
        guard reportedIdle != idle else { return }
        reportedIdle = idle
        budget?.setIdle(context.channel, idle)
    }

    /// The timers the reading phase calls for: the head (or keep-alive) deadline and the inactivity timer.
    private func armTimers(context: ChannelHandlerContext) {
        guard !closing else { return }
        if busy {
            deadlineTimer.target = nil
            idleTimer.target = nil
            reportIdle(false, context: context)
            return
        }
        let target: NIODeadline?
        let idle: TimeAmount?
        switch reading {
        case .waiting(first: true):
            target = limits.headTimeout.map { acceptedOnLoop + $0 }
            idle = limits.headIdleTimeout
        case .waiting(first: false):
            target = limits.keepAliveTimeout.map { requestStartedOnLoop + $0 }
            idle = nil
        case .head:
            target = limits.headTimeout.map { requestStartedOnLoop + $0 }
            idle = limits.headIdleTimeout
        case .body:
            target = limits.headTimeoutCoversBody ? limits.headTimeout.map { requestStartedOnLoop + $0 } : nil
            idle = bodyLimits.idleTimeout
        }
        reportIdle(reading == .waiting(first: true) || reading == .waiting(first: false), context: context)
        arm(idle: false, at: target, context: context)
        arm(idle: true, at: idle.map { context.eventLoop.now + $0 }, context: context)
    }

    /// Sets a timer's target; a task is scheduled only when none is due by then (see LazyTimer).
    private func arm(idle: Bool, at target: NIODeadline?, context: ChannelHandlerContext) {
        let needsTask = idle ? idleTimer.move(to: target) : deadlineTimer.move(to: target)
        if needsTask, let target { schedule(idle: idle, due: target, context: context) }
    }

    private func schedule(idle: Bool, due: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(deadline: due) {
            let (handler, context) = bound.value
            handler.fired(idle: idle, due: due, context: context)
        }
        if idle { idleTimer.scheduled(task, due: due) } else { deadlineTimer.scheduled(task, due: due) }
    }

    private func fired(idle: Bool, due: NIODeadline, context: ChannelHandlerContext) {
        let target = idle ? idleTimer.target : deadlineTimer.target
        if idle { idleTimer.fired() } else { deadlineTimer.fired() }
        guard let target, !closing else { return }
        if target > due {
            schedule(idle: idle, due: target, context: context)
        } else {
            timedOut(context: context, idle: idle)
        }
    }

    private func timedOut(context: ChannelHandlerContext, idle: Bool) {
        guard !closing, !busy else { return }
        if let frozen = limits.frozen, frozen() {
            // Frozen: look again in 200 ms (the target stays, so the timer fires again unless it moves).
            schedule(idle: idle, due: context.eventLoop.now + .milliseconds(200), context: context)
            return
        }
        let event: HTTPConnectionEvent
        switch (reading, idle) {
        case (.waiting(first: true), false): event = .headTimeout(sawBytes: false)
        case (.waiting(first: true), true): event = .headIdleTimeout
        case (.waiting(first: false), _): event = .keepAliveTimeout
        case (.head, false), (.body, false): event = .headTimeout(sawBytes: true)
        case (.head, true): event = .headIdleTimeout
        case (.body, true): event = .bodyTimeout
        }
        reject(event, context: context)
    }

    /// Bytes arrived (before the decoder reads them): a new request has begun, and the client is not silent.
    func bytesArrived() {
        guard !closing, let context = ownContext else { return }
        if case .waiting(let first) = reading, watch.started {
            reading = .head
            if !busy { enter(.reading) }
            if !first {
                requestStarted = .now()
                requestStartedOnLoop = context.eventLoop.now
            }
        }
        armTimers(context: context)
    }

    // MARK: - Requests in

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, !refusing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let problem = check(head) {
                refuse(problem, context: context)
                return
            }
            self.head = head
            body = nil
            bodyLimits = policy.bodyLimits(for: head, connection: info(context: context, head: head)) ?? limits.body
            if let declared = head.headers.first(name: "Content-Length").flatMap({ Int($0) }), declared > bodyLimits.maxBytes {
                refuse(.bodyTooLarge(declared: declared, received: 0, adding: 0), context: context)
                return
            }
            reading = .body
            enter(.writing)
            armTimers(context: context)
            if Self.expectsContinue(head) {
                switch policy.wire.expectation {
                case .ignore: break
                case .answer: sayContinue(context: context)
                case .relay where !head.headers.contains(name: "Content-Length"):
                    sayContinue(context: context)   // a chunked body is gathered here first
                case .relay:
                    // A request behind another one waits its turn like any other (the client sends its body anyway
                    // once its own wait is over).
                    if !busy && waiting.isEmpty { handOn(head, context: context) }
                }
            }
        case .body(var chunk):
            let before = body?.readableBytes ?? 0
            guard before + chunk.readableBytes <= bodyLimits.maxBytes else {
                refuse(.bodyTooLarge(declared: nil, received: before, adding: chunk.readableBytes), context: context)
                return
            }
            if body == nil {
                body = chunk
            } else {
                body?.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let full = NIOHTTPServerRequestFull(head: head, body: body)
            body = nil
            watch.requestEnded()
            reading = .waiting(first: false)
            requestStarted = .now()
            requestStartedOnLoop = context.eventLoop.now
            if let following = followingBody {
                followingBody = nil
                following.succeed(full.body)
                return
            }
            if busy {
                waiting.append(.request(full))
                if waiting.count >= Self.maxWaiting, !readsPaused {
                    readsPaused = true
                    context.channel.setOption(.autoRead, value: false).whenFailure { _ in }
                }
            } else {
                handle(full, context: context)
            }
        }
    }

    /// The head's sizes against the limits, in the order the real servers look: the request line, then each header.
    private func check(_ head: HTTPRequestHead) -> HTTPConnectionEvent? {
        if let refuses = limits.refusesHead, refuses(head) { return .badRequest }
        let lineLength = head.method.rawValue.utf8.count + 1 + head.uri.utf8.count + 9
        if let max = limits.maxRequestLine, lineLength > max { return .requestLineTooLong(length: lineLength) }
        var total = lineLength + 2
        for (index, header) in head.headers.enumerated() {
            if let max = limits.maxHeaderCount, index >= max { return .tooManyHeaders }
            let length = header.name.utf8.count + 2 + header.value.utf8.count
            if let max = limits.maxHeaderLine, length > max { return .headerLineTooLong(line: "\(header.name): \(header.value)") }
            total += length + 2
        }
        if total + 2 > limits.maxHeadBytes { return .headTooLarge }
        return nil
    }

    /// `Expect: 100-continue` on an HTTP/1.1 request with a body (what nginx, HAProxy and gunicorn look for).
    static func expectsContinue(_ head: HTTPRequestHead) -> Bool {
        guard head.version == .http1_1, head.headers.first(name: "Expect")?.lowercased() == "100-continue" else { return false }
        let length = head.headers.first(name: "Content-Length").flatMap { Int($0) } ?? 0
        return length > 0 || head.headers.contains(name: "Transfer-Encoding")
    }

    /// `HTTP/1.1 100 Continue`, once per request.
    private func sayContinue(context: ChannelHandlerContext) {
        guard !saidContinue, !closing, context.channel.isActive else { return }
        saidContinue = true
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
    }

    /// Hands the head on now, the body to follow: the responder relays the server's `100 Continue` or answers at once.
    private func handOn(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: ByteBuffer?.self)
        followingBody = promise
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let following = FollowingBody(body: promise.futureResult) {
            loop.execute {
                let (handler, context) = bound.value
                handler.sayContinue(context: context)
            }
        }
        handle(NIOHTTPServerRequestFull(head: head, body: nil), context: context, following: following)
    }

    private func handle(_ full: NIOHTTPServerRequestFull, context: ChannelHandlerContext, following: FollowingBody? = nil) {
        busy = true
        enter(.writing)
        saidContinue = false
        armTimers(context: context)
        let peer = addresses(context: context)
        let request = IncomingRequest(
            head: full.head, body: full.body,
            remoteAddress: peer.remote, remotePort: peer.remotePort, localAddress: peer.local, localPort: peer.localPort,
            received: .now(), receivedDate: Date(), eventLoop: context.eventLoop, connection: number, following: following)
        let keepAlive = full.head.isKeepAlive && !quiescing && limits.keepAlive
        let version = full.head.version
        let isHead = full.head.method == .HEAD
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        responder.respond(to: request).hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            handler.busy = false
            // Answered before the body it was waiting for: the body is never read, and the connection ends with
            // this answer (nginx's 413 to a client that was told to wait).
            let bodyUnread = handler.followingBody != nil
            if let unread = handler.followingBody {
                handler.followingBody = nil
                unread.succeed(nil)
            }
            switch result {
            case .success(var response):
                if bodyUnread { response.close = true }
                handler.write(response, keepAlive: keepAlive && !handler.quiescing && !bodyUnread, version: version, isHead: isHead,
                              context: context, linger: bodyUnread)
            case .failure(let error):
                handler.reject(.handlerFailed(String(describing: error)), context: context, head: full.head)
                return
            }
            handler.requestStarted = .now()
            handler.requestStartedOnLoop = context.eventLoop.now
            if handler.closing { return }
            if !handler.waiting.isEmpty {
                switch handler.waiting.removeFirst() {
                case .request(let next): handler.handle(next, context: context)
                case .refusal(let event): handler.reject(event, context: context)
                }
                if handler.readsPaused, handler.waiting.count < Self.maxWaiting / 2 {
                    handler.readsPaused = false
                    context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
                }
            } else if handler.quiescing {
                handler.closing = true
                context.close(promise: nil)
            } else {
                handler.enter(handler.restingPhase)
                handler.armTimers(context: context)
            }
        }
    }

    private func addresses(context: ChannelHandlerContext) -> (remote: String, remotePort: Int, local: String, localPort: Int) {
        if let peer { return peer }
        let remote = context.remoteAddress
        let local = context.localAddress
        let found = (remote?.ipAddress ?? "-", remote?.port ?? 0, local?.ipAddress ?? "-", local?.port ?? 0)
        peer = found
        return found
    }

    private func info(context: ChannelHandlerContext, head: HTTPRequestHead?) -> HTTPConnectionInfo {
        let peer = addresses(context: context)
        return HTTPConnectionInfo(remoteAddress: peer.remote, remotePort: peer.remotePort, localAddress: peer.local,
                                  localPort: peer.localPort, accepted: accepted, acceptedAt: acceptedAt, requestStarted: requestStarted,
                                  partialRequestLine: watch.partialLine, requestLineComplete: watch.lineComplete || head != nil,
                                  requestBytes: watch.count, head: head, number: number)
    }

    // MARK: - Responses out

    private func write(_ response: ServerResponse, keepAlive: Bool, version: HTTPVersion, isHead: Bool, context: ChannelHandlerContext,
                       linger: Bool = false) {
        guard context.channel.isActive else { return }
        if response.abort {
            closing = true
            cancelTimers()
            context.close(promise: nil)
            return
        }
        let close = response.close || !keepAlive
        let wire = policy.wire
        var headers: HTTPHeaders
        if response.rawHeaders {
            headers = response.headers
        } else {
            // One new list with room for what is added (the response's own list is shared with the future that
            // carried it, so changing it would copy it anyway); HAProxy's names in lower case as they are copied.
            let lower = wire.lowercaseHeaderNames
            headers = HTTPHeaders()
            headers.reserveCapacity(response.headers.count + 4)
            for header in response.headers { headers.add(name: lower ? header.name.lowercased() : header.name, value: header.value) }
            if let serverHeader, !headers.contains(name: "Server") { headers.add(name: lower ? "server" : "Server", value: serverHeader) }
            if !headers.contains(name: "Date") { headers.add(name: lower ? "date" : "Date", value: LogTime.http()) }
            // A HEAD answer carries the length the GET's body would have (the server's, when it was passed on).
            if response.status == .notModified || response.status == .noContent {
                // No body and no length (nginx clears it for a 304).
            } else if !(isHead && headers.contains(name: "Content-Length")) {
                headers.replaceOrAdd(name: lower ? "content-length" : "Content-Length", value: String(response.bodyBytes))
            }
            if close {
                headers.replaceOrAdd(name: lower ? "connection" : "Connection", value: "close")
            } else if version.minor == 0 {
                headers.replaceOrAdd(name: lower ? "connection" : "Connection", value: "keep-alive")
            }
        }
        let statusVersion: HTTPVersion = wire.echoesRequestVersion && version.major == 1 ? version : .http1_1
        let head = HTTPResponseHead(version: statusVersion, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = response.body, !isHead, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        if close {
            closing = true
            cancelTimers()
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if linger { Self.lingeringClose(channel) } else { channel.close(promise: nil) }
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    /// A request the decoder cannot parse is answered as the process answers bad requests, and the connection closes.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !closing else { return }
        // Bytes after a parse error: the refusal of that request is already on its way.
        if error is ByteToMessageDecoderError { return }
        if let parse = error as? HTTPParserError {
            guard !refusing else { return }
            let event: HTTPConnectionEvent
            if parse == .headerOverflow {
                event = watch.lineComplete ? .headTooLarge : .requestLineTooLong(length: watch.count)
            } else {
                event = .badRequest
            }
            refuse(event, context: context)
        } else {
            closing = true
            cancelTimers()
            context.close(promise: nil)
        }
    }

    /// A request that breaks a limit: answered now, or once the response in progress is written.
    private func refuse(_ event: HTTPConnectionEvent, context: ChannelHandlerContext) {
        if busy {
            refusing = true
            waiting.append(.refusal(event))
            return
        }
        reject(event, context: context)
    }

    /// Answers (or not) as the policy says, then closes. After a 413 the client may still be sending its body:
    /// the answer goes first and the connection closes once the client stops (at most a few seconds), as nginx's
    /// lingering close does, so the client reads the answer instead of a reset.
    private func reject(_ event: HTTPConnectionEvent, context: ChannelHandlerContext, head: HTTPRequestHead? = nil) {
        guard !closing else { return }
        closing = true
        cancelTimers()
        reportIdle(false, context: context)
        let channel = context.channel
        guard let response = policy.answer(event, connection: info(context: context, head: head ?? self.head)), channel.isActive else {
            context.close(promise: nil)
            return
        }
        var headers = response.headers
        if !response.rawHeaders {
            headers.replaceOrAdd(name: "Content-Length", value: String(response.bodyBytes))
            headers.replaceOrAdd(name: "Connection", value: "close")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        if let body = response.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let linger = if case .bodyTooLarge = event { true } else { false }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if linger { Self.lingeringClose(channel) } else { channel.close(promise: nil) }
        }
    }

    /// Our side closes, the client's bytes still in flight are read and dropped for a few seconds (nginx's
    /// lingering close, lingering_timeout 5 s), so the client reads the answer instead of a reset.
    static func lingeringClose(_ channel: Channel) {
        channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
        channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
    }

    /// HAProxy's HTTP/1 encoder writes every header name in lower case.
    /// `room`: headers the caller will add.
    static func lowercased(_ headers: HTTPHeaders, room: Int = 0) -> HTTPHeaders {
        var lower = HTTPHeaders()
        lower.reserveCapacity(headers.count + room)
        for header in headers { lower.add(name: header.name.lowercased(), value: header.value) }
        return lower
    }

    /// Graceful stop: finish the request in progress, then close; an idle connection closes at once.
    /// The client's half-close: answer the requests already in, then close; a request cut short is the client's end.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            guard !closing else { return }
            if busy || !waiting.isEmpty {
                quiescing = true
            } else {
                let sawBytes = if case .waiting = reading { watch.started } else { true }
                reject(.clientClosed(sawBytes: sawBytes), context: context)
            }
            return
        }
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if !busy {
                closing = true
                cancelTimers()
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
