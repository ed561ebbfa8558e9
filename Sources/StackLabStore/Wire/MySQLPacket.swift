import NIOCore

/// One logical MySQL protocol packet: the payload after reassembly of 16 MB continuation frames, and the sequence id
/// of its first frame. See "MySQL Packets" in the MySQL internals manual.
public struct MySQLPacket: Sendable, Equatable {
    public var sequenceID: UInt8
    public var payload: ByteBuffer

    public init(sequenceID: UInt8, payload: ByteBuffer) {
        self.sequenceID = sequenceID
        self.payload = payload
    }

    /// 2^24 - 1: a frame of exactly this length means "more frames follow" (MySQL's MAX_PACKET_LENGTH).
    static let maxFrameLength = 0xFF_FFFF
}

/// How large the next logical packet of one connection may be. The server's handler changes it as the connection
/// logs in (a small handshake limit first, then max_allowed_packet); the decoder of the same connection reads it.
/// Both live on the connection's event loop.
public final class PacketSizeLimit {
    /// max_allowed_packet: past it mysqld answers ER_NET_PACKET_TOO_LARGE and hangs up.
    public var allowed: Int
    /// The limit now, at most `allowed`: smaller while the client has not logged in.
    public var current: Int
    /// Sequence id of the last frame header read (the answer to a packet follows its last frame).
    public internal(set) var lastSequence: UInt8 = 0

    public init(allowed: Int, current: Int? = nil) {
        self.allowed = allowed
        self.current = min(current ?? allowed, allowed)
    }
}

/// Splits the byte stream into packets: 3-byte little-endian length, 1-byte sequence id, payload. Frames of
/// 0xFFFFFF bytes are joined with the following frames into one logical packet. A packet over the limit is refused
/// from its frame header, before its body is buffered.
public struct MySQLPacketDecoder: ByteToMessageDecoder {
    public typealias InboundOut = MySQLPacket

    /// Refuse logical packets larger than this (MySQL's max_allowed_packet, 64 MB default in 8.0) when no shared
    /// limit is given (the client side).
    public var maxPacketSize: Int
    private let limit: PacketSizeLimit?
    private var partial: ByteBuffer?
    private var partialSequence: UInt8 = 0

    public init(maxPacketSize: Int = 64 * 1024 * 1024) {
        self.maxPacketSize = maxPacketSize
        self.limit = nil
    }

    /// A server connection's decoder, whose limit its handler moves.
    public init(limit: PacketSizeLimit) {
        self.maxPacketSize = limit.allowed
        self.limit = limit
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try self.nextPacket(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try self.decode(context: context, buffer: &buffer)
    }

    /// Pure decoding step, usable without a channel (the client and tests use it too).
    public mutating func nextPacket(from buffer: inout ByteBuffer) throws -> MySQLPacket? {
        while true {
            guard buffer.readableBytes >= 4,
                  let b0 = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
                  let b1 = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self),
                  let b2 = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt8.self),
                  let seq = buffer.getInteger(at: buffer.readerIndex + 3, as: UInt8.self)
            else { return nil }
            let length = Int(b0) | Int(b1) << 8 | Int(b2) << 16
            limit?.lastSequence = seq
            let total = (partial?.readableBytes ?? 0) + length
            if total > (limit?.allowed ?? maxPacketSize) { throw MySQLProtocolError.packetTooLarge }
            if let limit, total > limit.current { throw MySQLProtocolError.handshakeTooLarge }
            guard buffer.readableBytes >= 4 + length else { return nil }
            buffer.moveReaderIndex(forwardBy: 4)
            guard var body = buffer.readSlice(length: length) else { return nil }
            if var existing = self.partial {
                existing.writeBuffer(&body)
                self.partial = existing
            } else {
                var copy = ByteBufferAllocator().buffer(capacity: length)
                copy.writeBuffer(&body)
                self.partial = copy
                self.partialSequence = seq
            }
            if length == MySQLPacket.maxFrameLength { continue }
            let payload = self.partial ?? ByteBuffer()
            self.partial = nil
            return MySQLPacket(sequenceID: self.partialSequence, payload: payload)
        }
    }
}

/// Frames outgoing packets, splitting payloads of 16 MB and more into continuation frames with rising sequence ids.
public struct MySQLPacketEncoder: MessageToByteEncoder {
    public typealias OutboundIn = MySQLPacket
    public init() {}

    public func encode(data: MySQLPacket, out: inout ByteBuffer) throws {
        Self.frame(data, into: &out)
    }

    static func frame(_ packet: MySQLPacket, into out: inout ByteBuffer) {
        var payload = packet.payload
        var seq = packet.sequenceID
        while true {
            let n = min(payload.readableBytes, MySQLPacket.maxFrameLength)
            out.writeInteger(UInt8(n & 0xFF))
            out.writeInteger(UInt8((n >> 8) & 0xFF))
            out.writeInteger(UInt8((n >> 16) & 0xFF))
            out.writeInteger(seq)
            if var slice = payload.readSlice(length: n) { out.writeBuffer(&slice) }
            seq &+= 1
            // A payload that is an exact multiple of the frame size ends with an empty frame.
            if n < MySQLPacket.maxFrameLength { break }
        }
    }
}

public enum MySQLProtocolError: Error, Sendable, Equatable {
    /// Over max_allowed_packet.
    case packetTooLarge
    /// Within max_allowed_packet, but over what a client may send before it has logged in.
    case handshakeTooLarge
    case malformedPacket(String)
    case unexpectedPacket(String)
    case connectionClosed
}
