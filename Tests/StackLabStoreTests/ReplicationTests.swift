import Foundation
import Testing
@testable import StackLabStore

/// A primary and a replica on real sockets, the replica configured like the lab's web-02.
struct Pair {
    let primary: TestServer
    let replica: TestServer

    static func start(connectRetry: Int = 1, semiSync: Bool = false, primaryPort: Int = 0) async throws -> Pair {
        let primary = try await TestServer.start(name: "web-01", serverID: 1, port: primaryPort) { s in
            s.semiSyncSourceEnabled = semiSync
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64), body TEXT)"]
        }
        let replica = try await TestServer.start(name: "web-02", serverID: 2) { s in
            s.readOnly = true
            s.superReadOnly = true
            s.connectRetrySeconds = connectRetry
            s.initStatements = [
                "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=\(primary.port), SOURCE_USER='repl', SOURCE_PASSWORD='repl', SOURCE_CONNECT_RETRY=\(connectRetry)",
                "START REPLICA",
            ]
        }
        return Pair(primary: primary, replica: replica)
    }

    func stop() async {
        await replica.stop()
        await primary.stop()
    }

    func replicaCount() async throws -> Int {
        Int(try await replica.sql("SELECT COUNT(*) FROM foobar.posts").rows.first?.first.flatMap { $0 } ?? "0") ?? -1
    }

    func waitForReplicaCount(_ n: Int, timeout: Double = 60) async throws {
        try await waitUntil("replica to have \(n) rows", timeout: timeout) {
            (try? await replicaCount()) == n
        }
    }
}

@Suite("Replication", .serialized)
struct ReplicationTests {
    @Test func thousandInsertsReachTheReplicaInOrder() async throws {
        let pair = try await Pair.start()
        for i in 1...1000 {
            _ = try await pair.primary.sql("INSERT INTO foobar.posts (author, body) VALUES ('u\(i)', 'post \(i)')")
        }
        try await pair.waitForReplicaCount(1000)
        let rows = try await pair.replica.sql("SELECT id, author FROM foobar.posts ORDER BY id").rows
        #expect(rows.count == 1000)
        #expect(rows.enumerated().allSatisfy { i, r in r[0] == String(i + 1) && r[1] == "u\(i + 1)" })
        let status = try await pair.replica.sql("SHOW REPLICA STATUS")
        #expect(status.value("Replica_IO_Running") == "Yes")
        #expect(status.value("Replica_SQL_Running") == "Yes")
        let master = try await pair.primary.sql("SHOW BINARY LOG STATUS")
        #expect(status.value("Read_Source_Log_Pos") == master.value("Position"))
        #expect(status.value("Exec_Source_Log_Pos") == master.value("Position"))
        #expect(status.value("Source_Log_File") == "mysql-bin.000001")
        #expect(status.value("Seconds_Behind_Source") == "0")
        #expect(try await pair.replica.sql("SELECT @@gtid_executed").rows[0][0] == master.value("Executed_Gtid_Set"))
        await pair.stop()
    }
}

@Suite("Replication failures", .serialized)
struct ReplicationFailureTests {
    @Test func crashedPrimaryRestartsWithoutLosingOrRepeatingAcknowledgedWrites() async throws {
        let pair = try await Pair.start()
        var acknowledged: [Int] = []
        for i in 1...150 {
            if i == 101 { await pair.primary.crash() }
            do {
                let r = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('before-\(i)')")
                acknowledged.append(r.lastInsertID)
            } catch {
                #expect(i > 100, "only writes after the crash fail: \(error)")
            }
        }
        #expect(acknowledged.count == 100)
        // Same data directory, same port.
        let restarted = try await TestServer.start(name: "web-01", serverID: 1, port: pair.primary.port, dataDirectory: pair.primary.settings.dataDirectory)
        #expect(try await restarted.sql("SELECT COUNT(*) FROM foobar.posts").rows[0][0] == "100")
        #expect(try await restarted.sql("SHOW BINARY LOG STATUS").value("File") == "mysql-bin.000002")
        for i in 1...50 {
            let r = try await restarted.sql("INSERT INTO foobar.posts (author) VALUES ('after-\(i)')")
            acknowledged.append(r.lastInsertID)
        }
        try await Pair(primary: restarted, replica: pair.replica).waitForReplicaCount(150)
        let ids = try await pair.replica.sql("SELECT id FROM foobar.posts ORDER BY id").rows.compactMap { $0[0].flatMap(Int.init) }
        #expect(ids == acknowledged.sorted())
        let status = try await pair.replica.sql("SHOW REPLICA STATUS")
        #expect(status.value("Replica_SQL_Running") == "Yes")
        #expect(status.value("Last_SQL_Errno") == "0")
        #expect(status.value("Source_Log_File") == "mysql-bin.000002")
        #expect(pair.replica.logLines.all.contains { $0.contains("[MY-010562] [Repl] Replica I/O thread for channel '': connected to source 'repl@127.0.0.1:\(pair.primary.port)',replication started in log") })
        await pair.replica.stop()
        await restarted.stop()
    }

    @Test func asyncCrashLosesExactlyTheWritesPastTheReplicasPosition() async throws {
        let pair = try await Pair.start()
        var endPositions: [Int: UInt64] = [:]
        for i in 1...10 {
            let r = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('a\(i)')")
            endPositions[r.lastInsertID] = pair.primary.store.status.binlogPosition
        }
        try await pair.waitForReplicaCount(10)
        // The replica falls behind deterministically: its receiver stops.
        _ = try await pair.replica.sql("STOP REPLICA IO_THREAD")
        for i in 11...15 {
            let r = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('a\(i)')")
            endPositions[r.lastInsertID] = pair.primary.store.status.binlogPosition
        }
        await pair.primary.crash()
        let readPos = UInt64(try await pair.replica.sql("SHOW REPLICA STATUS").value("Read_Source_Log_Pos") ?? "") ?? 0
        // Promotion.
        _ = try await pair.replica.sql("STOP REPLICA; RESET REPLICA ALL; SET GLOBAL super_read_only=OFF; SET GLOBAL read_only=OFF")
        let onReplica = Set(try await pair.replica.sql("SELECT id FROM foobar.posts").rows.compactMap { $0[0].flatMap(Int.init) })
        let lost = Set(endPositions.keys).subtracting(onReplica)
        let pastPosition = Set(endPositions.filter { $0.value > readPos }.map(\.key))
        #expect(lost == [11, 12, 13, 14, 15])
        #expect(lost == pastPosition)
        #expect(try await pair.replica.sql("SHOW REPLICA STATUS").rows.isEmpty)
        let status = pair.replica.store.status
        #expect(status.role == .primary && !status.readOnly)
        let w = try await pair.replica.store.execute("INSERT INTO foobar.posts (author) VALUES ('after promotion')", user: "app")
        #expect(w.affectedRows == 1)
        await pair.replica.stop()
    }

    @Test func semiSyncLosesNoAcknowledgedWriteWhenThePrimaryCrashes() async throws {
        let pair = try await Pair.start(semiSync: true)
        try await waitUntil("replica receiver to connect") {
            pair.replica.store.status.replica?.ioRunning == .yes
        }
        var acknowledged: [Int] = []
        for i in 1...50 {
            acknowledged.append(try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('s\(i)')").lastInsertID)
        }
        let st = try await pair.primary.sql("SHOW STATUS LIKE 'Rpl_semi_sync_source_%'")
        #expect(st.rows.contains { $0 == ["Rpl_semi_sync_source_status", "ON"] })
        #expect(st.rows.contains { $0 == ["Rpl_semi_sync_source_no_tx", "0"] })
        // Crash at once: every acknowledged write is already in the replica's relay log.
        await pair.primary.crash()
        #expect(Int(pair.replica.store.status.replica?.retrievedGtidSet.split(separator: "-").last ?? "") ?? 0 >= 54)
        try await pair.waitForReplicaCount(50)
        let ids = try await pair.replica.sql("SELECT id FROM foobar.posts ORDER BY id").rows.compactMap { $0[0].flatMap(Int.init) }
        #expect(ids == acknowledged)
        await pair.replica.stop()
    }

    @Test func semiSyncFallsBackToAsyncAfterTheTimeout() async throws {
        let pair = try await Pair.start(semiSync: true)
        try await waitUntil("replica receiver to connect") { pair.replica.store.status.replica?.ioRunning == .yes }
        _ = try await pair.replica.sql("STOP REPLICA IO_THREAD")
        _ = try await pair.primary.sql("SET GLOBAL rpl_semi_sync_source_timeout = 300")
        let started = Date()
        _ = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('slow')")
        #expect(Date().timeIntervalSince(started) >= 0.3)
        #expect(try await pair.primary.sql("SHOW STATUS LIKE 'Rpl_semi_sync_source_status'").rows == [["Rpl_semi_sync_source_status", "OFF"]])
        #expect(pair.primary.logLines.all.contains { $0.contains("[Note] [MY-011155] [Repl] Semi-sync replication switched OFF.") })
        // Async now: no more waiting.
        let again = Date()
        _ = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('fast')")
        #expect(Date().timeIntervalSince(again) < 0.3)
        // The replica catches up and semi-sync switches back on.
        _ = try await pair.replica.sql("START REPLICA IO_THREAD")
        try await pair.waitForReplicaCount(2)
        try await waitUntil("semi-sync back on") {
            try await pair.primary.sql("SHOW STATUS LIKE 'Rpl_semi_sync_source_status'").rows == [["Rpl_semi_sync_source_status", "ON"]]
        }
        await pair.stop()
    }

    @Test func unreachableSourceShowsConnectingWithError2003() async throws {
        // A port nobody listens on: bind, read it, close.
        let probe = try await TestServer.start(name: "probe", serverID: 9)
        let port = probe.port
        await probe.stop()
        let replica = try await TestServer.start(name: "web-02", serverID: 2) { s in
            s.initStatements = ["CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=\(port), SOURCE_USER='repl', SOURCE_PASSWORD='repl', SOURCE_CONNECT_RETRY=1", "START REPLICA"]
        }
        try await waitUntil("IO thread to report the failure") {
            replica.store.status.replica?.lastIOErrno == 2003
        }
        let s = try await replica.sql("SHOW REPLICA STATUS")
        #expect(s.value("Replica_IO_Running") == "Connecting")
        #expect(s.value("Replica_SQL_Running") == "Yes")
        #expect(s.value("Seconds_Behind_Source") == nil)
        #expect(s.value("Connect_Retry") == "1")
        let error = s.value("Last_IO_Error") ?? ""
        #expect(error.hasPrefix("Error reconnecting to source 'repl@127.0.0.1:\(port)'. This was attempt "))
        #expect(error.hasSuffix("/86400, with a delay of 1 seconds between attempts. Message: Can't connect to MySQL server on '127.0.0.1:\(port)' (111)"))
        #expect(replica.logLines.all.contains { $0.contains("[ERROR] [MY-010584] [Repl] Replica I/O for channel '': Error reconnecting to source 'repl@127.0.0.1:\(port)'. This was attempt 1/86400") })
        // The source comes (back) on that port: the receiver connects by itself.
        let primary = try await TestServer.start(name: "web-01", serverID: 1, port: port) { s in
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64), body TEXT)"]
        }
        _ = try await primary.sql("INSERT INTO foobar.posts (author) VALUES ('x')")
        try await Pair(primary: primary, replica: replica).waitForReplicaCount(1)
        let after = try await replica.sql("SHOW REPLICA STATUS")
        #expect(after.value("Replica_IO_Running") == "Yes")
        #expect(after.value("Last_IO_Errno") == "0")
        await replica.stop()
        await primary.stop()
    }

    @Test func sourceDelayMakesLagVisible() async throws {
        let pair = try await Pair.start()
        try await pair.waitForReplicaCount(0)
        _ = try await pair.replica.sql("STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_DELAY=2; START REPLICA")
        let started = Date()
        _ = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('late')")
        try await waitUntil("the applier to hold the event") {
            try await pair.replica.sql("SHOW REPLICA STATUS").value("Replica_SQL_Running_State") == "Waiting until SOURCE_DELAY seconds after source executed event"
        }
        let s = try await pair.replica.sql("SHOW REPLICA STATUS")
        #expect(s.value("SQL_Delay") == "2")
        #expect(s.value("SQL_Remaining_Delay") != nil)
        #expect(try await pair.replicaCount() == 0)
        try await pair.waitForReplicaCount(1)
        #expect(Date().timeIntervalSince(started) >= 1.9)
        _ = try await pair.replica.sql("STOP REPLICA SQL_THREAD")
        #expect(try await pair.replica.sql("SHOW REPLICA STATUS").value("Seconds_Behind_Source") == nil)
        await pair.stop()
    }
}
