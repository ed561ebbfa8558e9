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
    var writeRedo: Bool
}

/// A statement's outcome plus, for a write, where it landed in the binlog (what semi-sync waits for).
struct Executed: Sendable {
    var result: StoreResult
    var commit: (file: String, position: UInt64)?
    /// SELECT SLEEP(n): the answer is held back this many seconds (without blocking anyone else).
    var delaySeconds: Double = 0
}
