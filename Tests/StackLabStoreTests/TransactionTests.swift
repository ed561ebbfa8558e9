import Foundation
import StackLabTestSupport
import Testing
@testable import StackLabStore

/// Transactions as InnoDB gives them: ROLLBACK takes rows back, other sessions never see uncommitted rows, a
/// transaction reads one snapshot, a second writer waits for the first and gives up after innodb_lock_wait_timeout.
@Suite("Transactions", .runsALab)
struct TransactionTests {
    func rows(_ store: MySQLStore, _ sql: String, in session: StoreClientSession? = nil) async throws -> [[String?]] {
        if let session { return try await store.execute(sql, in: session).rows }
        return try await store.execute(sql).rows
    }

    func error(_ store: MySQLStore, _ sql: String, in session: StoreClientSession) async -> String {
        do { _ = try await store.execute(sql, in: session); return "no error" } catch { return "\(error)" }
    }

    @Test func rollbackTakesBackInsertsUpdatesAndDeletes() async throws {
        let s = try await startedStore()
        _ = try await s.execute("INSERT INTO foobar.posts (author) VALUES ('kept')")
        let before = s.status
        let a = try s.openSession(database: "foobar")
        for sql in ["BEGIN", "INSERT INTO posts (author) VALUES ('mistake')", "UPDATE posts SET author = 'changed' WHERE id = 1",
                    "DELETE FROM posts WHERE id = 1"] {
            _ = try await s.execute(sql, in: a)
        }
        #expect(try await rows(s, "SELECT id, author FROM posts", in: a) == [["2", "mistake"]])
        _ = try await s.execute("ROLLBACK", in: a)
        #expect(try await rows(s, "SELECT id, author FROM posts", in: a) == [["1", "kept"]])
        // Nothing reached the binlog, no GTID was used.
        #expect(s.status.binlogPosition == before.binlogPosition && s.status.gtidExecuted == before.gtidExecuted)
        await s.stop()
    }

    @Test func uncommittedRowsAreInvisibleAndATransactionReadsOneSnapshot() async throws {
        let s = try await startedStore()
        let a = try s.openSession(database: "foobar"), b = try s.openSession(database: "foobar")
        _ = try await s.execute("BEGIN; INSERT INTO posts (author) VALUES ('a1')", in: a)
        #expect(try await rows(s, "SELECT COUNT(*) FROM posts", in: b) == [["0"]])
        #expect(try await rows(s, "SELECT COUNT(*) FROM posts", in: a) == [["1"]])
        _ = try await s.execute("COMMIT", in: a)
        #expect(try await rows(s, "SELECT author FROM posts", in: b) == [["a1"]])
        // REPEATABLE READ: b's transaction keeps the rows of its first read.
        _ = try await s.execute("START TRANSACTION", in: b)
        #expect(try await rows(s, "SELECT COUNT(*) FROM posts", in: b) == [["1"]])
        _ = try await s.execute("INSERT INTO posts (author) VALUES ('a2')", in: a)
        #expect(try await rows(s, "SELECT COUNT(*) FROM posts", in: b) == [["1"]])
        _ = try await s.execute("COMMIT", in: b)
        #expect(try await rows(s, "SELECT COUNT(*) FROM posts", in: b) == [["2"]])
        await s.stop()
    }

    @Test func aSecondWriterGivesUpAfterInnodbLockWaitTimeout() async throws {
        let s = try await startedStore()
        let a = try s.openSession(database: "foobar"), b = try s.openSession(database: "foobar")
        _ = try await s.execute("BEGIN; INSERT INTO posts (author) VALUES ('a')", in: a)
        #expect(try await rows(s, "SELECT @@innodb_lock_wait_timeout", in: b) == [["50"]])
        _ = try await s.execute("SET SESSION innodb_lock_wait_timeout = 1", in: b)
        #expect(try await rows(s, "SELECT @@innodb_lock_wait_timeout", in: b) == [["1"]])
        #expect(await error(s, "UPDATE posts SET author = 'b'", in: b) == "ERROR 1205 (HY000): Lock wait timeout exceeded; try restarting transaction")
        _ = try await s.execute("COMMIT", in: a)
        #expect(try await s.execute("UPDATE posts SET author = 'b'", in: b).affectedRows == 1)
        #expect(try await rows(s, "SELECT author FROM foobar.posts") == [["b"]])
        await s.stop()
    }

    @Test func aWaitingWriterGoesOnWhenTheFirstCommits() async throws {
        let s = try await startedStore()
        let a = try s.openSession(database: "foobar"), b = try s.openSession(database: "foobar")
        _ = try await s.execute("BEGIN; INSERT INTO posts (author) VALUES ('first')", in: a)
        let waiting = Task { try await s.execute("INSERT INTO posts (author) VALUES ('second')", in: b) }
        try await waitUntil("the second writer to wait") { s.engine.writeLock.waiting == 1 }
        #expect(try await s.execute("SHOW STATUS LIKE 'Innodb_row_lock_current_waits'").rows == [["Innodb_row_lock_current_waits", "1"]])
        // Readers are not held up by the lock.
        #expect(try await rows(s, "SELECT COUNT(*) FROM foobar.posts") == [["0"]])
        _ = try await s.execute("COMMIT", in: a)
        #expect(try await waiting.value.lastInsertID == 2)
        #expect(try await rows(s, "SELECT id, author FROM foobar.posts ORDER BY id") == [["1", "first"], ["2", "second"]])
        await s.stop()
    }

    @Test func savepointsRollBackPartOfATransaction() async throws {
        let s = try await startedStore()
        let a = try s.openSession(database: "foobar")
        let before = s.engine.gtidExecuted.next(for: s.engine.serverUUID) ?? 0
        _ = try await s.execute("BEGIN; INSERT INTO posts (author) VALUES ('a'); SAVEPOINT s1; INSERT INTO posts (author) VALUES ('b')", in: a)
        _ = try await s.execute("ROLLBACK TO SAVEPOINT s1; INSERT INTO posts (author) VALUES ('c'); RELEASE SAVEPOINT s1", in: a)
        #expect(await error(s, "ROLLBACK TO s1", in: a) == "ERROR 1305 (42000): SAVEPOINT s1 does not exist")
        _ = try await s.execute("COMMIT", in: a)
        #expect(try await rows(s, "SELECT author FROM foobar.posts ORDER BY id") == [["a"], ["c"]])
        // One transaction, one GTID: BEGIN, the two inserts that stayed, XID.
        #expect(s.engine.gtidExecuted.next(for: s.engine.serverUUID) == before + 1)
        let kinds = s.binlog?.entries(from: 0, max: 100).suffix(5).map { e in e.event.query?.sql ?? "\(e.event.kind)" }
        #expect(kinds == ["gtid", "BEGIN", "INSERT INTO posts (author) VALUES ('a')", "INSERT INTO posts (author) VALUES ('c')", "xid"])
        await s.stop()
    }

    @Test func autocommitOffOpensATransactionAndDDLCommitsIt() async throws {
        let s = try await startedStore()
        let a = try s.openSession(database: "foobar")
        _ = try await s.execute("SET autocommit = 0", in: a)
        #expect(try await rows(s, "SELECT @@autocommit", in: a) == [["0"]])
        _ = try await s.execute("INSERT INTO posts (author) VALUES ('gone')", in: a)
        #expect(try await rows(s, "SELECT COUNT(*) FROM foobar.posts") == [["0"]])
        _ = try await s.execute("ROLLBACK; INSERT INTO posts (author) VALUES ('kept'); COMMIT", in: a)
        #expect(try await rows(s, "SELECT author FROM foobar.posts") == [["kept"]])
        // DDL commits what is open before it runs.
        _ = try await s.execute("INSERT INTO posts (author) VALUES ('by ddl'); CREATE TABLE t2 (id INT); ROLLBACK", in: a)
        #expect(try await rows(s, "SELECT COUNT(*) FROM foobar.posts") == [["2"]])
        // SET autocommit = 1 commits too.
        _ = try await s.execute("INSERT INTO posts (author) VALUES ('by set'); SET autocommit = 1", in: a)
        #expect(try await rows(s, "SELECT COUNT(*) FROM foobar.posts") == [["3"]])
        await s.stop()
    }

    @Test func readOnlyTransactionsRefuseWrites() async throws {
        let s = try await startedStore()
        let a = try s.openSession(database: "foobar")
        _ = try await s.execute("START TRANSACTION READ ONLY", in: a)
        #expect(await error(s, "INSERT INTO posts (author) VALUES ('x')", in: a) == "ERROR 1792 (25006): Cannot execute statement in a READ ONLY transaction.")
        #expect(try await rows(s, "SELECT COUNT(*) FROM posts", in: a) == [["0"]])
        _ = try await s.execute("COMMIT; START TRANSACTION READ WRITE, WITH CONSISTENT SNAPSHOT; INSERT INTO posts (author) VALUES ('x'); COMMIT", in: a)
        #expect(await error(s, "COMMIT AND CHAIN", in: a) == "ERROR 1235 (42000): This version of MySQL doesn't yet support 'AND CHAIN'")
        await s.stop()
    }

    @Test func aSessionThatEndsRollsBackAndFreesTheLock() async throws {
        let s = try await startedStore()
        _ = try await s.execute("BEGIN; INSERT INTO foobar.posts (author) VALUES ('never committed')")
        let b = try s.openSession(database: "foobar")
        _ = try await s.execute("SET innodb_lock_wait_timeout = 1; INSERT INTO posts (author) VALUES ('b')", in: b)
        #expect(try await rows(s, "SELECT author FROM foobar.posts") == [["b"]])
        await s.stop()
    }

    /// InnoDB does not give an AUTO_INCREMENT value back at ROLLBACK, nor at ROLLBACK TO SAVEPOINT: the counter
    /// stays past it, also after a restart and after a crash.
    @Test func aRolledBackInsertKeepsItsNumberTakenAcrossARestart() async throws {
        let s = try await startedStore()
        let dir = s.settings.dataDirectory
        let a = try s.openSession(database: "foobar")
        _ = try await s.execute("BEGIN; INSERT INTO posts (author) VALUES ('gone'); ROLLBACK", in: a)
        _ = try await s.execute("BEGIN; SAVEPOINT p; INSERT INTO posts (author) VALUES ('gone too'); ROLLBACK TO SAVEPOINT p; COMMIT", in: a)
        #expect(try await s.execute("SELECT COUNT(*) FROM foobar.posts").rows == [["0"]])
        await s.stop()
        let again = try await startedStore { $0.dataDirectory = dir }
        #expect(try await again.execute("INSERT INTO foobar.posts (author) VALUES ('kept')").lastInsertID == 3)
        let b = try again.openSession(database: "foobar")
        _ = try await again.execute("BEGIN; INSERT INTO posts (author) VALUES ('lost')", in: b)
        _ = try await again.execute("ROLLBACK", in: b)
        again.crash()
        let last = try await startedStore { $0.dataDirectory = dir }
        #expect(try await last.execute("INSERT INTO foobar.posts (author) VALUES ('next')").lastInsertID == 5)
        #expect(try await last.execute("SELECT id, author FROM foobar.posts ORDER BY id").rows == [["3", "kept"], ["5", "next"]])
        await last.stop()
    }

    @Test func aCrashKeepsCommittedTransactionsWholeAndLosesTheOpenOne() async throws {
        let s = try await startedStore()
        let dir = s.settings.dataDirectory
        let a = try s.openSession(database: "foobar")
        _ = try await s.execute("BEGIN; INSERT INTO posts (author) VALUES ('x'); INSERT INTO posts (author) VALUES ('y'); UPDATE posts SET author = UPPER(author); COMMIT", in: a)
        _ = try await s.execute("BEGIN; INSERT INTO posts (author) VALUES ('open')", in: a)
        let gtids = s.status.gtidExecuted
        s.crash()
        let again = try await startedStore { $0.dataDirectory = dir }
        #expect(try await again.execute("SELECT id, author FROM foobar.posts ORDER BY id").rows == [["1", "X"], ["2", "Y"]])
        #expect(again.status.gtidExecuted == gtids)
        #expect(try await again.execute("INSERT INTO foobar.posts (author) VALUES ('z')").lastInsertID == 3)
        await again.stop()
    }

    @Test func aTransactionReachesTheReplicaWholeAndARolledBackOneNever() async throws {
        let pair = try await Pair.start()
        let store = pair.primary.store
        let a = try store.openSession(database: "foobar")
        _ = try await store.execute("BEGIN; INSERT INTO posts (author) VALUES ('gone'); ROLLBACK", in: a)
        _ = try await store.execute("BEGIN; INSERT INTO posts (author) VALUES ('a'); INSERT INTO posts (author) VALUES ('b'); UPDATE posts SET body = 'both'; COMMIT", in: a)
        try await pair.waitForReplicaCount(2)
        // The rolled-back insert took id 1 (InnoDB does not give it back); the replica repeats ids 2 and 3.
        #expect(try await pair.replica.sql("SELECT id, author, body FROM foobar.posts ORDER BY id").rows == [["2", "a", "both"], ["3", "b", "both"]])
        #expect(pair.replica.store.status.gtidExecuted == store.status.gtidExecuted)
        await pair.stop()
    }

    @Test func aWriterWaitingOnTheWireHoldsUpNoOtherConnection() async throws {
        let server = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.t (id INT PRIMARY KEY, v INT)"] }
        func connect() async throws -> MySQLConnection {
            try await MySQLConnection.connect(host: "127.0.0.1", port: server.port, user: "app", password: "app", database: "foobar",
                                              dial: StoreDialers.direct(group: testGroup))
        }
        let a = try await connect(), b = try await connect(), c = try await connect()
        _ = try await a.query("BEGIN")
        _ = try await a.query("INSERT INTO t VALUES (1, 1)")
        let waiting = Task { try await b.query("INSERT INTO t VALUES (2, 2)") }
        try await waitUntil("the second writer to wait") { server.store.engine.writeLock.waiting == 1 }
        #expect(try await c.query("SELECT COUNT(*) FROM t").rows == [["0"]])
        _ = try await a.query("COMMIT")
        #expect(try await waiting.value.affectedRows == 1)
        // A client that leaves with a transaction open frees the lock.
        _ = try await c.query("BEGIN")
        _ = try await c.query("DELETE FROM t")
        c.close()
        try await waitUntil("the lock to be free") { !server.store.engine.writeLock.heldByOther(UInt32.max - 1) }
        #expect(try await a.query("SELECT COUNT(*) FROM t").rows == [["2"]])
        a.close()
        b.close()
        await server.stop()
    }
}


/// `WHERE id = 5` on an integer primary key reads one row through the key's map; every change keeps the map true.
@Suite("Primary key lookups")
struct PrimaryKeyLookupTests {
    @Test func pointLookupsStayRightThroughInsertsUpdatesDeletesAndRestarts() async throws {
        let s = try await startedStore()
        func q(_ sql: String, _ store: MySQLStore? = nil) async throws -> [[String?]] { try await (store ?? s).execute(sql).rows }
        _ = try await s.execute("INSERT INTO foobar.posts (author) VALUES ('a'), ('b'), ('c'), ('d')")
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = 2") == [["b"]])
        #expect(try await q("SELECT author FROM foobar.posts WHERE 3 = id AND author = 'c'") == [["c"]])
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = 3 AND author = 'x'") == [])
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = 99") == [])
        #expect(try await s.execute("DELETE FROM foobar.posts WHERE id = 1").affectedRows == 1)
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = 4") == [["d"]])
        #expect(try await s.execute("UPDATE foobar.posts SET id = 10 WHERE id = 4").affectedRows == 1)
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = 10") == [["d"]])
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = 4") == [])
        #expect(try await s.execute("UPDATE foobar.posts SET author = 'B' WHERE id = 2").affectedRows == 1)
        // A string or a decimal compares as MySQL converts it: the scan answers those.
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = '2'") == [["B"]])
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = 2.0") == [["B"]])
        let a = try s.openSession(database: "foobar")
        _ = try await s.execute("BEGIN; DELETE FROM posts WHERE id = 2; INSERT INTO posts (id, author) VALUES (20, 't')", in: a)
        #expect(try await s.execute("SELECT author FROM posts WHERE id = 20", in: a).rows == [["t"]])
        _ = try await s.execute("ROLLBACK", in: a)
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = 2") == [["B"]])
        #expect(try await q("SELECT author FROM foobar.posts WHERE id = 20") == [])
        let dir = s.settings.dataDirectory
        await s.stop()
        let again = try await startedStore { $0.dataDirectory = dir }
        #expect(try await q("SELECT id, author FROM foobar.posts WHERE id = 10", again) == [["10", "d"]])
        #expect(try await q("SELECT COUNT(*) FROM foobar.posts", again) == [["3"]])
        await again.stop()
    }
}

@Suite("SHOW INDEX")
struct ShowIndexTests {
    @Test func showIndexListsThePrimaryKeyAndUniqueKeysInMySQLsColumns() async throws {
        let s = try await startedStore()
        _ = try await s.execute("CREATE TABLE foobar.u (id INT PRIMARY KEY, email VARCHAR(64) UNIQUE, a INT, b INT, UNIQUE KEY ab (a, b))")
        let r = try await s.execute("SHOW INDEX FROM u FROM foobar")
        #expect(r.columns == ["Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name", "Collation", "Cardinality", "Sub_part", "Packed",
                              "Null", "Index_type", "Comment", "Index_comment", "Visible", "Expression"])
        #expect(r.rows.map { [$0[2], $0[3], $0[4], $0[9]] } == [["PRIMARY", "1", "id", ""], ["email", "1", "email", "YES"], ["ab", "1", "a", "YES"], ["ab", "2", "b", "YES"]])
        #expect(try await s.execute("SHOW KEYS IN foobar.posts").rows.count == 1)
        await #expect(throws: StoreError.self) { try await s.execute("SHOW INDEX FROM foobar.nosuch") }
        await s.stop()
    }
}
