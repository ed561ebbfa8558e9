import Foundation
import Testing
@testable import StackLabStore

/// SQLite as the store uses it: one file per database attached by name, WAL snapshots between connections, the
/// single writer, and Swift functions called from SQL.
@Suite("SQLite under the store")
struct SQLiteEngineTests {
    private func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "stacklab-sqlite-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    private func open(_ dir: String) throws -> SQLiteConnection {
        let c = try SQLiteConnection(path: dir + "/mysql.sqlite")
        try c.useWriteAheadLog()
        try c.setSynchronous(flushLogAtTrxCommit: 1)
        try c.attach(dir + "/foobar.sqlite", as: "foobar")
        try c.useWriteAheadLog(schema: "foobar")
        return c
    }

    @Test func aDatabaseIsAFileAttachedByName() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = try open(dir)
        try c.execute("CREATE TABLE foobar.posts (id INTEGER PRIMARY KEY, author TEXT)")
        _ = try c.query("INSERT INTO foobar.posts VALUES (?, ?)", [.int(1), .string("alice")])
        #expect(c.changes == 1)
        #expect(try c.query("SELECT author FROM foobar.posts WHERE id = 1") == [[.string("alice")]])
        #expect(c.schemas.contains("foobar"))
        #expect(c.path("foobar") == dir + "/foobar.sqlite")
        #expect(try c.query("PRAGMA foobar.journal_mode") == [[.string("wal")]])
        #expect(FileManager.default.fileExists(atPath: dir + "/foobar.sqlite"))
    }

    @Test func valuesCrossSQLiteWithTheirTypes() throws {
        let c = try SQLiteConnection(path: ":memory:")
        let values: [SQLValue] = [.null, .int(-5), .int(.max), .double(1.5), .string("héllo"), .string(""),
                                  .uint(18_446_744_073_709_551_615), .decimal(Decimal(string: "12.50")!, scale: 2),
                                  .decimal(Decimal(string: "-0.001")!, scale: 3)]
        let placeholders = values.map { _ in "?" }.joined(separator: ", ")
        #expect(try c.query("SELECT " + placeholders, values) == [values])
    }

    @Test func aTransactionReadsOneSnapshotAndAStaleOneCannotWrite() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try open(dir), b = try open(dir)
        try a.execute("CREATE TABLE foobar.t (id INTEGER PRIMARY KEY)")
        try a.execute("INSERT INTO foobar.t VALUES (1)")
        // a's snapshot starts at its first read.
        try a.execute("BEGIN")
        #expect(try a.query("SELECT count(*) FROM foobar.t") == [[.int(1)]])
        try b.execute("INSERT INTO foobar.t VALUES (2)")
        #expect(try a.query("SELECT count(*) FROM foobar.t") == [[.int(1)]])
        #expect(try b.query("SELECT count(*) FROM foobar.t") == [[.int(2)]])
        // Its snapshot predates b's commit: it cannot become the writer (InnoDB's deadlock victim: 1213).
        do {
            try a.execute("INSERT INTO foobar.t VALUES (3)")
            Issue.record("a stale snapshot wrote")
        } catch let e as SQLiteError {
            #expect(e.code == 5 | (2 << 8), "\(e)")   // SQLITE_BUSY_SNAPSHOT
            #expect(e.storeError.code == 1213)
            #expect(e.storeError.message == "Deadlock found when trying to get lock; try restarting transaction")
        }
        try a.execute("ROLLBACK")
        #expect(try a.query("SELECT count(*) FROM foobar.t") == [[.int(2)]])
    }

    @Test func aSecondWriterWaitsThenGetsTheLockWaitTimeout() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try open(dir), b = try open(dir)
        try a.execute("CREATE TABLE foobar.t (id INTEGER PRIMARY KEY)")
        try a.execute("BEGIN IMMEDIATE")
        try a.execute("INSERT INTO foobar.t VALUES (1)")
        b.setBusyTimeout(milliseconds: 50)
        do {
            try b.execute("BEGIN IMMEDIATE")
            Issue.record("two writers at once")
        } catch let e as SQLiteError {
            #expect(e.primary == 5)   // SQLITE_BUSY
            #expect(e.storeError == WriteLock.timeoutError())
        }
        // Readers are not blocked and do not see the open transaction's row.
        #expect(try b.query("SELECT count(*) FROM foobar.t") == [[.int(0)]])
        try a.execute("COMMIT")
        try b.execute("BEGIN IMMEDIATE; INSERT INTO foobar.t VALUES (2); COMMIT")
        #expect(try a.query("SELECT count(*) FROM foobar.t") == [[.int(2)]])
    }

    @Test func aSwiftFunctionsErrorFailsTheStatementWithIt() throws {
        let c = try SQLiteConnection(path: ":memory:")
        try c.createFunction("boom", arguments: 1) { args in
            if args[0] == .int(0) { throw StoreError(code: 1690, sqlState: "22003", message: "BIGINT value is out of range") }
            return args[0]
        }
        #expect(try c.query("SELECT boom(3)") == [[.int(3)]])
        #expect(throws: StoreError(code: 1690, sqlState: "22003", message: "BIGINT value is out of range")) {
            try c.query("SELECT boom(0)")
        }
        // The connection is fine afterwards.
        #expect(try c.query("SELECT boom('x')") == [[.string("x")]])
    }
}
