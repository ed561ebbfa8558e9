import NIOCore
import NIOEmbedded
import Testing
@testable import StackLab

@Suite("Bare line feeds in request heads")
struct BareLineFeedsTests {
    /// Feeds `input` in pieces of `piece` bytes and returns what reaches the decoder.
    func run(_ input: String, piece: Int) throws -> (String, removed: Bool) {
        let channel = EmbeddedChannel()
        let handler = BareLineFeeds()
        try channel.pipeline.syncOperations.addHandler(handler)
        let bytes = Array(input.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + piece)
            try channel.writeInbound(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
        var output: [UInt8] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { output += buffer.readableBytesView }
        channel.embeddedEventLoop.run()
        let removed = (try? channel.pipeline.syncOperations.handler(type: BareLineFeeds.self)) == nil
        _ = try channel.finish()
        return (String(decoding: output, as: UTF8.self), removed)
    }

    @Test(arguments: [1, 2, 5, 7, 1000])
    func headsGetTheirCRsAndBodiesStayAsSent(piece: Int) throws {
        let typed = "\nGET / HTTP/1.1\nHost: x\nContent-Length: 4\n\na\nb\nPOST /p HTTP/1.1\ncontent-length:2\n\n\n\nGET /last HTTP/1.0\n\n"
        let (output, removed) = try run(typed, piece: piece)
        #expect(output == "\r\nGET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\na\nb\nPOST /p HTTP/1.1\r\ncontent-length:2\r\n\r\n\n\nGET /last HTTP/1.0\r\n\r\n")
        #expect(!removed)
    }

    @Test func afterAChunkedBodyNothingChanges() throws {
        let (output, _) = try run("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n1\na\n0\n\n", piece: 3)
        #expect(output == "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\na\n0\n\n")
    }

    @Test(arguments: [1, 4, 1000])
    func aClientThatSendsCRLFIsLeftAlone(piece: Int) throws {
        let request = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\na\nb"
        let (output, removed) = try run(request, piece: piece)
        #expect(output == request)
        #expect(removed)
    }
}
