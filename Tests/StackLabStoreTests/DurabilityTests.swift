import Foundation
import Testing
@testable import StackLabStore

@Suite("Durability")
struct DurabilityTests {
    func reopen(_ dir: String, _ configure: (inout StoreSettings) -> Void = { _ in }) async throws -> MySQLStore {
        try await startedStore { s in
            s.dataDirectory = dir
            configure(&s)
        }
    }

    @Test func gracefulStopKeepsEverythingAndRotatesTheBinlog() async throws {
        let store = try await startedStore()
        let dir = store.settings.dataDirectory
        _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('a'), ('b')")
        let gtid = store.status.gtidExecuted
        #expect(store.status.binlogFile == "mysql-bin.000001")
        await store.stop()
        // Each database is a file of SQLite's: the rows, their MySQL definitions and the GTIDs that wrote them.
        #expect(FileManager.default.fileExists(atPath: dir + "/foobar.sqlite"))
        #expect(FileManager.default.fileExists(atPath: dir + "/mysql.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/snapshot.json"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/redo.log"))
        let again = try await reopen(dir)
        #expect(try await again.execute("SELECT id, author FROM foobar.posts").rows == [["1", "a"], ["2", "b"]])
        #expect(again.status.gtidExecuted == gtid)
        #expect(again.status.binlogFile == "mysql-bin.000002")
        // FORMAT_DESCRIPTION (122) + PREVIOUS_GTIDS with one source and one interval (71), as in MySQL 8.
        #expect(again.status.binlogPosition == 197)
        #expect(try await again.execute("INSERT INTO foobar.posts (author) VALUES ('c')").lastInsertID == 3)
        // The users from settings and init statements are not created twice.
        #expect(try await again.execute("SELECT COUNT(*) FROM foobar.posts", user: "app").rows == [["3"]])
        await again.stop()
    }

    @Test func crashLosesNothingAcknowledged() async throws {
        let store = try await startedStore()
        let dir = store.settings.dataDirectory
        for i in 1...20 { _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('p\(i)')") }
        _ = try await store.execute("UPDATE foobar.posts SET author = 'changed' WHERE id = 3; DELETE FROM foobar.posts WHERE id = 4")
        store.crash()
        await #expect(throws: (any Error).self) { try await store.execute("SELECT 1") }
        // The files alone have every committed transaction (nothing waits for the binlog to be repeated).
        let file = try SQLiteConnection(path: dir + "/foobar.sqlite")
        #expect(try file.query("SELECT count(*) FROM posts") == [[.int(19)]])
        #expect(try file.query("SELECT author FROM posts WHERE id = 3") == [[.string("changed")]])
        #expect(try file.query(#"SELECT count(*) FROM "/gtid_executed""#) != [[.int(0)]])
        let again = try await reopen(dir)
        #expect(try await again.execute("SELECT COUNT(*) FROM foobar.posts").rows == [["19"]])
        #expect(try await again.execute("SELECT author FROM foobar.posts WHERE id = 3").rows == [["changed"]])
        #expect(try await again.execute("INSERT INTO foobar.posts (author) VALUES ('next')").lastInsertID == 21)
        await again.stop()
    }

    /// The binlog is written before SQLite commits: a crash between the two leaves the data without a transaction
    /// the binlog has. The next start repeats it, once.
    @Test func aCrashBetweenTheBinlogAndTheDataRepeatsTheTransactionOnce() async throws {
        let store = try await startedStore()
        let dir = store.settings.dataDirectory
        _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('a'), ('b')")
        await store.stop()
        let fm = FileManager.default
        let files = ["foobar.sqlite", "foobar.sqlite-wal"].filter { fm.fileExists(atPath: dir + "/" + $0) }
        for f in files { try fm.copyItem(atPath: dir + "/" + f, toPath: dir + "/" + f + ".before") }
        let again = try await reopen(dir)
        _ = try await again.execute("UPDATE foobar.posts SET author = CONCAT(author, '!')")
        let gtid = again.status.gtidExecuted
        again.crash()
        // The data as it was before the UPDATE committed; the binlog has the UPDATE.
        for f in ["foobar.sqlite", "foobar.sqlite-wal", "foobar.sqlite-shm"] where fm.fileExists(atPath: dir + "/" + f) {
            try fm.removeItem(atPath: dir + "/" + f)
        }
        for f in files { try fm.moveItem(atPath: dir + "/" + f + ".before", toPath: dir + "/" + f) }
        let recovered = try await reopen(dir)
        #expect(try await recovered.execute("SELECT id, author FROM foobar.posts ORDER BY id").rows == [["1", "a!"], ["2", "b!"]])
        #expect(recovered.status.gtidExecuted == gtid)
        await recovered.stop()
        // Repeated once: a start after that finds it in the data.
        let last = try await reopen(dir)
        #expect(try await last.execute("SELECT id, author FROM foobar.posts ORDER BY id").rows == [["1", "a!"], ["2", "b!"]])
        await last.stop()
    }

    @Test func theSameStoreObjectCanCrashAndStartAgain() async throws {
        let store = try await startedStore()
        _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('one')")
        store.crash()
        #expect(!store.status.running)
        try await store.start()
        _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('two')")
        await store.stop()
        try await store.start()
        let outcomes = await store.executeScript("SELECT author FROM foobar.posts ORDER BY id; SELECT nosuch FROM foobar.posts; SELECT 1")
        #expect(outcomes.count == 2, "stops at the first error")
        #expect(try outcomes[0].get().rows == [["one"], ["two"]])
        #expect(throws: StoreError.self) { try outcomes[1].get() }
        #expect(store.status.binlogFile == "mysql-bin.000003")
        await store.stop()
    }

    @Test func aTornLastRecordWasNeverAcknowledgedAndIsDropped() async throws {
        let store = try await startedStore()
        let dir = store.settings.dataDirectory
        _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('kept')")
        store.crash()
        // A write cut short by the crash: half an event at the end of the binlog.
        let binlog = FileHandle(forWritingAtPath: dir + "/mysql-bin.000001")
        binlog?.seekToEndOfFile()
        binlog?.write(Data([1, 2, 3, 4, 5, 6, 7]))
        try binlog?.close()
        let again = try await reopen(dir)
        #expect(try await again.execute("SELECT author FROM foobar.posts").rows == [["kept"]])
        #expect(try await again.execute("SHOW BINARY LOGS").rows.map { $0[0] } == ["mysql-bin.000001", "mysql-bin.000002"])
        await again.stop()
    }

    @Test func errorLogLooksLikeMySQL8() async throws {
        let lines = LogCollector()
        var settings = StoreSettings(serverName: "web-01", serverID: 1, host: "127.0.1.11", port: 3306, dataDirectory: TestServer.temporaryDirectory("log"))
        settings.rootPassword = "secret"
        let store = MySQLStore(settings: settings, group: testGroup, dial: StoreDialers.direct(group: testGroup), log: { lines.append($0) })
        try await store.start()
        await store.stop()
        let ready = lines.all.first { $0.contains("[MY-010931]") } ?? ""
        // 2026-11-24T13:55:36.123456Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. …
        #expect(ready.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z 0 \[System\] \[MY-010931\] \[Server\] /usr/sbin/mysqld: ready for connections\. Version: '8\.0\.40-stacklab'  socket: ''  port: 3306  Source distribution\.$"#, options: .regularExpression) != nil, "\(ready)")
        #expect(lines.all.contains { $0.contains("[System] [MY-010910] [Server] /usr/sbin/mysqld: Shutdown complete (mysqld 8.0.40-stacklab)  Source distribution.") })
    }
}

/// Each session's SQLite connection holds files open (each database, its WAL and shared memory): they close with
/// the session, so a store that served many sessions holds no more files than one that served a few.
@Suite("Open files")
struct OpenFileTests {
    /// The descriptors of this process open on files of `folder` (the other tests, which run beside this one, open
    /// their own).
    static func openFiles(in folder: String) -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        let prefix = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path + "/"
        return fds.filter { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd))?.hasPrefix(prefix) == true
        }.count
    }

    @Test func sessionsCloseTheirFiles() async throws {
        let store = try await startedStore()
        _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('a')")
        let folder = store.settings.dataDirectory
        let before = Self.openFiles(in: folder)
        #expect(before > 0, "the store holds no file of \(folder) open")
        for i in 0..<200 {
            _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('p\(i)')")
            _ = try await store.execute("SELECT COUNT(*) FROM foobar.posts")
            let session = try store.openSession(database: "foobar")
            _ = try await store.execute("BEGIN; SELECT * FROM posts WHERE id = 1; COMMIT", in: session)
        }
        let after = Self.openFiles(in: folder)
        #expect(after - before < 50, "\(before) files open before, \(after) after 600 sessions")
        await store.stop()
    }
}
