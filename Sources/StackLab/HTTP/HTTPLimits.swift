import Foundation
import NIOCore
import NIOHTTP1

/// What one client connection of an HTTP process may take: how long it may wait, how big a request may be. Each
/// process sets these from its own directives with the real tool's defaults (HAProxy `timeout http-request`, nginx
/// `client_header_timeout`, gunicorn `limit_request_line` …); nil means no limit, as the real tool's "not set".
public struct HTTPServerLimits: Sendable {
    /// The most time for a whole request head, counted from the connection's start for its first request and from
    /// the first byte for the next ones (HAProxy `timeout http-request`, nginx `client_header_timeout`).
    public var headTimeout: TimeAmount?
    /// The head timeout runs on until the body is in too (gunicorn: a sync worker reading a slow client is killed at
    /// `timeout` whatever it is reading).
    public var headTimeoutCoversBody = false
    /// The longest silence while a request head is arriving (HAProxy `timeout client`, an inactivity timeout).
    public var headIdleTimeout: TimeAmount?
    /// The longest wait for the next request on a kept-alive connection (HAProxy `timeout http-keep-alive`, nginx
    /// `keepalive_timeout`).
    public var keepAliveTimeout: TimeAmount?
    /// Whether the connection may carry a second request at all (nginx `keepalive_timeout 0`, gunicorn's sync workers).
    public var keepAlive = true
    /// Bytes of the request line, `GET /path HTTP/1.1` without its CRLF (gunicorn `limit_request_line`).
    public var maxRequestLine: Int?
    /// Bytes of one header line, `Name: value` without its CRLF (nginx's large header buffer, gunicorn
    /// `limit_request_field_size` less its CRLF).
    public var maxHeaderLine: Int?
    /// Header lines in one request (gunicorn `limit_request_fields`).
    public var maxHeaderCount: Int?
    /// Bytes of the whole head, request line and CRLFs included: also the decoder's own bound, so memory stays in
    /// check before the head is complete (HAProxy: tune.bufsize − tune.maxrewrite = 15360).
    public var maxHeadBytes = 32 * 1024
    /// Whether the process is frozen (the `hang` fault): its timers wait, as a stopped process's do, and run out
    /// once it runs again.
    public var frozen: (@Sendable () -> Bool)?
    /// A request head the process refuses with a 400 beyond what the decoder refuses (HAProxy 2.6: a `#` in the
    /// URI, two Host headers that differ; nginx: a target that is neither a path nor an absolute URI).
    public var refusesHead: (@Sendable (HTTPRequestHead) -> Bool)?
    /// Whether lines may end in a bare LF (HAProxy, nginx; gunicorn refuses them).
    public var acceptsBareLineFeeds = false
    /// What a request's body may be and how long it may pause; a process may narrow these per request (nginx's
    /// `client_max_body_size` in a location).
    public var body = BodyLimits()

    public init() {}

    /// The bound on a request body held in memory whole, whatever a configuration allows.
    public static let largestBody = 16 << 20

    public struct BodyLimits: Sendable {
        /// Bytes of body (nginx `client_max_body_size`); at most `largestBody`.
        public var maxBytes = HTTPServerLimits.largestBody
        /// The longest silence while the body arrives (nginx `client_body_timeout`, HAProxy `timeout client`).
        public var idleTimeout: TimeAmount?
        public init(maxBytes: Int = HTTPServerLimits.largestBody, idleTimeout: TimeAmount? = nil) {
            self.maxBytes = min(max(0, maxBytes), HTTPServerLimits.largestBody)
            self.idleTimeout = idleTimeout
        }
    }

    /// These limits, frozen while the process is hung.
    func frozen(with faults: FaultSwitch) -> HTTPServerLimits {
        var limits = self
        limits.frozen = { faults.isHung }
        return limits
    }

    /// The decoder's bound: a head larger than this is refused before it is complete.
    var decoderLimits: NIOHTTPDecoderLimitConfiguration {
        var limits = NIOHTTPDecoderLimitConfiguration()
        let bound = max(1024, maxHeadBytes)
        limits.maxHeaderFieldSize = bound
        limits.maxHeaderListSize = bound
        return limits
    }
}

extension TimeAmount {
    /// Seconds from a configuration value of any size, held to a century so the nanoseconds cannot overflow.
    static func seconds(clamping value: Int) -> TimeAmount {
        .seconds(Int64(min(max(0, value), 100 * 365 * 86_400)))
    }

    /// Milliseconds from a configuration value of any size, held to a century.
    static func milliseconds(clamping value: Int) -> TimeAmount {
        .milliseconds(Int64(min(max(0, value), 100 * 365 * 86_400 * 1000)))
    }
}

/// The connection, as a process's log lines name it.
public struct HTTPConnectionInfo: Sendable {
    public var remoteAddress: String
    public var remotePort: Int
    public var localAddress: String
    public var localPort: Int
    /// When the connection was accepted (HAProxy logs a bad request with this date).
    public var accepted: Date
    public var acceptedAt: NIODeadline
    /// When the request in progress began (its first byte; the accept for a connection's first request).
    public var requestStarted: NIODeadline
    /// The first bytes of the request in progress, as received (nginx logs `request: "GET / HT"`); empty when none.
    public var partialRequestLine: String
    /// Whether the request line has arrived whole (its line feed seen).
    public var requestLineComplete: Bool
    /// The request's bytes received so far (gunicorn's `Request Line is too large (N > 4094)` before its end).
    public var requestBytes: Int
    /// The request's head, once complete.
    public var head: HTTPRequestHead?
    /// The connection's number in the process (nginx's `*7`), 1 for the first.
    public var number: Int
}

/// Why a connection's request cannot be served: a limit of the process, a malformed request, a failed handler.
public enum HTTPConnectionEvent: Sendable, Equatable {
    /// No complete head within the head timeout; `sawBytes` false: nothing at all was sent.
    case headTimeout(sawBytes: Bool)
    /// Silence while the head was arriving (HAProxy `timeout client`).
    case headIdleTimeout
    /// The kept-alive connection waited too long for its next request.
    case keepAliveTimeout
    /// Silence while the body was arriving.
    case bodyTimeout
    /// The request line is longer than `maxRequestLine` (or the head bound was reached inside it).
    case requestLineTooLong(length: Int)
    /// A header line is longer than `maxHeaderLine`; the line as received.
    case headerLineTooLong(line: String)
    case tooManyHeaders
    /// The head is larger than `maxHeadBytes`.
    case headTooLarge
    /// The body is larger than the limit: its Content-Length when it had one, else the bytes received before the
    /// part that went over and that part's size (nginx's `too large chunked body: 1048000+4096 bytes`).
    case bodyTooLarge(declared: Int?, received: Int, adding: Int)
    /// Bytes that are not HTTP.
    case badRequest
    /// The client closed its side before a whole request; `sawBytes` false: it had sent nothing.
    case clientClosed(sawBytes: Bool)
    /// The process's own code failed while answering (a Swift error reached the connection).
    case handlerFailed(String)
}

/// How a process answers a connection that hit a limit or sent something wrong, and what it logs: HAProxy's 408 page
/// and `cR--`, nginx's silent close and `client timed out`, gunicorn's `Invalid request from ip=…`.
public protocol HTTPConnectionPolicy: Sendable {
    /// The response to send before closing, or nil to close without a word; log lines are written here.
    func answer(_ event: HTTPConnectionEvent, connection: HTTPConnectionInfo) -> ServerResponse?
    /// The body limits for a request whose head just arrived (nginx: the location's client_max_body_size). The
    /// connection's facts are worked out only if asked for (every request's head comes here).
    func bodyLimits(for head: HTTPRequestHead, connection: @autoclosure () -> HTTPConnectionInfo) -> HTTPServerLimits.BodyLimits?
    /// How answers are written and `Expect: 100-continue` is met.
    var wire: HTTPWireStyle { get }
}

extension HTTPConnectionPolicy {
    public func bodyLimits(for head: HTTPRequestHead, connection: @autoclosure () -> HTTPConnectionInfo) -> HTTPServerLimits.BodyLimits? {
        nil
    }
    public var wire: HTTPWireStyle { HTTPWireStyle() }
}

/// How a process writes its answers on the wire and meets `Expect: 100-continue`: nginx and HAProxy answer
/// `HTTP/1.1` whatever the client spoke, gunicorn echoes the request's version; HAProxy writes header names in lower
/// case; nginx and gunicorn own the body they read and say `100 Continue` themselves, HAProxy passes the question to
/// the server and relays its answer.
public struct HTTPWireStyle: Sendable {
    public enum Expectation: Sendable {
        /// No interim answer: the client waits for its own timeout before sending the body.
        case ignore
        /// `HTTP/1.1 100 Continue` once the head has passed the process's checks.
        case answer
        /// The responder is asked at once, with the body to follow: it relays the server's `100 Continue`, or its
        /// final answer (nginx's 413) before the body is sent.
        case relay
    }

    public var echoesRequestVersion = false
    public var lowercaseHeaderNames = false
    public var expectation = Expectation.ignore

    public init(echoesRequestVersion: Bool = false, lowercaseHeaderNames: Bool = false, expectation: Expectation = .ignore) {
        self.echoesRequestVersion = echoesRequestVersion
        self.lowercaseHeaderNames = lowercaseHeaderNames
        self.expectation = expectation
    }
}

/// Closes without answering anything: for tests and for a process with no policy of its own.
public struct SilentConnectionPolicy: HTTPConnectionPolicy {
    public init() {}
    public func answer(_ event: HTTPConnectionEvent, connection: HTTPConnectionInfo) -> ServerResponse? {
        switch event {
        case .badRequest, .requestLineTooLong, .headerLineTooLong, .tooManyHeaders, .headTooLarge:
            return ServerResponse(status: .badRequest, close: true)
        case .bodyTooLarge:
            return ServerResponse(status: .payloadTooLarge, close: true)
        case .handlerFailed:
            return ServerResponse(status: .internalServerError, close: true)
        case .headTimeout, .headIdleTimeout, .keepAliveTimeout, .bodyTimeout, .clientClosed:
            return nil
        }
    }
}
