import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import StackLabTestSupport
@testable import StackLab

/// Answers with the request's URI and body size, on the event loop; `/fail` fails its future.
private struct Echo: HTTPResponder {
    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse> {
        if request.head.uri == "/fail" { return request.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        return request.eventLoop.makeSucceededFuture(ServerResponse(status: .ok, body: ByteBuffer(string: "\(request.head.uri) \(request.body?.readableBytes ?? 0)")))
    }
}

/// Writes down each event it is asked about and answers with a page that names it.
private final class RecordingPolicy: HTTPConnectionPolicy, Sendable {
    let events = NIOLockedValueBox<[HTTPConnectionEvent]>([])
    let infos = NIOLockedValueBox<[HTTPConnectionInfo]>([])
    let silent: Set<String>

    init(silent: Set<String> = ["keepAlive"]) { self.silent = silent }

    func answer(_ event: HTTPConnectionEvent, connection: HTTPConnectionInfo) -> ServerResponse? {
        events.withLockedValue { $0.append(event) }
        infos.withLockedValue { $0.append(connection) }
        if case .keepAliveTimeout = event, silent.contains("keepAlive") { return nil }
        return ServerResponse(status: .custom(code: 499, reasonPhrase: "Event"), body: ByteBuffer(string: "\(event)"))
    }
}

@Suite("HTTP limits on EmbeddedChannel")
struct HTTPLimitsTests {
    private func channel(_ limits: HTTPServerLimits, policy: RecordingPolicy) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try HTTPServerHandler.install(on: channel, responder: Echo(), serverHeader: "test", limits: limits, policy: policy).wait()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    private func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { text += buffer.readString(length: buffer.readableBytes) ?? "" }
        return text
    }

    private func send(_ channel: EmbeddedChannel, _ text: String) {
        _ = try? channel.writeInbound(ByteBuffer(string: text))
    }

    @Test func aHeadThatTakesTooLongIsAnsweredByThePolicyAndClosed() throws {
        var limits = HTTPServerLimits()
        limits.headTimeout = .seconds(2)
        let policy = RecordingPolicy()
        let channel = try channel(limits, policy: policy)
        send(channel, "GET / HTTP/1.1\r\nHo")
        (channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(1900))
        #expect(channel.isActive)
        (channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(200))
        #expect(policy.events.withLockedValue { $0 } == [.headTimeout(sawBytes: true)])
        #expect(policy.infos.withLockedValue { $0.first?.partialRequestLine } == "GET / HTTP/1.1")
        #expect(try output(channel).hasPrefix("HTTP/1.1 499 Event\r\n"))
        #expect(!channel.isActive)
    }

    @Test func aConnectionThatSendsNothingTimesOutWithoutBytes() throws {
        var limits = HTTPServerLimits()
        limits.headTimeout = .seconds(1)
        let policy = RecordingPolicy()
        let channel = try channel(limits, policy: policy)
        (channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .seconds(2))
        #expect(policy.events.withLockedValue { $0 } == [.headTimeout(sawBytes: false)])
        #expect(policy.infos.withLockedValue { $0.first?.requestBytes } == 0)
    }

    @Test func anIdleKeepAliveConnectionClosesSilentlyAfterItsTimeout() throws {
        var limits = HTTPServerLimits()
        limits.headTimeout = .seconds(10)
        limits.keepAliveTimeout = .seconds(1)
        let policy = RecordingPolicy()
        let channel = try channel(limits, policy: policy)
        send(channel, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try output(channel).contains("/one 0"))
        (channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(900))
        #expect(channel.isActive)
        (channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(200))
        #expect(policy.events.withLockedValue { $0 } == [.keepAliveTimeout])
        #expect(try output(channel).isEmpty)
        #expect(!channel.isActive)
    }

    @Test func theNextRequestsFirstByteStartsItsHeadTimeout() throws {
        var limits = HTTPServerLimits()
        limits.headTimeout = .seconds(2)
        limits.keepAliveTimeout = .seconds(5)
        let policy = RecordingPolicy()
        let channel = try channel(limits, policy: policy)
        send(channel, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try output(channel)
        let loop = channel.eventLoop as! EmbeddedEventLoop
        loop.advanceTime(by: .seconds(3))
        send(channel, "GET /two HTTP/1.1\r\n")
        loop.advanceTime(by: .milliseconds(1500))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(600))
        #expect(policy.events.withLockedValue { $0 } == [.headTimeout(sawBytes: true)])
    }

    @Test func aBodyThatPausesTooLongIsABodyTimeout() throws {
        var limits = HTTPServerLimits()
        limits.body = HTTPServerLimits.BodyLimits(idleTimeout: .seconds(1))
        let policy = RecordingPolicy()
        let channel = try channel(limits, policy: policy)
        let loop = channel.eventLoop as! EmbeddedEventLoop
        send(channel, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        loop.advanceTime(by: .milliseconds(800))
        send(channel, "cd")
        loop.advanceTime(by: .milliseconds(800))
        #expect(channel.isActive, "each byte of body restarts the inactivity timer")
        loop.advanceTime(by: .milliseconds(300))
        #expect(policy.events.withLockedValue { $0 } == [.bodyTimeout])
    }

    @Test func aDeclaredBodyPastTheLimitIsRefusedBeforeItArrives() throws {
        var limits = HTTPServerLimits()
        limits.body = HTTPServerLimits.BodyLimits(maxBytes: 1024)
        let policy = RecordingPolicy()
        let channel = try channel(limits, policy: policy)
        send(channel, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n")
        #expect(policy.events.withLockedValue { $0 } == [.bodyTooLarge(declared: 2000, received: 0, adding: 0)])
        #expect(try output(channel).hasPrefix("HTTP/1.1 499"))
    }

    @Test func aChunkedBodyPastTheLimitIsRefusedAsItGrows() throws {
        var limits = HTTPServerLimits()
        limits.body = HTTPServerLimits.BodyLimits(maxBytes: 10)
        let policy = RecordingPolicy()
        let channel = try channel(limits, policy: policy)
        send(channel, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n")
        #expect(policy.events.withLockedValue { $0 }.isEmpty)
        send(channel, "8\r\n12345678\r\n0\r\n\r\n")
        #expect(policy.events.withLockedValue { $0 } == [.bodyTooLarge(declared: nil, received: 8, adding: 8)])
    }

    @Test func theRequestLineAndHeaderLinesAreMeasuredAsTheRealServersDo() throws {
        var limits = HTTPServerLimits()
        limits.maxRequestLine = 30
        limits.maxHeaderLine = 20
        limits.maxHeaderCount = 2
        // "GET /" + 16 × "a" + " HTTP/1.1" is 30 bytes: allowed; one more is not. "X-Long: " + 12 × "b" is 20: allowed.
        let fits = "GET / HTTP/1.1\r\nX-Long: \(String(repeating: "b", count: 12))\r\n\r\n"
        for (request, expected) in [
            ("GET /\(String(repeating: "a", count: 16)) HTTP/1.1\r\nHost: x\r\n\r\n", nil),
            (fits, nil),
            ("GET /\(String(repeating: "a", count: 17)) HTTP/1.1\r\nHost: x\r\n\r\n", HTTPConnectionEvent.requestLineTooLong(length: 31)),
            ("GET / HTTP/1.1\r\nX-Long: \(String(repeating: "b", count: 13))\r\n\r\n", HTTPConnectionEvent.headerLineTooLong(line: "X-Long: bbbbbbbbbbbbb")),
            ("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", HTTPConnectionEvent.tooManyHeaders),
        ] {
            let policy = RecordingPolicy()
            let channel = try channel(limits, policy: policy)
            send(channel, request)
            #expect(policy.events.withLockedValue { $0.first } == expected, "\(request)")
        }
    }

    @Test func aHeadPastTheDecodersBoundIsRefusedInsideTheRequestLineOrAfterIt() throws {
        var limits = HTTPServerLimits()
        limits.maxHeadBytes = 2048
        for (request, line) in [("GET /\(String(repeating: "a", count: 5000))", true),
                                ("GET / HTTP/1.1\r\nX: \(String(repeating: "b", count: 5000))", false)] {
            let policy = RecordingPolicy()
            let channel = try channel(limits, policy: policy)
            send(channel, request)
            let event = try #require(policy.events.withLockedValue { $0.first })
            if line {
                guard case .requestLineTooLong = event else { Issue.record("got \(event)"); continue }
            } else {
                #expect(event == .headTooLarge)
            }
            #expect(!channel.isActive)
        }
    }

    @Test func aBadRequestBehindAPipelinedOneIsAnsweredInTurn() throws {
        let policy = RecordingPolicy()
        let channel = try channel(HTTPServerLimits(), policy: policy)
        send(channel, "GET /one HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n")
        let text = try output(channel)
        let one = try #require(text.range(of: "/one 0"))
        let refusal = try #require(text.range(of: "499 Event"))
        #expect(one.lowerBound < refusal.lowerBound)
        #expect(policy.events.withLockedValue { $0 } == [.badRequest])
    }

    @Test func aFailingHandlerClosesOnlyItsConnectionWithThePolicysAnswer() throws {
        let policy = RecordingPolicy()
        let channel = try channel(HTTPServerLimits(), policy: policy)
        send(channel, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
        guard case .handlerFailed = policy.events.withLockedValue({ $0.first }) else {
            Issue.record("no handlerFailed event: \(policy.events.withLockedValue { $0 })")
            return
        }
        #expect(try output(channel).hasPrefix("HTTP/1.1 499"))
        #expect(!channel.isActive)
    }

    @Test func aHungProcessTimesNothingOutUntilItRunsAgain() throws {
        let faults = FaultSwitch()
        var limits = HTTPServerLimits()
        limits.headTimeout = .seconds(1)
        let policy = RecordingPolicy()
        let channel = try channel(limits.frozen(with: faults), policy: policy)
        let loop = channel.eventLoop as! EmbeddedEventLoop
        faults.hang()
        loop.advanceTime(by: .seconds(5))
        #expect(policy.events.withLockedValue { $0 }.isEmpty)
        #expect(channel.isActive)
        faults.clear()
        loop.advanceTime(by: .milliseconds(300))
        #expect(policy.events.withLockedValue { $0 } == [.headTimeout(sawBytes: false)])
    }

    @Test func aURIThatTheProcessRefusesIsABadRequest() throws {
        var limits = HTTPServerLimits()
        limits.refusesHead = { $0.uri.contains("#") }
        let policy = RecordingPolicy()
        let channel = try channel(limits, policy: policy)
        send(channel, "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(policy.events.withLockedValue { $0 } == [.badRequest])
    }
}

@Suite("Proxies forward what they received")
struct ForwardedRequestValidatorTests {
    @Test func urisWithBracesPipesAndBackslashesPassButControlBytesDoNot() {
        let channel = EmbeddedChannel(handler: ForwardedRequestValidator())
        defer { _ = try? channel.finish() }
        #expect((try? channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/a{b}|c^d\\e")))) != nil)
        var bad = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ok")
        bad.headers.add(name: "X", value: "a\r\nInjected: yes")
        #expect((try? channel.writeOutbound(HTTPClientRequestPart.head(bad))) == nil)
        #expect((try? channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/a b")))) == nil)
    }
}
