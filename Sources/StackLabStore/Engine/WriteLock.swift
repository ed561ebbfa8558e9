import Foundation

/// The store's write lock: one writing transaction at a time. InnoDB locks rows; the miniature locks the whole
/// store, so a second writer waits for the first transaction to end even when they touch different rows.
/// A writer waits at most innodb_lock_wait_timeout seconds, then gets ERROR 1205.
///
/// @unchecked Sendable: `owner` and `waiters` are read and written only while `condition` is locked.
final class WriteLock: @unchecked Sendable {
    private let condition = NSCondition()
    /// 0 when free, else the owner's connection id + 1.
    private var owner: UInt64 = 0
    private var waiters = 0

    /// Writers waiting now (SHOW STATUS's Innodb_row_lock_current_waits).
    var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiters
    }

    /// The error a writer gets when the one ahead of it does not finish in time (mysqld's ER_LOCK_WAIT_TIMEOUT).
    static func timeoutError() -> StoreError {
        StoreError(code: 1205, sqlState: "HY000", message: "Lock wait timeout exceeded; try restarting transaction")
    }

    /// Takes the lock for `connection`, waiting up to `timeout` seconds (never called on an event loop). Taking a
    /// lock already held is a no-op.
    func acquire(_ connection: UInt32, timeout: Int) throws {
        let me = UInt64(connection) + 1
        condition.lock()
        defer { condition.unlock() }
        if owner == me || owner == 0 {
            owner = me
            return
        }
        let deadline = Date(timeIntervalSinceNow: Double(min(max(0, timeout), 1_073_741_824)))
        waiters += 1
        defer { waiters -= 1 }
        while owner != 0 {
            if !condition.wait(until: deadline), owner != 0 { throw Self.timeoutError() }
        }
        owner = me
    }

    /// Whether someone other than `connection` holds the lock now.
    func heldByOther(_ connection: UInt32) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return owner != 0 && owner != UInt64(connection) + 1
    }

    func release(_ connection: UInt32) {
        condition.lock()
        defer { condition.unlock() }
        guard owner == UInt64(connection) + 1 else { return }
        owner = 0
        condition.broadcast()
    }

    /// The server went down: whoever waits wakes up (and finds the engine closed).
    func releaseAll() {
        condition.lock()
        defer { condition.unlock() }
        owner = 0
        condition.broadcast()
    }
}
