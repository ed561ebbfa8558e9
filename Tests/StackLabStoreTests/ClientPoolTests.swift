import Foundation
import Testing
@testable import StackLabStore
import StackLabTestSupport

@Suite("Client pool", .serialized, .runsALab)
struct ClientPoolTests {
    @Test func queriesRunConcurrentlyWithinThePoolSize() async throws {
        let server = try await TestServer.start { s in
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64))"]
        }
        let pool = MySQLClientPool(host: "127.0.0.1", port: server.port, user: "app", password: "app", database: "foobar", size: 3, dial: StoreDialers.direct(group: testGroup))
        try await withThrowingTaskGroup(of: Void.self) { g in
            for i in 0..<40 { g.addTask { _ = try await pool.query("INSERT INTO posts (author) VALUES ('w\(i)')") } }
            try await g.waitForAll()
        }
        let r = try await pool.query("SELECT COUNT(*) FROM posts")
        #expect(r.rows == [["40"]])
        #expect(r.columns == ["COUNT(*)"])
        let e = await #expect(throws: StoreError.self) { try await pool.query("SELECT nosuch FROM posts") }
        #expect(e?.code == 1054)
        // The connection survives an SQL error.
        #expect(try await pool.query("SELECT 1").rows == [["1"]])
        await pool.close()
        await server.stop()
    }

    @Test func refusedConnectionIsError2003() async throws {
        let probe = try await TestServer.start(name: "probe", serverID: 9)
        let port = probe.port
        await probe.stop()
        let pool = MySQLClientPool(host: "127.0.0.1", port: port, user: "app", password: "app", database: nil, size: 1, dial: StoreDialers.direct(group: testGroup))
        let e = await #expect(throws: StoreConnectionError.self) { try await pool.query("SELECT 1") }
        #expect(e?.description == "ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.0.1:\(port)' (111)")
        await pool.close()
    }

    @Test func crashedServerIsALostOrRefusedConnectionThenRecovers() async throws {
        let server = try await TestServer.start()
        let pool = MySQLClientPool(host: "127.0.0.1", port: server.port, user: "app", password: "app", database: nil, size: 1, dial: StoreDialers.direct(group: testGroup))
        #expect(try await pool.query("SELECT 1").rows == [["1"]])
        await server.crash()
        let e = await #expect(throws: StoreConnectionError.self) { try await pool.query("SELECT 1") }
        #expect(e?.code == 2013 || e?.code == 2003)
        let again = try await TestServer.start(port: server.port, dataDirectory: server.settings.dataDirectory)
        try await waitUntil("the pool to reconnect") { (try? await pool.query("SELECT 1").rows) == [["1"]] }
        await pool.close()
        await again.stop()
    }

    @Test func wrongPasswordThroughThePoolIs1045() async throws {
        let server = try await TestServer.start()
        let pool = MySQLClientPool(host: "127.0.0.1", port: server.port, user: "app", password: "bad", database: nil, size: 1, dial: StoreDialers.direct(group: testGroup))
        let e = await #expect(throws: StoreError.self) { try await pool.query("SELECT 1") }
        #expect(e?.description == "ERROR 1045 (28000): Access denied for user 'app'@'127.0.0.1' (using password: YES)")
        await pool.close()
        await server.stop()
    }
}
