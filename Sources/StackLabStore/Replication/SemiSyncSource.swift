import NIOConcurrencyHelpers
import NIOCore

/// The source side of semi-synchronous replication, wait point AFTER_SYNC: a commit is already in the binlog and
/// the data log; the client's OK waits until a replica acknowledges having written it to its relay log, or until
/// rpl_semi_sync_source_timeout passes, after which the source falls back to async until a replica catches up.
final class SemiSyncSource: Sendable {
    struct Waiter {
        var file: String
        var position: UInt64
        var promise: EventLoopPromise<Void>
        var timeout: Scheduled<Void>?
    }

    struct State {
        var acknowledged: (file: String, position: UInt64) = ("", 0)
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
        /// Rpl_semi_sync_source_status: false after a timeout, until a replica catches up.
        var active = true
        var yesTransactions = 0
        var noTransactions = 0
        var clients = 0
    }

    private let state = NIOLockedValueBox(State())
    private let enabled: @Sendable () -> (enabled: Bool, timeoutMilliseconds: Int)
    private let log: @Sendable (String, String, String) -> Void
    private let binlogEnd: @Sendable () -> (file: String, position: UInt64)

    init(enabled: @escaping @Sendable () -> (enabled: Bool, timeoutMilliseconds: Int),
         binlogEnd: @escaping @Sendable () -> (file: String, position: UInt64),
         log: @escaping @Sendable (String, String, String) -> Void) {
        self.enabled = enabled
        self.binlogEnd = binlogEnd
        self.log = log
    }

    static func reached(_ a: (file: String, position: UInt64), _ b: (file: String, position: UInt64)) -> Bool {
        a.file > b.file || (a.file == b.file && a.position >= b.position)
    }

    var isActive: Bool { enabled().enabled && state.withLockedValue { $0.active } }

    /// Acks are requested whenever semi-sync is enabled, also while fallen back to async: they are how the
    /// source learns that a replica caught up.
    var isEnabled: Bool { enabled().enabled }

    var counters: (active: Bool, yes: Int, no: Int, clients: Int) {
        let on = enabled().enabled
        return state.withLockedValue { (on && $0.active, $0.yesTransactions, $0.noTransactions, $0.clients) }
    }

    func replicaConnected(_ delta: Int) { state.withLockedValue { $0.clients += delta } }

    /// Nil when the client may be told OK at once (semi-sync off, or fallen back to async).
    func waitIfEnabled(file: String, position: UInt64, on loop: EventLoop) -> EventLoopFuture<Void>? {
        let config = enabled()
        guard config.enabled else { return nil }
        let waiting: (Int, EventLoopPromise<Void>)? = state.withLockedValue { s in
            guard s.active else { s.noTransactions += 1; return nil }
            if Self.reached(s.acknowledged, (file, position)) { s.yesTransactions += 1; return nil }
            let id = s.nextID
            s.nextID += 1
            let promise = loop.makePromise(of: Void.self)
            s.waiters[id] = Waiter(file: file, position: position, promise: promise, timeout: nil)
            return (id, promise)
        }
        guard let (id, promise) = waiting else { return nil }
        let timeout = loop.scheduleTask(in: .milliseconds(Int64(min(max(0, config.timeoutMilliseconds), 4_294_967_295)))) { [self] in
            self.timedOut(id)
        }
        state.withLockedValue { s in s.waiters[id]?.timeout = timeout }
        return promise.futureResult
    }

    private func timedOut(_ id: Int) {
        let result: (Waiter, Bool, (String, UInt64))? = state.withLockedValue { s in
            guard let w = s.waiters.removeValue(forKey: id) else { return nil }
            let wasActive = s.active
            s.active = false
            s.noTransactions += 1
            return (w, wasActive, s.acknowledged)
        }
        guard let (w, wasActive, acked) = result else { return }
        if wasActive {
            log("Warning", "MY-011153", "Timeout waiting for reply of binlog (file: \(w.file), pos: \(w.position)), semi-sync up to file \(acked.0), position \(acked.1).")
            log("Note", "MY-011155", "Semi-sync replication switched OFF.")
        }
        // Fall back to async: every waiting commit is released.
        let rest: [Waiter] = state.withLockedValue { s in
            let all = Array(s.waiters.values)
            s.waiters = [:]
            s.noTransactions += all.count
            return all
        }
        w.promise.succeed(())
        for r in rest { r.timeout?.cancel(); r.promise.succeed(()) }
    }

    /// A replica wrote the binlog up to (file, position) to its relay log.
    func acknowledge(file: String, position: UInt64) {
        let end = binlogEnd()
        let (released, switchedOn): ([Waiter], Bool) = state.withLockedValue { s in
            if Self.reached((file, position), s.acknowledged) { s.acknowledged = (file, position) }
            var done: [Waiter] = []
            for (id, w) in s.waiters where Self.reached(s.acknowledged, (w.file, w.position)) {
                done.append(w)
                s.waiters[id] = nil
            }
            s.yesTransactions += done.count
            var on = false
            if !s.active, Self.reached(s.acknowledged, end) { s.active = true; on = true }
            return (done, on)
        }
        if switchedOn { log("Note", "MY-011156", "Semi-sync replication switched ON at (\(file), \(position)).") }
        for w in released { w.timeout?.cancel(); w.promise.succeed(()) }
    }

    /// SET GLOBAL rpl_semi_sync_source_enabled=1 starts out active again.
    func reset() { state.withLockedValue { $0.active = true } }

    /// Crash or shutdown: nobody will acknowledge; the waiting clients are disconnected by the caller.
    func failAll() {
        let all: [Waiter] = state.withLockedValue { s in
            let w = Array(s.waiters.values)
            s.waiters = [:]
            return w
        }
        for w in all { w.timeout?.cancel(); w.promise.fail(StoreConnectionError.lostConnection()) }
    }
}
