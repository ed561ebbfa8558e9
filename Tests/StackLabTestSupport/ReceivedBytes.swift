import NIOConcurrencyHelpers
import NIOCore

/// A test client's inbound end: every byte the connection receives (at most `limit`, so a server that floods it
/// cannot fill the test's memory) and whether the connection has closed. An error closes the connection; with
/// `closeWhenInputEnds`, so does the peer's half-close.
public final class ReceivedBytes: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer
    private let state = NIOLockedValueBox<(bytes: [UInt8], closed: Bool)>(([], false))
    private let limit: Int
    private let closeWhenInputEnds: Bool

    public init(limit: Int = 1 << 20, closeWhenInputEnds: Bool = false) {
        self.limit = limit
        self.closeWhenInputEnds = closeWhenInputEnds
    }

    public var bytes: [UInt8] { state.withLockedValue { $0.bytes } }
    public var isClosed: Bool { state.withLockedValue { $0.closed } }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        state.withLockedValue { $0.bytes += bytes.prefix(max(0, limit - $0.bytes.count)) }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.closed = true }
        context.fireChannelInactive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if closeWhenInputEnds, event as? ChannelEvent == .inputClosed { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
