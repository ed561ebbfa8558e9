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
        #expect(FileManager.default.fileExists(atPath: dir + "/snapshot.json"))
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
        let again = try await reopen(dir)
        #expect(try await again.execute("SELECT COUNT(*) FROM foobar.posts").rows == [["19"]])
        #expect(try await again.execute("SELECT author FROM foobar.posts WHERE id = 3").rows == [["changed"]])
        #expect(try await again.execute("INSERT INTO foobar.posts (author) VALUES ('next')").lastInsertID == 21)
        await again.stop()
    }

    @Test func aCrashBetweenSnapshotAndRedoTruncationAppliesNothingTwice() async throws {
        let store = try await startedStore()
        let dir = store.settings.dataDirectory
        _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('a'), ('b'); UPDATE foobar.posts SET author = CONCAT(author, '!')")
        let redo = try Data(contentsOf: URL(fileURLWithPath: dir + "/redo.log"))
        await store.stop()  // snapshot written, redo emptied …
        try redo.write(to: URL(fileURLWithPath: dir + "/redo.log"))  // … as if the crash came before the emptying
        let again = try await reopen(dir)
        #expect(try await again.execute("SELECT id, author FROM foobar.posts ORDER BY id").rows == [["1", "a!"], ["2", "b!"]])
        await again.stop()
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
        // A write cut short by the crash: half a record at the end of the redo log and of the binlog.
        let redo = FileHandle(forWritingAtPath: dir + "/redo.log")
        redo?.seekToEndOfFile()
        redo?.write("{\"db\":\"foobar\",\"sql\":\"INSERT INTO posts".data(using: .utf8)!)
        try redo?.close()
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
