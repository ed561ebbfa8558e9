import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import StackLab

/// The client side of every hop (balancer → nginx, nginx → gunicorn, `load`, `curl`) on NIO's EmbeddedChannel.
@Suite("Upstream connections")
struct UpstreamConnectionTests {
    private func connected() throws -> (EmbeddedChannel, UpstreamConnection) {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addForwardingClientHandlers()
        let handler = UpstreamResponseHandler()
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 3306)).wait()
        return (channel, UpstreamConnection(channel: channel, handler: handler))
    }

    private let get = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")

    @Test func aServerThatSpokeFirstInAnotherProtocolAndHungUpFailsTheRequestAtOnce() throws {
        let (channel, connection) = try connected()
        // A MySQL greeting, before any request, then the server closes.
        var greeting = channel.allocator.buffer(capacity: 16)
        greeting.writeBytes([0x53, 0x00, 0x00, 0x00, 0x0A] + Array("8.0.40-stacklab".utf8) + [0x00])
        _ = try? channel.writeInbound(greeting)
        _ = try? channel.close().wait()
        let answer = connection.send(head: get, body: nil, readTimeoutMilliseconds: 30_000)
        // Failed now, not at the 30 s read timeout.
        #expect(throws: UpstreamError.invalidResponse) { try answer.wait() }
    }

    @Test func aConnectionClosedWhileIdleFailsTheNextRequestAtOnce() throws {
        let (channel, connection) = try connected()
        _ = try? channel.close().wait()
        let answer = connection.send(head: get, body: nil, readTimeoutMilliseconds: 30_000)
        #expect(throws: UpstreamError.closedEarly) { try answer.wait() }
    }
}
