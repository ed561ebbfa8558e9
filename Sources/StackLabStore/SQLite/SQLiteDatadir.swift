import CSQLite
import Foundation

/// A table's definition in the store's own dictionary: MySQL's column types, keys and indexes, and the
/// AUTO_INCREMENT counter. SQLite holds the rows; this says what they mean.
struct TableDefinition: Sendable, Codable, Equatable {
    var name: String
    var columns: [Column]
    var indexes: [UniqueIndex]
    var plainIndexes: [PlainIndex]
    var autoIncrement: Int64

    init(_ table: Table) {
        name = table.name
        columns = table.columns
        indexes = table.indexes
        plainIndexes = table.plainIndexes ?? []
        autoIncrement = table.autoIncrement
    }

    /// The definition as a table of the dictionary, without rows.
    var table: Table {
        var t = Table(name: name, columns: columns, indexes: indexes, autoIncrement: autoIncrement)
        t.plainIndexes = plainIndexes
        return t
    }
}

/// What a data directory holds when the store starts: the dictionary of every database, every GTID committed
/// (the union of each file's `/gtid_executed`), and the source position the applier last committed.
struct RecoveredDatadir: Sendable {
    var databases: [String: [TableDefinition]] = [:]
    var accounts: [Account] = []
    var gtidExecuted = GTIDSet()
    var source: SourcePosition?
}

/// The store's data directory on SQLite: each MySQL database is its own file, `<datadir>/<name>.sqlite` (the name
/// in MySQL's file-name encoding), in WAL mode. A session's connection attaches every database by its MySQL name,
/// so `foobar.posts` and `mysql.user` resolve in SQL as they do in MySQL.
///
/// Each file carries, beside the tables, what must commit in the same SQLite transaction as their rows:
/// - `/dictionary`: the MySQL definition (`TableDefinition` as JSON) of each table in the file;
/// - `/gtid_executed`: the GTIDs of the transactions that wrote to the file (mysql.gtid_executed's columns);
/// - `/applied`: the source position the replication applier reached with its last transaction here
///   (mysql.slave_relay_log_info);
/// - `/accounts`, in `mysql` only: the accounts and their grants (mysql.user and mysql.db), one JSON `Account`
///   per user and host.
/// MySQL identifiers cannot hold '/', so none of these meets a learner's table.
///
/// A commit that writes to several files is atomic in each file, not across them (SQLite in WAL mode): a crash in
/// the middle of it can keep one file's half. The store's write lock lets one writing transaction at a time run,
/// so the files never disagree otherwise.
final class SQLiteDatadir: Sendable {
    let directory: String
    /// innodb_flush_log_at_trx_commit: 1 syncs the log at every commit; 0 and 2 leave the last commits to the
    /// operating system.
    let flushLogAtTrxCommit: Int
    static let systemDatabase = "mysql"
    static let fileExtension = ".sqlite"

    init(directory: String, flushLogAtTrxCommit: Int) throws {
        self.directory = directory
        self.flushLogAtTrxCommit = flushLogAtTrxCommit
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if !exists(Self.systemDatabase) { try create(Self.systemDatabase) }
    }

    // MARK: - Files

    /// MySQL's file name for a database (filename.cc): letters, digits and '_' stay; anything else is '@' and
    /// four hexadecimal digits of its UTF-16 code unit ('my-db' is 'my@002ddb').
    static func fileName(_ database: String) -> String {
        var out = ""
        for unit in database.utf16 {
            if let scalar = Unicode.Scalar(unit), scalar.isASCII,
               scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)) || scalar == "_" {
                out.unicodeScalars.append(scalar)
            } else {
                let hex = String(unit, radix: 16)
                out += "@" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            }
        }
        return out + fileExtension
    }

    /// The database a file of the directory holds, or nil when the name is not one `fileName` writes.
    static func databaseName(fileName: String) -> String? {
        guard fileName.hasSuffix(fileExtension) else { return nil }
        let stem = Array(fileName.dropLast(fileExtension.count).utf16)
        guard !stem.isEmpty else { return nil }
        var units: [UInt16] = []
        var i = 0
        while i < stem.count {
            if stem[i] == UInt16(UInt8(ascii: "@")) {
                guard i + 4 < stem.count else { return nil }
                let hex = String(decoding: Array(stem[(i + 1)...(i + 4)]), as: UTF16.self)
                guard let u = UInt16(hex, radix: 16) else { return nil }
                units.append(u)
                i += 5
            } else {
                units.append(stem[i])
                i += 1
            }
        }
        let name = String(decoding: units, as: UTF16.self)
        return Self.fileName(name) == fileName ? name : nil
    }

    func path(_ database: String) -> String { directory + "/" + Self.fileName(database) }

    func exists(_ database: String) -> Bool { FileManager.default.fileExists(atPath: path(database)) }

    /// Every database of the directory, `mysql` among them.
    func databaseNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.compactMap(Self.databaseName(fileName:)).sorted()
    }

    /// CREATE DATABASE: a new file with the store's own tables, in WAL mode.
    func create(_ database: String) throws {
        let file = path(database)
        let connection = try SQLiteConnection(path: file)
        do {
            try connection.useWriteAheadLog()
            try connection.setSynchronous(flushLogAtTrxCommit: flushLogAtTrxCommit)
            try connection.execute("""
                BEGIN;
                CREATE TABLE IF NOT EXISTS "/dictionary" (name TEXT PRIMARY KEY, definition TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS "/gtid_executed" (source_uuid TEXT NOT NULL, interval_start INTEGER NOT NULL,
                    interval_end INTEGER NOT NULL, PRIMARY KEY (source_uuid, interval_start));
                CREATE TABLE IF NOT EXISTS "/applied" (id INTEGER PRIMARY KEY CHECK (id = 1), file TEXT NOT NULL, position INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS "/accounts" (user TEXT NOT NULL, host TEXT NOT NULL, account TEXT NOT NULL, PRIMARY KEY (user, host));
                COMMIT;
                """)
        } catch {
            try? FileManager.default.removeItem(atPath: file)
            throw error
        }
    }

    /// DROP DATABASE: the file and its write-ahead log go. Sessions that still have it attached detach it before
    /// their next statement (`SQLiteSession.refreshAttachments`).
    func drop(_ database: String) throws {
        for suffix in ["", "-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: path(database) + suffix) {
            try FileManager.default.removeItem(atPath: path(database) + suffix)
        }
    }

    /// A connection for one MySQL session: every database attached by name, MySQL's functions and collation
    /// registered by `register`.
    func openSession(lockWaitTimeoutSeconds: Int, register: (SQLiteConnection) throws -> Void = { _ in }) throws -> SQLiteSession {
        let connection = try SQLiteConnection(path: ":memory:")
        try register(connection)
        let session = SQLiteSession(datadir: self, connection: connection)
        session.setLockWaitTimeout(seconds: lockWaitTimeoutSeconds)
        try session.refreshAttachments()
        return session
    }

    // MARK: - Start

    /// Reads the dictionary, the GTIDs and the applier's position out of every file, folding each file's
    /// `/gtid_executed` into intervals as MySQL compresses mysql.gtid_executed.
    func recover() throws -> RecoveredDatadir {
        var recovered = RecoveredDatadir()
        let decoder = JSONDecoder()
        for name in databaseNames() {
            let connection = try SQLiteConnection(path: path(name))
            try connection.useWriteAheadLog()
            var tables: [TableDefinition] = []
            for row in try connection.query(#"SELECT definition FROM "/dictionary" ORDER BY name"#) {
                guard let text = row.first?.text, let d = try? decoder.decode(TableDefinition.self, from: Data(text.utf8)) else { continue }
                tables.append(d)
            }
            recovered.databases[name] = tables
            if name == Self.systemDatabase {
                for row in try connection.query(#"SELECT account FROM "/accounts" ORDER BY user, host"#) {
                    guard let text = row.first?.text, let a = try? decoder.decode(Account.self, from: Data(text.utf8)) else { continue }
                    recovered.accounts.append(a)
                }
            }
            var gtids = GTIDSet()
            for row in try connection.query(#"SELECT source_uuid, interval_start, interval_end FROM "/gtid_executed""#) {
                guard row.count == 3, let uuid = row[0].text, case .int(let start) = row[1], case .int(let end) = row[2], start <= end else { continue }
                for gno in start...min(end, start + 1_000_000) { gtids.insert(uuid: uuid, gno: gno) }
            }
            try Self.compress(gtids, on: connection, schema: "main")
            recovered.gtidExecuted.formUnion(gtids)
            if let row = try connection.query(#"SELECT file, position FROM "/applied""#).first, row.count == 2,
               let file = row[0].text, case .int(let position) = row[1] {
                let here = SourcePosition(file: file, position: UInt64(clamping: position))
                if let known = recovered.source, (known.file, known.position) >= (here.file, here.position) { continue }
                recovered.source = here
            }
        }
        return recovered
    }

    /// One row per interval of `gtids`, as mysql.gtid_executed holds them once compressed.
    static func compress(_ gtids: GTIDSet, on connection: SQLiteConnection, schema: String) throws {
        let q = SQLiteConnection.quote(schema)
        try connection.execute("BEGIN IMMEDIATE")
        do {
            try connection.execute("DELETE FROM \(q).\"/gtid_executed\"")
            let insert = try connection.prepare("INSERT INTO \(q).\"/gtid_executed\" VALUES (?1, ?2, ?3)")
            for (uuid, ranges) in gtids.intervals {
                for r in ranges {
                    try insert.bind([.string(uuid), .int(r.lowerBound), .int(r.upperBound)])
                    _ = try insert.step()
                }
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }
}

/// One MySQL session's SQLite connection: its own transactions and snapshots (WAL gives each transaction one
/// consistent view, InnoDB's REPEATABLE READ), the databases of the directory attached by name.
///
/// Used by one thread at a time, the session's; every call may block on the disk or on another session's write, so
/// none runs on a NIO event loop.
final class SQLiteSession {
    let datadir: SQLiteDatadir
    let connection: SQLiteConnection
    private(set) var attached: Set<String> = []
    /// Databases this transaction wrote to: each gets the transaction's GTID at COMMIT.
    private(set) var touched: Set<String> = []

    fileprivate init(datadir: SQLiteDatadir, connection: SQLiteConnection) {
        self.datadir = datadir
        self.connection = connection
    }

    /// innodb_lock_wait_timeout: how long a write waits for SQLite's writer lock before ERROR 1205.
    func setLockWaitTimeout(seconds: Int) {
        connection.setBusyTimeout(milliseconds: min(max(0, seconds), 1_073_741_824 / 1000) * 1000)
    }

    var inTransaction: Bool { connection.inTransaction }

    /// Attaches the databases created since the last look and detaches the dropped ones. SQLite attaches nothing
    /// inside a transaction: a database created by another session meanwhile is there from the next transaction.
    func refreshAttachments(dropping doomed: String? = nil) throws {
        guard !connection.inTransaction else { return }
        var present = Set(datadir.databaseNames())
        if let doomed { present.remove(doomed) }
        for gone in attached.subtracting(present) {
            try connection.detach(gone)
            attached.remove(gone)
        }
        for name in present.subtracting(attached).sorted() {
            do {
                try connection.attach(datadir.path(name), as: name)
            } catch let e as SQLiteError where e.message.contains("too many attached") {
                throw StoreError(code: 1040, sqlState: "HY000",
                                 message: "Too many databases: the miniature attaches at most \(Self.attachLimit(connection)) per session")
            }
            try connection.useWriteAheadLog(schema: name)
            try connection.setSynchronous(flushLogAtTrxCommit: datadir.flushLogAtTrxCommit, schema: name)
            attached.insert(name)
        }
    }

    /// How many databases SQLite lets one connection attach (main and temp aside).
    static func attachLimit(_ connection: SQLiteConnection) -> Int {
        Int(sqlite3_limit(connection.handle, SQLITE_LIMIT_ATTACHED, -1))
    }

    // MARK: - Transactions

    /// BEGIN: SQLite's deferred transaction, whose snapshot is taken at the first read, as InnoDB's is.
    func begin() throws {
        try refreshAttachments()
        try connection.execute("BEGIN")
        touched = []
    }

    /// A transaction that writes at once: SQLite's writer lock taken now (the store's write lock is already held,
    /// so no one else waits for it).
    func beginImmediate() throws {
        try connection.execute("BEGIN IMMEDIATE")
        touched = []
    }

    /// COMMIT with a GTID and position for a statement that ran outside a transaction (CREATE and DROP DATABASE,
    /// a position the applier moved past): a transaction of its own when none is open.
    func commitRecording(gtid: (uuid: String, gno: Int64)?, source: SourcePosition?) throws {
        if !connection.inTransaction {
            try connection.execute("BEGIN IMMEDIATE")
            touched = []
        }
        try commit(gtid: gtid, source: source)
    }

    /// START TRANSACTION WITH CONSISTENT SNAPSHOT: the snapshot of every database is taken now.
    func beginWithSnapshot() throws {
        try begin()
        for name in attached.sorted() {
            _ = try connection.query("SELECT count(*) FROM \(SQLiteConnection.quote(name)).sqlite_schema")
        }
    }

    /// Marks `database` as written by the open transaction (its GTID goes there at COMMIT).
    func wrote(_ database: String) { touched.insert(database) }

    /// COMMIT: the GTID (and the applier's position) enter every database the transaction wrote to, in the same
    /// SQLite transaction as its rows; a transaction that wrote nothing records them in `mysql`.
    func commit(gtid: (uuid: String, gno: Int64)?, source: SourcePosition?) throws {
        guard connection.inTransaction else { return }
        do {
            let targets = touched.isEmpty ? [SQLiteDatadir.systemDatabase] : touched.sorted()
            for name in targets where attached.contains(name) {
                let q = SQLiteConnection.quote(name)
                if let gtid {
                    _ = try connection.query("INSERT OR IGNORE INTO \(q).\"/gtid_executed\" VALUES (?1, ?2, ?2)",
                                             [.string(gtid.uuid.lowercased()), .int(gtid.gno)])
                }
                if let source {
                    _ = try connection.query("INSERT OR REPLACE INTO \(q).\"/applied\" VALUES (1, ?1, ?2)",
                                             [.string(source.file), .int(Int64(clamping: source.position))])
                }
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            touched = []
            throw error
        }
        touched = []
    }

    func rollback() throws {
        touched = []
        guard connection.inTransaction else { return }
        try connection.execute("ROLLBACK")
    }

    /// SAVEPOINT, ROLLBACK TO SAVEPOINT, RELEASE SAVEPOINT: SQLite's own, by the same names. ROLLBACK TO keeps the
    /// savepoint, as MySQL does.
    func savepoint(_ name: String) throws { try connection.execute("SAVEPOINT " + SQLiteConnection.quote(Self.savepointName(name))) }
    func rollback(toSavepoint name: String) throws {
        try connection.execute("ROLLBACK TO SAVEPOINT " + SQLiteConnection.quote(Self.savepointName(name)))
    }
    func release(savepoint name: String) throws {
        try connection.execute("RELEASE SAVEPOINT " + SQLiteConnection.quote(Self.savepointName(name)))
    }
    /// MySQL's savepoint names are case-insensitive.
    static func savepointName(_ name: String) -> String { "sp/" + name.lowercased() }

    // MARK: - Dictionary

    /// CREATE TABLE: the SQLite table, its indexes and its MySQL definition, in the open transaction.
    func createTable(_ table: Table, in database: String) throws {
        for statement in SQLiteSchema.create(table, schema: database) { try connection.execute(statement) }
        try saveDefinition(TableDefinition(table), in: database)
    }

    /// Writes a table's MySQL definition (after ALTER TABLE, or when its AUTO_INCREMENT counter moved).
    func saveDefinition(_ definition: TableDefinition, in database: String) throws {
        let json = String(decoding: try JSONEncoder().encode(definition), as: UTF8.self)
        _ = try connection.query("INSERT OR REPLACE INTO \(SQLiteConnection.quote(database)).\"/dictionary\" VALUES (?1, ?2)",
                                 [.string(definition.name), .string(json)])
        wrote(database)
    }

    /// DROP TABLE: the rows, the indexes and the definition.
    func dropTable(_ name: String, in database: String) throws {
        let q = SQLiteConnection.quote
        try connection.execute("DROP TABLE IF EXISTS \(q(database)).\(q(name))")
        _ = try connection.query("DELETE FROM \(q(database)).\"/dictionary\" WHERE name = ?1", [.string(name)])
        wrote(database)
    }

    /// The definitions of a database's tables as this session's snapshot sees them.
    func definitions(in database: String) throws -> [TableDefinition] {
        let decoder = JSONDecoder()
        return try connection.query("SELECT definition FROM \(SQLiteConnection.quote(database)).\"/dictionary\" ORDER BY name").compactMap { row in
            row.first?.text.flatMap { try? decoder.decode(TableDefinition.self, from: Data($0.utf8)) }
        }
    }

    /// CREATE USER, DROP USER, ALTER USER, GRANT: the accounts as they are after the statement, in `mysql`, in
    /// the open transaction.
    func saveAccounts(_ accounts: [Account]) throws {
        let q = SQLiteConnection.quote(SQLiteDatadir.systemDatabase)
        _ = try connection.query("DELETE FROM \(q).\"/accounts\"")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for a in accounts {
            let json = String(decoding: try encoder.encode(a), as: UTF8.self)
            _ = try connection.query("INSERT OR REPLACE INTO \(q).\"/accounts\" VALUES (?1, ?2, ?3)", [.string(a.name), .string(a.host), .string(json)])
        }
        wrote(SQLiteDatadir.systemDatabase)
    }

    // MARK: - Rows

    /// Inserts one row (already checked and converted by strict mode) into `table`. A unique key it repeats is
    /// MySQL's ERROR 1062, naming the key as MySQL 8 does ('posts.PRIMARY').
    func insert(_ row: [SQLValue], into table: Table, in database: String, replace: Bool = false) throws {
        let q = SQLiteConnection.quote
        let marks = (1...max(1, table.columns.count)).map { "?\($0)" }.joined(separator: ", ")
        let verb = replace ? "INSERT OR REPLACE" : "INSERT"
        let values = zip(row, table.columns).map { SQLiteSchema.stored($0, $1.kind) }
        do {
            _ = try connection.query("\(verb) INTO \(q(database)).\(q(table.name)) VALUES (\(marks))", values)
        } catch let e as SQLiteError where e.code == SH_SQLITE_CONSTRAINT_UNIQUE || e.code == SH_SQLITE_CONSTRAINT_PRIMARYKEY {
            throw Self.duplicate(e, row: row, table: table)
        } catch let e as SQLiteError where e.code == SH_SQLITE_CONSTRAINT_NOTNULL {
            let column = e.message.split(separator: ".").last.map(String.init) ?? ""
            throw StoreError(code: 1048, sqlState: "23000", message: "Column '\(column)' cannot be null")
        }
        wrote(database)
    }

    /// ERROR 1062 for SQLite's "UNIQUE constraint failed: t.a, t.b": the key whose columns those are, and the
    /// row's values of it joined by '-' as MySQL prints them.
    static func duplicate(_ e: SQLiteError, row: [SQLValue], table: Table) -> StoreError {
        let failed = e.message.components(separatedBy: ": ").dropFirst().joined(separator: ": ")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).split(separator: ".").last.map { $0.lowercased() } ?? "" }
        let index = table.indexes.first { idx in
            idx.columns.compactMap { $0 < table.columns.count ? table.columns[$0].name.lowercased() : nil } == failed
        } ?? table.indexes.first { $0.name == "PRIMARY" } ?? table.indexes.first
        guard let index else { return StoreError.duplicateEntry("", key: table.name + ".PRIMARY") }
        return StoreError.duplicateEntry(table.keyDisplay(row, index), key: table.name + "." + index.name)
    }
}
