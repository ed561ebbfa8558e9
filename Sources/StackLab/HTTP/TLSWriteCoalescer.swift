import NIOCore

/// Between TLS and the HTTP encoder: the parts of one response (head, body) go to TLS as one write, so they travel
/// in one TLS record, as HAProxy and nginx send a small response — NIOSSL makes a record of every write it is given.
/// Writes are held until the flush and only while they stay small; a large body goes through as it came.
final class TLSWriteCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// One TLS record's worth of plaintext.
    static let limit = 16 * 1024

    private var pending: ByteBuffer?
    private var promises: [EventLoopPromise<Void>] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var buffer) = unwrapOutboundIn(data) else {
            writePending(context: context)
            context.write(data, promise: promise)
            return
        }
        if (pending?.readableBytes ?? 0) + buffer.readableBytes > Self.limit {
            writePending(context: context)
            if buffer.readableBytes > Self.limit {
                context.write(data, promise: promise)
                return
            }
        }
        if pending == nil {
            pending = buffer
        } else {
            pending?.writeBuffer(&buffer)
        }
        if let promise { promises.append(promise) }
    }

    func flush(context: ChannelHandlerContext) {
        writePending(context: context)
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        writePending(context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        writePending(context: context)
    }

    private func writePending(context: ChannelHandlerContext) {
        guard let buffer = pending else { return }
        pending = nil
        let waiting = promises
        promises.removeAll(keepingCapacity: true)
        switch waiting.count {
        case 0:
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
        case 1:
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: waiting[0])
        default:
            let promise = context.eventLoop.makePromise(of: Void.self)
            for other in waiting { promise.futureResult.cascade(to: other) }
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        }
    }
}
