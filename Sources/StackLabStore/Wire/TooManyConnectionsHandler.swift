import NIOCore

/// A connection past max_connections + 1: mysqld sends ERROR 1040 "Too many connections" in place of its greeting
/// (no SQLSTATE: nothing was negotiated yet) and closes, reading nothing from the client.
final class TooManyConnectionsHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var refused = false

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(_ context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        var frame = context.channel.allocator.buffer(capacity: 32)
        MySQLPacketEncoder.frame(MySQLPacket(sequenceID: 0, payload: ServerMessages.error(StoreError.tooManyConnections(), withSQLState: false)), into: &frame)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
    }
}
