import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StackLabTestSupport

/// A bare TCP connection to a server: the bytes it sends back and whether it has hung up, for tests of what a
/// server does before (or instead of) any protocol.
final class RawSocket: Sendable {
    let channel: Channel
    private let received: ReceivedBytes

    private init(channel: Channel, received: ReceivedBytes) {
        self.channel = channel
        self.received = received
    }

    static func connect(port: Int, host: String = "127.0.0.1") async throws -> RawSocket {
        let received = ReceivedBytes()
        let channel = try await ClientBootstrap(group: testGroup)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(received) }
            }
            .connect(host: host, port: port).get()
        return RawSocket(channel: channel, received: received)
    }

    var bytes: [UInt8] { received.bytes }
    var isOpen: Bool { channel.isActive }

    /// The first packet received: its sequence id and payload.
    var firstPacket: (sequence: UInt8, payload: [UInt8])? {
        let b = bytes
        guard b.count >= 4 else { return nil }
        let length = Int(b[0]) | Int(b[1]) << 8 | Int(b[2]) << 16
        guard b.count >= 4 + length else { return nil }
        return (b[3], Array(b[4..<(4 + length)]))
    }

    /// The packets after the first (the greeting), as payloads.
    var packets: [(sequence: UInt8, payload: [UInt8])] {
        var b = bytes[...]
        var out: [(UInt8, [UInt8])] = []
        while b.count >= 4 {
            let start = b.startIndex
            let length = Int(b[start]) | Int(b[start + 1]) << 8 | Int(b[start + 2]) << 16
            guard b.count >= 4 + length else { break }
            out.append((b[start + 3], Array(b[(start + 4)..<(start + 4 + length)])))
            b = b.dropFirst(4 + length)
        }
        return out
    }

    func send(_ bytes: [UInt8]) {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer, promise: nil)
    }

    func close() { channel.close(promise: nil) }
}
