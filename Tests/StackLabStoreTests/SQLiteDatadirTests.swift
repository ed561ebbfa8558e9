import Foundation
import Testing
@testable import StackLabStore

/// The store's data directory on SQLite: a file per MySQL database, the MySQL dictionary and the GTIDs committed in
/// the same transaction as the rows, one connection per session with its own snapshot.
@Suite("SQLite data directory")
struct SQLiteDatadirTests {
    private func scratch() -> String { NSTemporaryDirectory() + "stacklab-datadir-\(UUID().uuidString)" }

    private func posts() -> Table {
        var t = Table(name: "posts", columns: [
            Column(name: "id", kind: .int, notNull: true, defaultValue: nil, autoIncrement: true, primaryKey: true, unique: false),
            Column(name: "author", kind: .varchar(20), notNull: false, defaultValue: nil, autoIncrement: false, primaryKey: false, unique: true),
            Column(name: "price", kind: .decimal(precision: 8, scale: 2), notNull: false, defaultValue: nil, autoIncrement: false, primaryKey: false, unique: false),
        ])
        t.indexes = [UniqueIndex(name: "PRIMARY", columns: [0]), UniqueIndex(name: "author", columns: [1])]
        t.plainIndexes = [PlainIndex(name: "by_price", columns: [2])]
        t.autoIncrement = 3
        return t
    }

    private func session(_ datadir: SQLiteDatadir, timeout: Int = 50) throws -> SQLiteSession {
        try datadir.openSession(lockWaitTimeoutSeconds: timeout) { c in
            try c.createCollation(MySQLSemantics.collation, MySQLSemantics.compareText)
        }
    }

    @Test func databaseNamesBecomeFileNamesAsMySQLEncodesThem() {
        #expect(SQLiteDatadir.fileName("foobar") == "foobar.sqlite")
        #expect(SQLiteDatadir.fileName("my-db") == "my@002ddb.sqlite")
        #expect(SQLiteDatadir.fileName("a/b.c") == "a@002fb@002ec.sqlite")
        #expect(SQLiteDatadir.fileName("café") == "caf@00e9.sqlite")
        for name in ["foobar", "my-db", "a/b.c", "café", "Straße 🙂", "@0041"] {
            #expect(SQLiteDatadir.databaseName(fileName: SQLiteDatadir.fileName(name)) == name)
        }
        #expect(SQLiteDatadir.databaseName(fileName: "snapshot.json") == nil)
        #expect(SQLiteDatadir.databaseName(fileName: ".sqlite") == nil)
        #expect(SQLiteDatadir.databaseName(fileName: "x@00.sqlite") == nil)
        #expect(SQLiteDatadir.databaseName(fileName: "x@zzzz.sqlite") == nil)
        // Only the spelling fileName writes: 'A' is never '@0041'.
        #expect(SQLiteDatadir.databaseName(fileName: "@0041.sqlite") == nil)
    }

    @Test func aCommittedTransactionKeepsRowsDictionaryAndGTIDTogether() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let datadir = try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: 1)
        #expect(datadir.databaseNames() == ["mysql"])
        try datadir.create("foobar")
        let s = try session(datadir)
        #expect(s.attached == ["mysql", "foobar"])
        #expect(try s.connection.query("PRAGMA foobar.journal_mode") == [[.string("wal")]])
        #expect(try s.connection.query("PRAGMA foobar.synchronous") == [[.int(2)]])   // FULL

        let uuid = "3E11FA47-71CA-11E1-9E33-C80AA9429562"
        try s.begin()
        try s.createTable(posts(), in: "foobar")
        try s.insert([.int(1), .string("alice"), .decimal(Decimal(string: "12.50")!, scale: 2)], into: posts(), in: "foobar")
        try s.commit(gtid: (uuid, 1), source: nil)
        try s.begin()
        try s.insert([.int(2), .string("bob"), .null], into: posts(), in: "foobar")
        try s.commit(gtid: (uuid, 2), source: SourcePosition(file: "mysql-bin.000002", position: 1234))
        // A transaction that wrote nothing keeps its GTID in mysql.
        try s.begin()
        try s.commit(gtid: (uuid, 3), source: nil)
        // Accounts and grants live in mysql, committed like rows.
        let app = Account(name: "app", host: "%", password: "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9",
                          grants: [Grant(privileges: ["SELECT", "INSERT"], database: "foobar", table: "*")])
        let root = Account(name: "root", host: "localhost", password: "", isSuper: true)
        try s.begin()
        try s.saveAccounts([root, app])
        try s.commit(gtid: (uuid, 4), source: nil)

        // The DECIMAL is a scaled integer in SQLite.
        #expect(try s.connection.query("SELECT id, author, price FROM foobar.posts ORDER BY id")
                == [[.int(1), .string("alice"), .int(1250)], [.int(2), .string("bob"), .null]])
        #expect(try s.connection.query(#"SELECT name FROM foobar.sqlite_schema WHERE type = 'index' AND name LIKE 'posts/%' ORDER BY name"#)
                == [[.string("posts/author")], [.string("posts/by_price")]])

        // What a restart reads, with the session's connection still open (nothing checkpointed out of the WAL).
        let recovered = try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: 1).recover()
        #expect(recovered.databases["foobar"] == [TableDefinition(posts())])
        #expect(recovered.databases["mysql"] == [])
        #expect(recovered.gtidExecuted.description == uuid.lowercased() + ":1-4")
        #expect(recovered.accounts == [app, root])
        #expect(recovered.source == SourcePosition(file: "mysql-bin.000002", position: 1234))
        // Recovery folds the GTIDs into intervals, as MySQL compresses mysql.gtid_executed.
        #expect(try s.connection.query(#"SELECT source_uuid, interval_start, interval_end FROM foobar."/gtid_executed""#)
                == [[.string(uuid.lowercased()), .int(1), .int(2)]])
        #expect(try s.definitions(in: "foobar").map(\.table.name) == ["posts"])
    }

    @Test func aRolledBackTransactionLeavesNothing() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let datadir = try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: 2)
        try datadir.create("foobar")
        let s = try session(datadir)
        #expect(try s.connection.query("PRAGMA foobar.synchronous") == [[.int(1)]])   // NORMAL
        try s.begin()
        try s.createTable(posts(), in: "foobar")
        try s.insert([.int(1), .string("alice"), .null], into: posts(), in: "foobar")
        try s.rollback()
        #expect(try s.definitions(in: "foobar").isEmpty)
        #expect(try s.connection.query("SELECT name FROM foobar.sqlite_schema WHERE name = 'posts'").isEmpty)
        let recovered = try datadir.recover()
        #expect(recovered.gtidExecuted.isEmpty)
        #expect(recovered.databases["foobar"] == [])
        #expect(recovered.accounts.isEmpty)
    }

    @Test func aRepeatedKeyIsMySQLsDuplicateEntry() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let datadir = try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: 1)
        try datadir.create("foobar")
        let s = try session(datadir)
        try s.begin()
        try s.createTable(posts(), in: "foobar")
        try s.insert([.int(1), .string("alice"), .null], into: posts(), in: "foobar")
        #expect(throws: StoreError.duplicateEntry("1", key: "posts.PRIMARY")) {
            try s.insert([.int(1), .string("carol"), .null], into: posts(), in: "foobar")
        }
        // utf8mb4_0900_ai_ci: 'ALICE' is 'alice'; MySQL prints the value as the row gave it.
        #expect(throws: StoreError.duplicateEntry("ALICE", key: "posts.author")) {
            try s.insert([.int(2), .string("ALICE"), .null], into: posts(), in: "foobar")
        }
        // NULLs never collide in a unique key.
        try s.insert([.int(3), .null, .null], into: posts(), in: "foobar")
        try s.insert([.int(4), .null, .null], into: posts(), in: "foobar")
        // A failed statement left the transaction open and its earlier rows in place.
        #expect(s.inTransaction)
        #expect(try s.connection.query("SELECT id FROM foobar.posts ORDER BY id") == [[.int(1)], [.int(3)], [.int(4)]])
        try s.commit(gtid: nil, source: nil)
    }

    @Test func sessionsSeeOnlyCommittedRowsAndKeepTheirSnapshot() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let datadir = try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: 1)
        try datadir.create("foobar")
        let a = try session(datadir), b = try session(datadir, timeout: 1)
        try a.begin()
        try a.createTable(posts(), in: "foobar")
        try a.commit(gtid: nil, source: nil)

        try a.begin()
        try a.insert([.int(1), .string("alice"), .null], into: posts(), in: "foobar")
        // Uncommitted: b does not see it.
        #expect(try b.connection.query("SELECT count(*) FROM foobar.posts") == [[.int(0)]])
        // b cannot write while a holds the writer: after innodb_lock_wait_timeout (1 s here), ERROR 1205.
        do {
            try b.insert([.int(2), .string("bob"), .null], into: posts(), in: "foobar")
            Issue.record("a second writer did not wait")
        } catch let e as SQLiteError {
            #expect(e.storeError.code == 1205)
        }
        // b's consistent snapshot, taken before a commits, stays as it was (REPEATABLE READ).
        try b.beginWithSnapshot()
        #expect(try b.connection.query("SELECT count(*) FROM foobar.posts") == [[.int(0)]])
        try a.commit(gtid: nil, source: nil)
        #expect(try b.connection.query("SELECT count(*) FROM foobar.posts") == [[.int(0)]])
        // Its snapshot is older than a's commit: it cannot become the writer (InnoDB's deadlock victim).
        do {
            try b.insert([.int(2), .string("bob"), .null], into: posts(), in: "foobar")
            Issue.record("a stale snapshot wrote")
        } catch let e as SQLiteError {
            #expect(e.storeError.code == 1213)
        }
        try b.rollback()
        #expect(try b.connection.query("SELECT count(*) FROM foobar.posts") == [[.int(1)]])
    }

    @Test func savepointsUndoWhatFollowedThem() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let datadir = try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: 1)
        try datadir.create("foobar")
        let s = try session(datadir)
        try s.begin()
        try s.createTable(posts(), in: "foobar")
        try s.insert([.int(1), .string("alice"), .null], into: posts(), in: "foobar")
        try s.savepoint("One")
        try s.insert([.int(2), .string("bob"), .null], into: posts(), in: "foobar")
        try s.rollback(toSavepoint: "one")
        // ROLLBACK TO keeps the savepoint: a second one works.
        try s.insert([.int(3), .string("carol"), .null], into: posts(), in: "foobar")
        try s.rollback(toSavepoint: "ONE")
        try s.release(savepoint: "one")
        try s.commit(gtid: nil, source: nil)
        #expect(try s.connection.query("SELECT id FROM foobar.posts") == [[.int(1)]])
    }

    @Test func createdAndDroppedDatabasesReachOtherSessions() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let datadir = try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: 1)
        let a = try session(datadir)
        try datadir.create("shop")
        #expect(a.attached == ["mysql"])
        try a.refreshAttachments()
        #expect(a.attached == ["mysql", "shop"])
        #expect(datadir.databaseNames() == ["mysql", "shop"])
        try datadir.drop("shop")
        try a.refreshAttachments()
        #expect(a.attached == ["mysql"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/shop.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/shop.sqlite-wal"))
        // The limit SQLite sets on attached databases is what the miniature can hold per session.
        #expect(SQLiteSession.attachLimit(a.connection) >= 10)
    }
}
