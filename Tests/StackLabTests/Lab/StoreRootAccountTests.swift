import Foundation
import StackLabStore
import StackLabTestSupport
import Testing
@testable import StackLab

/// Who may log in as the store's root. The default lab keeps MySQL's old open root (no password, from 127.0.0.1:
/// what the no-firewall lesson shows); the hardened lab's root has a password and only its own server may use it,
/// as on a real MySQL 8 install. In both, the app, the replica and the shell's `sql` (root on the server itself)
/// keep working.
@Suite("The store's root account in the built-in labs", .serialized, .runsALab)
struct StoreRootAccountTests {
    static func login(_ lab: Lab, to host: String, from source: String, user: String = "root", password: String) async -> Result<StoreResult, Error> {
        let pool = MySQLClientPool(host: host, port: lab.network.port(3306), user: user, password: password, database: nil, size: 1,
                                   dial: StoreDialers.direct(group: lab.group, sourceAddress: source))
        defer { Task { await pool.close() } }
        do { return .success(try await pool.query("SELECT CURRENT_USER()")) } catch { return .failure(error) }
    }

    static func message(_ r: Result<StoreResult, Error>) -> String {
        switch r {
        case .success(let result): return result.rows.first?.first.flatMap { $0 } ?? ""
        case .failure(let error): return "\(error)"
        }
    }

    /// The app writes through web-01's nginx (as lb-01 would send it) and reads its post back through the replica.
    static func appWritesAndReads(_ lab: Lab, author: String) async throws {
        let client = HTTPClient(dialer: Dialer(network: lab.network, fromServer: "lb-01", sourceAddress: "127.0.1.1"), group: lab.group)
        let port = lab.network.port(8080)
        let created = try await client.request(method: "POST", host: "127.0.1.11", port: port, path: "/api/posts",
                                               headers: [("Host", "www.foobar.com"), ("Content-Type", "application/json")],
                                               body: #"{"author": "\#(author)", "body": "written by the app"}"#, timeout: 30)
        #expect(created.status == 201, "\(created.body)")
        try await waitUntil("the post read back through the replica") {
            let list = try await client.request(method: "GET", host: "127.0.1.11", port: port, path: "/api/posts",
                                                headers: [("Host", "www.foobar.com")], timeout: 30)
            return list.status == 200 && list.body.contains(author)
        }
    }

    @Test func theHardenedRootHasAPasswordAndOnlyItsOwnServerMayUseIt() async throws {
        let running = try await RunningLab.start("foobar-hardened")
        let lab = running.lab
        // From web-02 (the firewall lets it reach 3306): refused even with the password.
        let remote = await Self.login(lab, to: "127.0.1.11", from: "127.0.1.12", password: "root-secret")
        #expect(Self.message(remote) == "ERROR 1045 (28000): Access denied for user 'root'@'127.0.1.12' (using password: YES)")
        // On web-01 itself: the password is needed.
        let local = await Self.login(lab, to: "127.0.1.11", from: "127.0.1.11", password: "root-secret")
        #expect(Self.message(local) == "root@localhost")
        let noPassword = await Self.login(lab, to: "127.0.1.11", from: "127.0.1.11", password: "")
        #expect(Self.message(noPassword) == "ERROR 1045 (28000): Access denied for user 'root'@'127.0.1.11' (using password: NO)")
        // The shell's `sql` is root on the server itself, on the primary and on the replica (which copied the change).
        let primary = try #require((lab.process("web-01", .mysql) as? StoreProcess)?.store)
        let replica = try #require((lab.process("web-02", .mysql) as? StoreProcess)?.store)
        #expect(try await primary.execute("SELECT CURRENT_USER()").rows == [["root@localhost"]])
        try await waitUntil("the replica applied the root change") {
            (try? await replica.execute("SHOW GRANTS FOR 'root'@'127.0.0.1'")) == nil
        }
        #expect(try await replica.execute("SELECT COUNT(*) FROM foobar.posts").rows.first?.first != nil)
        try await Self.appWritesAndReads(lab, author: "hardened-app")
        let status = try #require(replica.status.replica)
        #expect(status.ioRunning == .yes && status.sqlRunning, "\(status.lastIOError) \(status.lastSQLError)")
        await running.cleanup()
    }

    @Test func theDefaultLabsRootIsOpenToTheInternetSide() async throws {
        let running = try await RunningLab.start("foobar")
        let lab = running.lab
        let open = await Self.login(lab, to: "127.0.1.11", from: LabNetwork.internetAddress, password: "")
        #expect(Self.message(open) == "root@127.0.0.1")
        let primary = try #require((lab.process("web-01", .mysql) as? StoreProcess)?.store)
        #expect(try await primary.execute("SELECT CURRENT_USER()").rows == [["root@localhost"]])
        try await Self.appWritesAndReads(lab, author: "default-app")
        await running.cleanup()
    }
}
