import Foundation
import NIOCore
import NIOEmbedded
import Testing
@testable import StackLabStore

@Suite("MySQL packet framing")
struct PacketDecoderTests {
    static func frame(_ seq: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        [UInt8(bytes.count & 0xFF), UInt8((bytes.count >> 8) & 0xFF), UInt8((bytes.count >> 16) & 0xFF), seq] + bytes
    }

    func decodeAll(_ stream: [UInt8], chunk: Int) throws -> [MySQLPacket] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(MySQLPacketDecoder()))
        var i = 0
        while i < stream.count {
            let end = min(stream.count, i + chunk)
            try channel.writeInbound(ByteBuffer(bytes: stream[i..<end]))
            i = end
        }
        var out: [MySQLPacket] = []
        while let p = try channel.readInbound(as: MySQLPacket.self) { out.append(p) }
        _ = try channel.finish()
        return out
    }

    @Test func packetsFedAllAtOnceAndByteByByteDecodeTheSame() throws {
        let stream = Self.frame(0, [0x03] + Array("SELECT 1".utf8)) + Self.frame(1, []) + Self.frame(7, [0x0E])
        let expected = [
            MySQLPacket(sequenceID: 0, payload: ByteBuffer(bytes: [0x03] + Array("SELECT 1".utf8))),
            MySQLPacket(sequenceID: 1, payload: ByteBuffer()),
            MySQLPacket(sequenceID: 7, payload: ByteBuffer(bytes: [0x0E])),
        ]
        #expect(try decodeAll(stream, chunk: stream.count) == expected)
        #expect(try decodeAll(stream, chunk: 1) == expected)
        #expect(try decodeAll(stream, chunk: 3) == expected)
    }

    @Test func sixteenMegabytePayloadsAreSplitAndJoined() throws {
        let big = [UInt8](repeating: 0x61, count: MySQLPacket.maxFrameLength + 10)
        var out = ByteBuffer()
        MySQLPacketEncoder.frame(MySQLPacket(sequenceID: 3, payload: ByteBuffer(bytes: big)), into: &out)
        // Two frames: 0xFFFFFF bytes with seq 3, then 10 bytes with seq 4.
        #expect(out.readableBytes == 4 + MySQLPacket.maxFrameLength + 4 + 10)
        #expect(out.getBytes(at: 0, length: 4) == [0xFF, 0xFF, 0xFF, 3])
        #expect(out.getBytes(at: 4 + MySQLPacket.maxFrameLength, length: 4) == [10, 0, 0, 4])
        var decoder = MySQLPacketDecoder()
        let packet = try decoder.nextPacket(from: &out)
        #expect(packet?.sequenceID == 3)
        #expect(packet?.payload.readableBytes == big.count)
    }

    @Test func exactMultipleOfTheFrameSizeEndsWithAnEmptyFrame() throws {
        var out = ByteBuffer()
        MySQLPacketEncoder.frame(MySQLPacket(sequenceID: 0, payload: ByteBuffer(bytes: [UInt8](repeating: 1, count: MySQLPacket.maxFrameLength))), into: &out)
        #expect(out.readableBytes == 4 + MySQLPacket.maxFrameLength + 4)
        var decoder = MySQLPacketDecoder()
        #expect(try decoder.nextPacket(from: &out)?.payload.readableBytes == MySQLPacket.maxFrameLength)
    }

    @Test func oversizedPacketIsAnErrorNotACrash() throws {
        var decoder = MySQLPacketDecoder(maxPacketSize: 16)
        var b = ByteBuffer(bytes: Self.frame(0, [UInt8](repeating: 0, count: 17)))
        #expect(throws: MySQLProtocolError.packetTooLarge) { try decoder.nextPacket(from: &b) }
    }

    @Test func lengthEncodedIntegersRoundTrip() {
        for v: UInt64 in [0, 250, 251, 65535, 65536, 16_777_215, 16_777_216, UInt64.max] {
            var b = ByteBuffer()
            b.writeLengthEncodedInteger(v)
            #expect(b.readLengthEncodedInteger() == v)
            #expect(b.readableBytes == 0)
        }
        var truncated = ByteBuffer(bytes: [0xFC, 0x01])
        #expect(truncated.readLengthEncodedInteger() == nil)
    }

    @Test func nativePasswordScrambleMatchesMySQL() {
        // SHA1("") and SHA1("abc") from FIPS 180-4.
        #expect(SHA1.hash([]).map { String(format: "%02x", $0) }.joined() == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hash(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined() == "a9993e364706816aba3e25717850c26c9cd0d89d")
        let scramble = [UInt8](repeating: 7, count: 20)
        let token = NativePassword.token(password: "app", scramble: scramble)
        #expect(token.count == 20)
        #expect(NativePassword.verify(token: token, password: "app", scramble: scramble))
        #expect(!NativePassword.verify(token: token, password: "ap", scramble: scramble))
        #expect(NativePassword.verify(token: [], password: "", scramble: scramble))
    }
}
