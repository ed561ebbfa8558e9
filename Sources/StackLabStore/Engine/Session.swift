/// One client's state: who it is, its current database, its last insert id.
struct Session: Sendable {
    var connectionID: UInt32
    var user: String
    /// The client's address as MySQL reports it in errors ('app'@'127.0.0.1').
    var host: String
    var account: Account
    var database: String?
    var lastInsertID: Int64 = 0
    /// ROW_COUNT(): the rows the previous statement changed; -1 after a SELECT or an error, 0 after DDL.
    var rowCount: Int64 = -1
    var userVariables: [String: SQLValue] = [:]
    /// The previous statement's notes, warnings or error, for SHOW WARNINGS.
    var lastWarnings: [StoreWarning] = []
    /// Set when the replication applier or crash recovery repeats a logged transaction.
    var replay: Replay?
    /// The session's wait_timeout: the global wait_timeout, or interactive_timeout for an interactive client, at
    /// login; SET SESSION wait_timeout changes it. Nil for in-process sessions, which have no connection.
    var waitTimeout: Int?
    /// SET autocommit: when off, the first statement that reads or changes rows opens a transaction.
    var autocommit = true
    /// SET SESSION innodb_lock_wait_timeout; nil follows the global value.
    var lockWaitTimeout: Int?
    /// The open transaction (BEGIN, START TRANSACTION, or autocommit=0), if any.
    var transaction: Transaction?
    /// The session's own SQLite connection, opened at its first statement.
    var connection: SessionConnection?

    var isSuper: Bool { account.isSuper }

    static func root(connectionID: UInt32 = 0) -> Session {
        Session(connectionID: connectionID, user: "root", host: "localhost",
                account: Account(name: "root", host: "localhost", password: "", isSuper: true))
    }
}

/// The context of a logged transaction being repeated: its AUTO_INCREMENT start, its clock and its GTID.
struct Replay: Sendable {
    var insertID: Int64
    var millis: UInt64
    var gtid: (uuid: String, gno: Int64)?
    var source: SourcePosition?
    /// The applier writes to this server's binlog (log_replica_updates=ON); recovery does not (already there).
    var writeBinlog: Bool
}

/// A statement's outcome plus, for a write, where it landed in the binlog (what semi-sync waits for).
struct Executed: Sendable {
    var result: StoreResult
    var commit: (file: String, position: UInt64)?
    /// SELECT SLEEP(n): the answer is held back this many seconds (without blocking anyone else).
    var delaySeconds: Double = 0
}

/// One statement as the binlog keeps it: enough to repeat it exactly.
struct LoggedStatement: Sendable, Codable {
    var db: String?
    var sql: String
    var insertID: Int64
    var millis: UInt64
}

/// An open transaction: SQLite's, on the session's connection. Other sessions' connections read the last
/// committed rows, so they never see uncommitted ones; at COMMIT its statements reach the binlog as one GTID and
/// SQLite commits its rows with that GTID; at ROLLBACK SQLite drops them.
///
/// SQLite takes the snapshot at the first statement that reads rows (InnoDB's consistent snapshot, REPEATABLE
/// READ). Writers take the store's write lock, held to the end of the transaction, so no one else commits under a
/// transaction that has written. The first write of a transaction that has only read so far starts again from the
/// latest committed rows, as InnoDB's writes (locking reads) do.
struct Transaction: Sendable {
    var readOnly: Bool
    /// Statements that changed something, in order, for the binlog at COMMIT.
    var statements: [LoggedStatement] = []
    var holdsWriteLock = false
    var savepoints: [Savepoint] = []

    struct Savepoint: Sendable {
        var name: String
        var statements: Int
    }

    init(readOnly: Bool) { self.readOnly = readOnly }
}

/// Where the applier stood in the source's binlog when it committed a transaction (MySQL keeps this in
/// mysql.slave_relay_log_info, inside the same transaction, so a crash never applies anything twice).
struct SourcePosition: Sendable, Codable, Equatable {
    var file: String
    var position: UInt64
}
