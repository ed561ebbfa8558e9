import NIOConcurrencyHelpers
import NIOCore

/// Hands packets from the event loop to async code that reads them one by one.
final class PacketInbox: Sendable {
    private struct State {
        var buffered: [MySQLPacket] = []
        var waiter: CheckedContinuation<MySQLPacket, Error>?
        var waiterID = 0
        /// The read timeout of the current waiter, cancelled when its packet arrives (a stream of thousands of
        /// events must not leave thousands of timers behind).
        var timer: Scheduled<Void>?
        var failure: Error?
    }
    private let state = NIOLockedValueBox(State())

    func push(_ packet: MySQLPacket) {
        let (w, timer): (CheckedContinuation<MySQLPacket, Error>?, Scheduled<Void>?) = state.withLockedValue { s in
            if let w = s.waiter {
                s.waiter = nil
                let t = s.timer
                s.timer = nil
                return (w, t)
            }
            s.buffered.append(packet)
            return (nil, nil)
        }
        timer?.cancel()
        w?.resume(returning: packet)
    }

    func finish(_ error: Error) {
        let w: CheckedContinuation<MySQLPacket, Error>? = state.withLockedValue { s in
            if s.failure == nil { s.failure = error }
            let w = s.waiter
            s.waiter = nil
            s.timer?.cancel()
            s.timer = nil
            return w
        }
        w?.resume(throwing: error)
    }

    /// The next packet; with a timeout, a read that waits longer fails with `timeoutError` (net_read_timeout).
    func next(timeout: TimeAmount? = nil, on loop: EventLoop? = nil, timeoutError: Error = StoreConnectionError.lostConnection()) async throws -> MySQLPacket {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<MySQLPacket, Error>) in
            enum Action { case packet(MySQLPacket), fail(Error), wait(Int) }
            let action: Action = state.withLockedValue { s in
                if !s.buffered.isEmpty { return .packet(s.buffered.removeFirst()) }
                if let f = s.failure { return .fail(f) }
                s.waiter = c
                s.waiterID += 1
                return .wait(s.waiterID)
            }
            switch action {
            case .packet(let p): c.resume(returning: p)
            case .fail(let e): c.resume(throwing: e)
            case .wait(let id):
                if let timeout, let loop {
                    let timer = loop.scheduleTask(in: timeout) { [self] in
                        let w: CheckedContinuation<MySQLPacket, Error>? = self.state.withLockedValue { s in
                            guard s.waiterID == id, let w = s.waiter else { return nil }
                            s.waiter = nil
                            s.timer = nil
                            return w
                        }
                        w?.resume(throwing: timeoutError)
                    }
                    let stale: Bool = state.withLockedValue { s in
                        guard s.waiterID == id, s.waiter != nil else { return true }
                        s.timer = timer
                        return false
                    }
                    if stale { timer.cancel() }
                }
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
