/// The receiver (IO) thread as SHOW REPLICA STATUS shows it. No I/O here: the receiver task feeds it events, tests
/// feed it events too and read the states.
struct ReceiverState: Sendable, Equatable {
    private(set) var running = ReplicaIOState.no
    private(set) var stateText = ""
    private(set) var lastErrno = 0
    private(set) var lastError = ""
    private(set) var lastErrorTimestamp = ""
    /// Failed attempts since the last success ("This was attempt N/86400").
    private(set) var attempts = 0
    /// Since START REPLICA: MySQL says "Error connecting" before the first success, "reconnecting" after.
    private(set) var connectedOnce = false

    /// SOURCE_RETRY_COUNT's default.
    static let retryCount = 86400

    mutating func start() {
        running = .connecting
        stateText = "Connecting to source"
        attempts = 0
        connectedOnce = false
    }

    mutating func connected() {
        running = .yes
        stateText = "Waiting for source to send event"
        lastErrno = 0
        lastError = ""
        lastErrorTimestamp = ""
        attempts = 0
        connectedOnce = true
    }

    /// The source went away while streaming. Returns true: the first reconnect is immediate.
    mutating func connectionLost() -> Bool {
        guard running == .yes else { return false }
        running = .connecting
        stateText = "Reconnecting after a failed source event read"
        attempts = 0
        return true
    }

    /// A connection attempt failed; returns Last_IO_Error (also the error-log text).
    mutating func connectFailed(code: Int, message: String, source: String, retrySeconds: Int, at timestamp: String) -> String {
        attempts += 1
        running = .connecting
        stateText = "Connecting to source"
        lastErrno = code
        lastError = "Error \(connectedOnce ? "reconnecting" : "connecting") to source '\(source)'. This was attempt \(attempts)/\(Self.retryCount), with a delay of \(retrySeconds) seconds between attempts. Message: \(message)"
        lastErrorTimestamp = timestamp
        return lastError
    }

    /// Errors the receiver does not retry (equal server ids, binlog missing on the source).
    mutating func fatal(code: Int, message: String, at timestamp: String) {
        running = .no
        stateText = ""
        lastErrno = code
        lastError = message
        lastErrorTimestamp = timestamp
    }

    mutating func stop() {
        running = .no
        stateText = ""
    }
}

/// The applier (SQL) thread as SHOW REPLICA STATUS shows it.
struct ApplierState: Sendable, Equatable {
    private(set) var running = false
    private(set) var stateText = ""
    private(set) var lastErrno = 0
    private(set) var lastError = ""
    private(set) var lastErrorTimestamp = ""
    /// SQL_Remaining_Delay: seconds left while SOURCE_DELAY holds a transaction.
    private(set) var remainingDelay: Int?

    static let caughtUpText = "Replica has read all relay log; waiting for more updates"
    static let delayText = "Waiting until SOURCE_DELAY seconds after source executed event"
    static let applyingText = "Reading event from the relay log"

    mutating func start() {
        running = true
        lastErrno = 0
        lastError = ""
        lastErrorTimestamp = ""
        stateText = Self.caughtUpText
    }

    mutating func caughtUp() {
        remainingDelay = nil
        stateText = Self.caughtUpText
    }

    mutating func delaying(remainingSeconds: Int) {
        remainingDelay = remainingSeconds
        stateText = Self.delayText
    }

    mutating func applying() {
        remainingDelay = nil
        stateText = Self.applyingText
    }

    /// The statement failed here: the thread stops; returns Last_SQL_Error as MySQL words it.
    mutating func failed(_ error: StoreError, database: String?, query: String, at timestamp: String) -> String {
        running = false
        stateText = ""
        remainingDelay = nil
        lastErrno = error.code
        lastError = "Error '\(error.message)' on query. Default database: '\(database ?? "")'. Query: '\(query)'"
        lastErrorTimestamp = timestamp
        return lastError
    }

    mutating func stop() {
        running = false
        stateText = ""
        remainingDelay = nil
    }

    /// Seconds_Behind_Source: NULL when the applier is stopped, or when the receiver is not running and the relay
    /// log is used up; 0 when caught up; else how old the oldest unapplied transaction is.
    static func secondsBehindSource(applierRunning: Bool, receiver: ReplicaIOState, oldestPendingMillis: UInt64?, hasPending: Bool, nowSeconds: Double) -> Int? {
        guard applierRunning else { return nil }
        if hasPending {
            guard let ms = oldestPendingMillis else { return 0 }
            return max(0, Int(nowSeconds - Double(ms) / 1000))
        }
        return receiver == .yes ? 0 : nil
    }
}
