/// A MySQL error as the client shows it: `ERROR 1290 (HY000): The MySQL server is running with …`.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var sqlState: String
    public var message: String

    public init(code: Int, sqlState: String, message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String { "ERROR \(code) (\(sqlState)): \(message)" }
}

/// The server's errors, with MySQL 8's codes, SQLSTATEs and texts (share/messages_to_clients.txt).
extension StoreError {
    static func syntax(near: String, line: Int) -> StoreError {
        StoreError(code: 1064, sqlState: "42000", message: "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '\(String(near.prefix(80)))' at line \(line)")
    }
    static func emptyQuery() -> StoreError { StoreError(code: 1065, sqlState: "42000", message: "Query was empty") }
    static func noSuchTable(_ db: String, _ table: String) -> StoreError {
        StoreError(code: 1146, sqlState: "42S02", message: "Table '\(db).\(table)' doesn't exist")
    }
    static func unknownColumn(_ name: String, in clause: String) -> StoreError {
        StoreError(code: 1054, sqlState: "42S22", message: "Unknown column '\(name)' in '\(clause)'")
    }
    static func duplicateEntry(_ value: String, key: String) -> StoreError {
        StoreError(code: 1062, sqlState: "23000", message: "Duplicate entry '\(value)' for key '\(key)'")
    }
    static func unknownDatabase(_ db: String) -> StoreError {
        StoreError(code: 1049, sqlState: "42000", message: "Unknown database '\(db)'")
    }
    static func noDatabaseSelected() -> StoreError { StoreError(code: 1046, sqlState: "3D000", message: "No database selected") }
    static func readOnly(superReadOnly: Bool) -> StoreError {
        StoreError(code: 1290, sqlState: "HY000", message: "The MySQL server is running with the \(superReadOnly ? "--super-read-only" : "--read-only") option so it cannot execute this statement")
    }
    static func notSupported(_ what: String) -> StoreError {
        StoreError(code: 1235, sqlState: "42000", message: "This version of MySQL doesn't yet support '\(what)'")
    }
    static func accessDenied(user: String, host: String, usingPassword: Bool) -> StoreError {
        StoreError(code: 1045, sqlState: "28000", message: "Access denied for user '\(user)'@'\(host)' (using password: \(usingPassword ? "YES" : "NO"))")
    }
    static func databaseExists(_ db: String) -> StoreError {
        StoreError(code: 1007, sqlState: "HY000", message: "Can't create database '\(db)'; database exists")
    }
    static func databaseMissing(_ db: String) -> StoreError {
        StoreError(code: 1008, sqlState: "HY000", message: "Can't drop database '\(db)'; database doesn't exist")
    }
    static func tableExists(_ table: String) -> StoreError {
        StoreError(code: 1050, sqlState: "42S01", message: "Table '\(table)' already exists")
    }
    static func unknownTable(_ name: String) -> StoreError {
        StoreError(code: 1051, sqlState: "42S02", message: "Unknown table '\(name)'")
    }
    static func columnCountMismatch(row: Int) -> StoreError {
        StoreError(code: 1136, sqlState: "21S01", message: "Column count doesn't match value count at row \(row)")
    }
    static func cannotBeNull(_ column: String) -> StoreError {
        StoreError(code: 1048, sqlState: "23000", message: "Column '\(column)' cannot be null")
    }
    static func noDefault(_ column: String) -> StoreError {
        StoreError(code: 1364, sqlState: "HY000", message: "Field '\(column)' doesn't have a default value")
    }
    static func dataTooLong(_ column: String, row: Int) -> StoreError {
        StoreError(code: 1406, sqlState: "22001", message: "Data too long for column '\(column)' at row \(row)")
    }
    static func outOfRange(_ column: String, row: Int) -> StoreError {
        StoreError(code: 1264, sqlState: "22003", message: "Out of range value for column '\(column)' at row \(row)")
    }
    static func incorrectInteger(_ value: String, column: String, row: Int) -> StoreError {
        StoreError(code: 1366, sqlState: "HY000", message: "Incorrect integer value: '\(value)' for column '\(column)' at row \(row)")
    }
    static func incorrectDatetime(_ value: String, column: String, row: Int) -> StoreError {
        StoreError(code: 1292, sqlState: "22007", message: "Incorrect datetime value: '\(value)' for column '\(column)' at row \(row)")
    }
    static func displayWidthOutOfRange(_ column: String, max: UInt64) -> StoreError {
        StoreError(code: 1439, sqlState: "42000", message: "Display width out of range for column '\(column)' (max = \(max))")
    }
    static func columnTooLong(_ column: String, max: UInt64) -> StoreError {
        StoreError(code: 1074, sqlState: "42000", message: "Column length too big for column '\(column)' (max = \(max)); use BLOB or TEXT instead")
    }
    static func tooManyColumns() -> StoreError { StoreError(code: 1117, sqlState: "HY000", message: "Too many columns") }
    static func duplicateColumn(_ name: String) -> StoreError {
        StoreError(code: 1060, sqlState: "42S21", message: "Duplicate column name '\(name)'")
    }
    static func multiplePrimaryKey() -> StoreError {
        StoreError(code: 1068, sqlState: "42000", message: "Multiple primary key defined")
    }
    static func autoIncrementMustBeKey() -> StoreError {
        StoreError(code: 1075, sqlState: "42000", message: "Incorrect table definition; there can be only one auto column and it must be defined as a key")
    }
    static func keyColumnMissing(_ name: String) -> StoreError {
        StoreError(code: 1072, sqlState: "42000", message: "Key column '\(name)' doesn't exist in table")
    }
    static func commandDenied(_ command: String, user: String, host: String, table: String) -> StoreError {
        StoreError(code: 1142, sqlState: "42000", message: "\(command) command denied to user '\(user)'@'\(host)' for table '\(table)'")
    }
    static func databaseDenied(user: String, host: String, db: String) -> StoreError {
        StoreError(code: 1044, sqlState: "42000", message: "Access denied for user '\(user)'@'\(host)' to database '\(db)'")
    }
    static func specificDenied(_ privilege: String) -> StoreError {
        StoreError(code: 1227, sqlState: "42000", message: "Access denied; you need (at least one of) the \(privilege) privilege(s) for this operation")
    }
    static func unknownSystemVariable(_ name: String) -> StoreError {
        StoreError(code: 1193, sqlState: "HY000", message: "Unknown system variable '\(name)'")
    }
    static func globalVariable(_ name: String) -> StoreError {
        StoreError(code: 1229, sqlState: "HY000", message: "Variable '\(name)' is a GLOBAL variable and should be set with SET GLOBAL")
    }
    static func wrongValue(_ name: String, _ value: String) -> StoreError {
        StoreError(code: 1231, sqlState: "42000", message: "Variable '\(name)' can't be set to the value of '\(value)'")
    }
    static func operationFailed(_ op: String, _ who: String) -> StoreError {
        StoreError(code: 1396, sqlState: "HY000", message: "Operation \(op) failed for \(who)")
    }
    static func badHandshake() -> StoreError { StoreError(code: 1043, sqlState: "08S01", message: "Bad handshake") }
    static func tooManyConnections() -> StoreError { StoreError(code: 1040, sqlState: "08004", message: "Too many connections") }
    /// ER_OUTOFMEMORY: what mysqld answers when a statement cannot have the memory it needs.
    static func outOfMemory(needed: Int) -> StoreError {
        StoreError(code: 1037, sqlState: "HY001", message: "Out of memory; restart server and try again (needed \(needed) bytes)")
    }
    static func unknownCommand() -> StoreError { StoreError(code: 1047, sqlState: "08S01", message: "Unknown command") }
    static func malformedPacket() -> StoreError { StoreError(code: 1835, sqlState: "HY000", message: "Malformed communication packet.") }
    static func replicaRunning() -> StoreError {
        StoreError(code: 3081, sqlState: "HY000", message: "This operation cannot be performed with running replication threads; run STOP SLAVE FOR CHANNEL '' first")
    }
    static func replicaNotConfigured() -> StoreError {
        StoreError(code: 3080, sqlState: "HY000", message: "Replica is not configured or failed to initialize properly. You must at least set --server-id to enable either a source or a replica. Additional error messages can be found in the MySQL error log.")
    }
    static func invalidUseOfNull() -> StoreError { StoreError(code: 1138, sqlState: "22004", message: "Invalid use of NULL value") }
    static func nonUniq(_ column: String, in clause: String) -> StoreError {
        StoreError(code: 1052, sqlState: "23000", message: "Column '\(column)' in \(clause) is ambiguous")
    }
    static func invalidGroup() -> StoreError {
        StoreError(code: 1140, sqlState: "42000", message: "In aggregated query without GROUP BY, expression #1 of SELECT list contains nonaggregated column; this is incompatible with sql_mode=only_full_group_by")
    }
    static func divisionByZero() -> StoreError { StoreError(code: 1365, sqlState: "22012", message: "Division by 0") }
    static func unknownFunction(_ name: String, db: String?) -> StoreError {
        if let db { return StoreError(code: 1305, sqlState: "42000", message: "FUNCTION \(db).\(name) does not exist") }
        return StoreError(code: 1046, sqlState: "3D000", message: "No database selected")
    }
}

/// A failure to reach or keep the server, as the client library reports it (CR_CONN_HOST_ERROR 2003,
/// CR_SERVER_LOST 2013).
public struct StoreConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "ERROR \(code) (HY000): \(message)" }

    public static func cannotConnect(host: String, port: Int, errno: Int32 = 111) -> StoreConnectionError {
        StoreConnectionError(code: 2003, message: "Can't connect to MySQL server on '\(host):\(port)' (\(errno))")
    }
    public static func lostConnection() -> StoreConnectionError {
        StoreConnectionError(code: 2013, message: "Lost connection to MySQL server during query")
    }
    public static func goneAway() -> StoreConnectionError {
        StoreConnectionError(code: 2006, message: "MySQL server has gone away")
    }
}
