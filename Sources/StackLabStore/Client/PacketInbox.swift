import NIOConcurrencyHelpers
import NIOCore

/// Hands packets from the event loop to async code that reads them one by one.
final class PacketInbox: Sendable {
    private struct State {
        var buffered: [MySQLPacket] = []
        var waiter: CheckedContinuation<MySQLPacket, Error>?
        var failure: Error?
    }
    private let state = NIOLockedValueBox(State())

    func push(_ packet: MySQLPacket) {
        let w: CheckedContinuation<MySQLPacket, Error>? = state.withLockedValue { s in
            if let w = s.waiter { s.waiter = nil; return w }
            s.buffered.append(packet)
            return nil
        }
        w?.resume(returning: packet)
    }

    func finish(_ error: Error) {
        let w: CheckedContinuation<MySQLPacket, Error>? = state.withLockedValue { s in
            if s.failure == nil { s.failure = error }
            let w = s.waiter
            s.waiter = nil
            return w
        }
        w?.resume(throwing: error)
    }

    func next() async throws -> MySQLPacket {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<MySQLPacket, Error>) in
            enum Action { case packet(MySQLPacket), fail(Error), wait }
            let action: Action = state.withLockedValue { s in
                if !s.buffered.isEmpty { return .packet(s.buffered.removeFirst()) }
                if let f = s.failure { return .fail(f) }
                s.waiter = c
                return .wait
            }
            switch action {
            case .packet(let p): c.resume(returning: p)
            case .fail(let e): c.resume(throwing: e)
            case .wait: break
            }
        }
    }
}

/// Feeds a PacketInbox from the channel.
final class PacketInboxHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = MySQLPacket
    let inbox: PacketInbox
    init(inbox: PacketInbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { inbox.push(unwrapInboundIn(data)) }
    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish(StoreConnectionError.lostConnection())
        context.fireChannelInactive()
    }
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        inbox.finish(StoreConnectionError.lostConnection())
        context.close(promise: nil)
    }
}
