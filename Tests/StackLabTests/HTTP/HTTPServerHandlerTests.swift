import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import StackLab

/// Answers with the request's URI, on the event loop.
private struct EchoURI: HTTPResponder {
    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse> {
        request.eventLoop.makeSucceededFuture(ServerResponse(status: .ok, body: ByteBuffer(string: request.head.uri)))
    }
}

@Suite("HTTPServerHandler on EmbeddedChannel")
struct HTTPServerHandlerTests {
    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try HTTPServerHandler.install(on: channel, responder: EchoURI(), serverHeader: "test").wait()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    private func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { text += buffer.readString(length: buffer.readableBytes) ?? "" }
        return text
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"))
        let text = try output(channel)
        let one = try #require(text.range(of: "/one"))
        let two = try #require(text.range(of: "/two"))
        #expect(one.lowerBound < two.lowerBound)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Server: test\r\n"))
        #expect(channel.isActive)
    }

    @Test func http10WithoutKeepAliveIsClosedAfterTheResponse() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n"))
        let text = try output(channel)
        // nginx and HAProxy answer HTTP/1.1 to an HTTP/1.0 client.
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Connection: close\r\n"))
        #expect(!channel.isActive)
    }

    @Test func garbageGets400AndTheConnectionCloses() throws {
        let channel = try channel()
        _ = try? channel.writeInbound(ByteBuffer(string: "NOT HTTP AT ALL\r\n\r\n"))
        let text = try output(channel)
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(!channel.isActive)
    }
}
