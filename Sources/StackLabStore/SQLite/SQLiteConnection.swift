import CSQLite
import Foundation

/// An error SQLite returned: its extended result code and message.
struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    var code: Int32
    var message: String

    /// The primary result code (SQLITE_BUSY for SQLITE_BUSY_SNAPSHOT, …).
    var primary: Int32 { code & 0xFF }
    var description: String { "SQLite error \(code): \(message)" }

    /// What a MySQL client is told when SQLite refuses. A transaction whose snapshot is older than the latest commit
    /// cannot start writing (SQLITE_BUSY_SNAPSHOT): InnoDB would have chosen it as a deadlock victim, so it gets
    /// 1213 and must restart. Waiting in vain for SQLite's single writer is InnoDB's lock wait timeout, 1205.
    var storeError: StoreError {
        switch code {
        case SH_SQLITE_BUSY_SNAPSHOT:
            return StoreError(code: 1213, sqlState: "40001", message: "Deadlock found when trying to get lock; try restarting transaction")
        case _ where primary == SQLITE_BUSY || primary == SQLITE_LOCKED:
            return WriteLock.timeoutError()
        case _ where primary == SQLITE_FULL:
            return StoreError(code: 1114, sqlState: "HY000", message: "The table is full")
        case _ where primary == SQLITE_TOOBIG:
            return StoreError(code: 1301, sqlState: "HY000", message: "Result of a value was larger than max_allowed_packet - truncated")
        case _ where primary == SQLITE_NOMEM:
            return StoreError.outOfMemory(needed: 0)
        default:
            return StoreError(code: 1030, sqlState: "HY000", message: "Got error \(code) \"\(message)\" from storage engine SQLite")
        }
    }
}

/// One connection to SQLite: a main database plus the databases attached by name. A connection is used by one
/// thread at a time (SQLite's multi-thread mode, SQLITE_OPEN_NOMUTEX): whoever owns it serializes its calls.
///
/// Every call blocks (disk, and other connections' locks for as long as `busyTimeout`): never call one on a NIO
/// event loop.
final class SQLiteConnection {
    let handle: OpaquePointer
    /// The error a Swift function or collation raised during the statement being stepped: the statement fails with
    /// it rather than with SQLite's generic text.
    fileprivate var raised: Error?
    /// Functions and collations registered on this connection, kept alive as long as it is.
    private var registered: [AnyObject] = []
    /// Prepared statements by their SQL: the store binds every literal, so one text serves every value.
    private var statements: [String: SQLiteStatement] = [:]
    static let statementCacheSize = 128

    /// Opens (creating when missing) the database file at `path`, or an in-memory database for ":memory:".
    init(path: String) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        // Until a session sets innodb_lock_wait_timeout: a lock held for a moment (another connection's checkpoint
        // as it closes, a commit in progress) is waited for, not an error at once.
        sqlite3_busy_timeout(db, Self.defaultBusyMilliseconds)
    }

    static let defaultBusyMilliseconds: Int32 = 10_000

    /// What a killed process leaves: every statement stopped and the open transaction rolled back, so no lock of
    /// this connection outlives it (a kill -9 releases a process's locks; a store crashed inside this process
    /// must not hold them either).
    func abandon() {
        var statement = sqlite3_next_stmt(handle, nil)
        while let current = statement {
            sqlite3_reset(current)
            statement = sqlite3_next_stmt(handle, current)
        }
        if sqlite3_get_autocommit(handle) == 0 { _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    // MARK: - Settings

    /// WAL: readers never block the writer and each transaction reads one consistent snapshot.
    func useWriteAheadLog(schema: String = "main") throws {
        let mode = try query("PRAGMA \(Self.quote(schema)).journal_mode=WAL").first?.first?.text ?? ""
        guard mode.lowercased() == "wal" || path(schema) == nil else {
            throw SQLiteError(code: SQLITE_ERROR, message: "journal_mode WAL refused (\(mode))")
        }
    }

    /// innodb_flush_log_at_trx_commit's promise, as SQLite keeps it in WAL mode: 1 syncs the log at every commit
    /// (FULL); 0 and 2 leave the last commits to the operating system (NORMAL: a crash of the machine, not of the
    /// process, may lose them).
    func setSynchronous(flushLogAtTrxCommit: Int, schema: String = "main") throws {
        try execute("PRAGMA \(Self.quote(schema)).synchronous=\(flushLogAtTrxCommit == 1 ? "FULL" : "NORMAL")")
    }

    /// How long a statement waits for another connection's write lock before SQLITE_BUSY.
    func setBusyTimeout(milliseconds: Int) {
        sqlite3_busy_timeout(handle, Int32(clamping: max(0, milliseconds)))
    }

    /// Attaches the database file at `path` as `name`, so `name.table` resolves in SQL.
    func attach(_ path: String, as name: String) throws {
        statements = [:]
        let s = try prepare("ATTACH DATABASE ? AS \(Self.quote(name))")
        try s.bind([.string(path)])
        _ = try s.step()
    }

    func detach(_ name: String) throws {
        statements = [:]
        try execute("DETACH DATABASE \(Self.quote(name))")
    }

    /// The file behind an attached schema; nil for an in-memory or temporary one.
    func path(_ schema: String) -> String? {
        guard let p = sqlite3_db_filename(handle, schema) else { return nil }
        let s = String(cString: p)
        return s.isEmpty ? nil : s
    }

    /// The schemas attached now, main and temp included.
    var schemas: [String] {
        ((try? query("PRAGMA database_list")) ?? []).compactMap { $0.count > 1 ? $0[1].text : nil }
    }

    // MARK: - Statements

    /// Runs SQL text without results (several statements may be separated by semicolons).
    func execute(_ sql: String) throws {
        raised = nil
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        defer { sqlite3_free(error) }
        if rc != SQLITE_OK { throw failure(rc, message: error.map { String(cString: $0) }) }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, 0, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw failure(rc == SQLITE_OK ? SQLITE_MISUSE : rc)
        }
        return SQLiteStatement(connection: self, handle: statement)
    }

    /// A prepared statement for `sql`, kept for the next time the same text runs (SQLite prepares it again by
    /// itself when the schema changed meanwhile).
    func cached(_ sql: String) throws -> SQLiteStatement {
        if let s = statements[sql] { return s }
        let s = try prepare(sql)
        if statements.count >= Self.statementCacheSize { statements = [:] }
        statements[sql] = s
        return s
    }

    /// Runs one statement with its parameters and returns every row. The statement is reset afterwards, so it
    /// holds no snapshot open.
    func query(_ sql: String, _ parameters: [SQLValue] = []) throws -> [[SQLValue]] {
        let s = try cached(sql)
        try s.bind(parameters)
        defer { s.reset() }
        var rows: [[SQLValue]] = []
        while try s.step() { rows.append(s.row) }
        return rows
    }

    /// Rows the last INSERT, UPDATE or DELETE changed.
    var changes: Int64 { sqlite3_changes64(handle) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    /// Whether a transaction is open (BEGIN without COMMIT or ROLLBACK yet).
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// The error for a result code: what a Swift function raised, else SQLite's own.
    func failure(_ rc: Int32, message: String? = nil) -> Error {
        if let raised {
            self.raised = nil
            return raised
        }
        let code = rc == SQLITE_ERROR ? sqlite3_extended_errcode(handle) : rc
        return SQLiteError(code: code, message: message ?? String(cString: sqlite3_errmsg(handle)))
    }

    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: - Functions and collations

    /// Registers `name` as an SQL function of `arguments` arguments (-1: any number). A thrown error fails the
    /// statement with that error. `deterministic` lets SQLite use the function in indexes and fold constants.
    func createFunction(_ name: String, arguments: Int32 = -1, deterministic: Bool = true,
                        _ body: @escaping ([SQLValue]) throws -> SQLValue) throws {
        let box = FunctionBox(connection: self, body: body)
        registered.append(box)
        let flags = SQLITE_UTF8 | (deterministic ? SQLITE_DETERMINISTIC : 0)
        let rc = sqlite3_create_function_v2(handle, name, arguments, flags, Unmanaged.passUnretained(box).toOpaque(), { context, count, values in
            guard let context, let box = sqlite3_user_data(context).map({ Unmanaged<FunctionBox>.fromOpaque($0).takeUnretainedValue() }) else { return }
            var arguments: [SQLValue] = []
            arguments.reserveCapacity(Int(count))
            for i in 0..<Int(count) { arguments.append(SQLValue(sqlite: values?[i])) }
            do {
                try box.body(arguments).result(context)
            } catch {
                box.connection?.raised = error
                sqlite3_result_error(context, "\(error)", -1)
            }
        }, nil, nil, nil)
        if rc != SQLITE_OK { throw failure(rc) }
    }

    /// Registers `name` as an aggregate function: `make` starts the state of one group, `step` adds a row's
    /// arguments to it and `final` gives the group's value.
    func createAggregate(_ name: String, arguments: Int32 = 1, make: @escaping () -> any SQLiteAggregate) throws {
        let box = AggregateBox(connection: self, make: make)
        registered.append(box)
        let rc = sqlite3_create_function_v2(handle, name, arguments, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                            Unmanaged.passUnretained(box).toOpaque(), nil, { context, count, values in
            guard let context, let box = sqlite3_user_data(context).map({ Unmanaged<AggregateBox>.fromOpaque($0).takeUnretainedValue() }),
                  let state = AggregateBox.state(context, create: box.make) else { return }
            var arguments: [SQLValue] = []
            for i in 0..<Int(count) { arguments.append(SQLValue(sqlite: values?[i])) }
            do {
                try state.step(arguments)
            } catch {
                box.connection?.raised = error
                sqlite3_result_error(context, "\(error)", -1)
            }
        }, { context in
            guard let context, let box = sqlite3_user_data(context).map({ Unmanaged<AggregateBox>.fromOpaque($0).takeUnretainedValue() }) else { return }
            // A group without rows has no state yet: the aggregate of nothing.
            let state = AggregateBox.take(context) ?? box.make()
            do {
                try state.final().result(context)
            } catch {
                box.connection?.raised = error
                sqlite3_result_error(context, "\(error)", -1)
            }
        }, nil)
        if rc != SQLITE_OK { throw failure(rc) }
    }

    /// Registers a collation: `compare` orders two texts (negative, zero, positive).
    func createCollation(_ name: String, _ compare: @escaping (String, String) -> Int) throws {
        let box = CollationBox(compare: compare)
        registered.append(box)
        let rc = sqlite3_create_collation_v2(handle, name, SQLITE_UTF8, Unmanaged.passUnretained(box).toOpaque(), { context, la, a, lb, b in
            guard let context else { return 0 }
            let box = Unmanaged<CollationBox>.fromOpaque(context).takeUnretainedValue()
            let x = String(decoding: UnsafeRawBufferPointer(start: a, count: Int(max(0, la))), as: UTF8.self)
            let y = String(decoding: UnsafeRawBufferPointer(start: b, count: Int(max(0, lb))), as: UTF8.self)
            return Int32(clamping: box.compare(x, y))
        }, nil)
        if rc != SQLITE_OK { throw failure(rc) }
    }
}

private final class FunctionBox {
    weak var connection: SQLiteConnection?
    let body: ([SQLValue]) throws -> SQLValue
    init(connection: SQLiteConnection, body: @escaping ([SQLValue]) throws -> SQLValue) {
        self.connection = connection
        self.body = body
    }
}

/// The running state of one group of an aggregate function.
protocol SQLiteAggregate: AnyObject {
    func step(_ arguments: [SQLValue]) throws
    func final() throws -> SQLValue
}

private final class AggregateBox {
    weak var connection: SQLiteConnection?
    let make: () -> any SQLiteAggregate
    init(connection: SQLiteConnection, make: @escaping () -> any SQLiteAggregate) {
        self.connection = connection
        self.make = make
    }

    /// SQLite keeps one pointer-sized slot per group: it holds the retained Swift state.
    private final class Holder {
        let state: any SQLiteAggregate
        init(_ state: any SQLiteAggregate) { self.state = state }
    }

    static func state(_ context: OpaquePointer, create: () -> any SQLiteAggregate) -> (any SQLiteAggregate)? {
        guard let slot = sqlite3_aggregate_context(context, Int32(MemoryLayout<UnsafeMutableRawPointer?>.size)) else { return nil }
        let pointer = slot.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        if let existing = pointer.pointee { return Unmanaged<Holder>.fromOpaque(existing).takeUnretainedValue().state }
        let holder = Holder(create())
        pointer.pointee = Unmanaged.passRetained(holder).toOpaque()
        return holder.state
    }

    /// The group's state, released from its slot (xFinal runs once per group).
    static func take(_ context: OpaquePointer) -> (any SQLiteAggregate)? {
        guard let slot = sqlite3_aggregate_context(context, 0) else { return nil }
        let pointer = slot.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        guard let existing = pointer.pointee else { return nil }
        pointer.pointee = nil
        return Unmanaged<Holder>.fromOpaque(existing).takeRetainedValue().state
    }
}

private final class CollationBox {
    let compare: (String, String) -> Int
    init(compare: @escaping (String, String) -> Int) { self.compare = compare }
}

/// A prepared statement of one connection. Finalized when released.
final class SQLiteStatement {
    /// Unowned: the connection keeps its cached statements, and a strong reference back would keep every
    /// connection (and its open files) alive forever. A statement is used only while its connection is.
    unowned let connection: SQLiteConnection
    let handle: OpaquePointer

    fileprivate init(connection: SQLiteConnection, handle: OpaquePointer) {
        self.connection = connection
        self.handle = handle
    }

    deinit { sqlite3_finalize(handle) }

    var columnCount: Int { Int(sqlite3_column_count(handle)) }
    var columnNames: [String] { (0..<Int32(columnCount)).map { sqlite3_column_name(handle, $0).map { String(cString: $0) } ?? "" } }
    /// Whether the statement only reads (SELECT, most PRAGMAs).
    var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    /// Binds parameters 1…n; resets the statement first, so it can run again.
    func bind(_ values: [SQLValue]) throws {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (i, v) in values.enumerated() {
            let rc = v.bind(handle, Int32(i + 1))
            if rc != SQLITE_OK { throw connection.failure(rc) }
        }
    }

    /// Ends the statement's run (and the read it holds) before it is done or after.
    func reset() { sqlite3_reset(handle) }

    /// Steps once: true when a row is ready (read it with `row`), false when the statement is done.
    func step() throws -> Bool {
        connection.raised = nil
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = connection.failure(rc)
            sqlite3_reset(handle)
            throw error
        }
    }

    var row: [SQLValue] {
        (0..<Int32(columnCount)).map { SQLValue(sqlite: sqlite3_column_value(handle, $0)) }
    }
}

// MARK: - Values

/// How the store's values cross SQLite. Integers, doubles and texts are SQLite's own; a DECIMAL or a BIGINT
/// UNSIGNED past SQLite's signed 64 bits travels between functions as a tagged BLOB (`0x01 'D' scale digits` /
/// `0x01 'U' digits`), which SQLite passes through subqueries, sorts and groups untouched.
extension SQLValue {
    static let tag: UInt8 = 0x01

    init(sqlite value: OpaquePointer?) {
        guard let value else { self = .null; return }
        switch sqlite3_value_type(value) {
        case SQLITE_INTEGER: self = .int(sqlite3_value_int64(value))
        case SQLITE_FLOAT: self = .double(sqlite3_value_double(value))
        case SQLITE_TEXT:
            let n = Int(sqlite3_value_bytes(value))
            guard let p = sqlite3_value_text(value) else { self = .string(""); return }
            self = .string(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        case SQLITE_BLOB:
            let n = Int(sqlite3_value_bytes(value))
            guard let p = sqlite3_value_blob(value), n > 0 else { self = .string(""); return }
            let bytes = [UInt8](UnsafeRawBufferPointer(start: p, count: n))
            self = Self.untag(bytes) ?? .string(String(decoding: bytes, as: UTF8.self))
        default: self = .null
        }
    }

    /// The tagged form of a DECIMAL or an unsigned value; nil for the types SQLite holds itself.
    var tagged: [UInt8]? {
        switch self {
        case .decimal(let d, let scale):
            return [Self.tag, UInt8(ascii: "D"), UInt8(clamping: scale)] + Array(Self.format(d, scale: scale).utf8)
        case .uint(let u) where u > UInt64(Int64.max):
            return [Self.tag, UInt8(ascii: "U")] + Array(String(u).utf8)
        default: return nil
        }
    }

    static func untag(_ bytes: [UInt8]) -> SQLValue? {
        guard bytes.count >= 3, bytes[0] == tag else { return nil }
        switch bytes[1] {
        case UInt8(ascii: "D"):
            let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
            guard let d = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
            return .decimal(d, scale: Int(bytes[2]))
        case UInt8(ascii: "U"):
            return UInt64(String(decoding: bytes.dropFirst(2), as: UTF8.self)).map { .uint($0) }
        default: return nil
        }
    }

    fileprivate func bind(_ statement: OpaquePointer, _ i: Int32) -> Int32 {
        if let t = tagged { return t.withUnsafeBytes { sh_sqlite3_bind_blob(statement, i, $0.baseAddress, Int32($0.count)) } }
        switch self {
        case .null: return sqlite3_bind_null(statement, i)
        case .int(let v): return sqlite3_bind_int64(statement, i, v)
        case .uint(let u): return sqlite3_bind_int64(statement, i, Int64(u))
        case .double(let d): return sqlite3_bind_double(statement, i, d)
        case .string(let s):
            var s = s
            return s.withUTF8 { b in b.withMemoryRebound(to: CChar.self) { sh_sqlite3_bind_text(statement, i, $0.baseAddress, Int32(clamping: $0.count)) } }
        case .decimal: return sqlite3_bind_null(statement, i)  // always tagged above
        }
    }

    fileprivate func result(_ context: OpaquePointer) {
        if let t = tagged {
            t.withUnsafeBytes { sh_sqlite3_result_blob(context, $0.baseAddress, Int32($0.count)) }
            return
        }
        switch self {
        case .null: sqlite3_result_null(context)
        case .int(let v): sqlite3_result_int64(context, v)
        case .uint(let u): sqlite3_result_int64(context, Int64(u))
        case .double(let d): sqlite3_result_double(context, d)
        case .string(let s):
            var s = s
            s.withUTF8 { b in b.withMemoryRebound(to: CChar.self) { sh_sqlite3_result_text(context, $0.baseAddress, Int32(clamping: $0.count)) } }
        case .decimal: sqlite3_result_null(context)  // always tagged above
        }
    }
}
