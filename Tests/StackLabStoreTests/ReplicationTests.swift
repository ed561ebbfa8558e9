import Foundation
import Testing
@testable import StackLabStore
import StackLabTestSupport

/// A primary and a replica on real sockets, the replica configured like the lab's web-02.
struct Pair {
    let primary: TestServer
    let replica: TestServer

    static func start(connectRetry: Int = 1, semiSync: Bool = false, primaryPort: Int = 0, autoPosition: Bool = false) async throws -> Pair {
        let primary = try await TestServer.start(name: "web-01", serverID: 1, port: primaryPort) { s in
            s.semiSyncSourceEnabled = semiSync
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64), body TEXT)"]
        }
        let replica = try await TestServer.start(name: "web-02", serverID: 2) { s in
            s.readOnly = true
            s.superReadOnly = true
            s.connectRetrySeconds = connectRetry
            s.initStatements = [
                "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=\(primary.port), SOURCE_USER='repl', SOURCE_PASSWORD='repl', SOURCE_CONNECT_RETRY=\(connectRetry), SOURCE_AUTO_POSITION=\(autoPosition ? 1 : 0)",
                "START REPLICA",
            ]
        }
        try await waitUntil("the replica's receiver to connect") { replica.store.status.replica?.ioRunning == .yes }
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
        try await waitUntil(timeout: timeout, "replica to have \(n) rows") {
            (try? await replicaCount()) == n
        }
    }
}

@Suite("Replication", .serialized, .runsALab)
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
        // The old spellings still work, with the old column names.
        let legacy = try await pair.replica.sql("SHOW SLAVE STATUS")
        #expect(Array(legacy.columns.prefix(13)) == ["Slave_IO_State", "Master_Host", "Master_User", "Master_Port", "Connect_Retry", "Master_Log_File",
                                                     "Read_Master_Log_Pos", "Relay_Log_File", "Relay_Log_Pos", "Relay_Master_Log_File", "Slave_IO_Running",
                                                     "Slave_SQL_Running", "Replicate_Do_DB"])
        #expect(legacy.value("Seconds_Behind_Master") == "0")
        #expect(legacy.columns.contains("Get_master_public_key"))
        #expect(try await pair.primary.sql("SHOW MASTER STATUS").rows == master.rows)
        _ = try await pair.replica.sql("STOP SLAVE")
        #expect(try await pair.replica.sql("SHOW SLAVE STATUS").value("Slave_IO_Running") == "No")
        _ = try await pair.replica.sql("CHANGE MASTER TO MASTER_CONNECT_RETRY=5; START SLAVE")
        #expect(try await pair.replica.sql("SHOW REPLICA STATUS").value("Connect_Retry") == "5")
        await pair.stop()
    }

    /// The lab boots its stores side by side: a replica whose primary does not listen yet must not spend its first
    /// attempt on it (refused, then Connect_Retry's 60 s). Held at boot, it dials once released.
    @Test func aReplicaHeldAtBootDialsItsSourceOnceReleased() async throws {
        let first = try await TestServer.start(name: "web-01", serverID: 1)
        let port = first.port, data = first.settings.dataDirectory
        await first.stop()
        let replica = try await TestServer.start(name: "web-02", serverID: 2, holdReplicaDials: true) { s in
            s.initStatements += [
                "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=\(port), SOURCE_USER='repl', SOURCE_PASSWORD='repl', SOURCE_CONNECT_RETRY=60",
                "START REPLICA",
            ]
        }
        let primary = try await TestServer.start(name: "web-01", serverID: 1, port: port, dataDirectory: data)
        replica.store.releaseReplicaDials()
        try await waitUntil(timeout: 30, "the replica's first dial to reach its primary") { replica.store.status.replica?.ioRunning == .yes }
        #expect(!replica.logLines.all.contains { $0.contains("MY-010584") })
        await replica.stop()
        await primary.stop()
    }
}

@Suite("Process list", .runsALab)
struct ProcessListTests {
    @Test func dumpThreadAndReplicaThreadsAreListed() async throws {
        let pair = try await Pair.start()
        try await pair.waitForReplicaCount(0)
        let onPrimary = try await pair.primary.sql("SHOW PROCESSLIST")
        #expect(onPrimary.columns == ["Id", "User", "Host", "db", "Command", "Time", "State", "Info"])
        #expect(onPrimary.rows.contains { $0[1] == "repl" && $0[4] == "Binlog Dump" && $0[6] == "Source has sent all binlog to replica; waiting for more updates" })
        let onReplica = try await pair.replica.sql("SHOW PROCESSLIST")
        #expect(onReplica.rows.contains { $0[1] == "system user" && $0[4] == "Connect" && $0[6] == "Waiting for source to send event" })
        #expect(onReplica.rows.contains { $0[1] == "system user" && $0[4] == "Query" && $0[6] == "Replica has read all relay log; waiting for more updates" })
        await pair.stop()
    }
}

@Suite("Replication failures", .serialized, .runsALab)
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
        // The replica lost its source: Connecting, 2003, "Error reconnecting".
        try await waitUntil("the replica to notice") { pair.replica.store.status.replica?.lastIOErrno == 2003 }
        let down = try await pair.replica.sql("SHOW REPLICA STATUS")
        #expect(down.value("Replica_IO_Running") == "Connecting")
        // The attempt number grows every Connect_Retry second: on a slow machine the test may see the second one.
        let ioError = down.value("Last_IO_Error") ?? ""
        let attempt = ioError.range(of: #"attempt [0-9]+/86400"#, options: .regularExpression).map { String(ioError[$0]) } ?? "?"
        #expect(ioError == "Error reconnecting to source 'repl@127.0.0.1:\(pair.primary.port)'. This was \(attempt), with a delay of 1 seconds between attempts. Message: Can't connect to MySQL server on '127.0.0.1:\(pair.primary.port)' (111)")
        #expect(attempt != "?")
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
        // Never connected since START REPLICA: "connecting" (after a lost source it says "reconnecting").
        #expect(error.hasPrefix("Error connecting to source 'repl@127.0.0.1:\(port)'. This was attempt "))
        #expect(error.hasSuffix("/86400, with a delay of 1 seconds between attempts. Message: Can't connect to MySQL server on '127.0.0.1:\(port)' (111)"))
        #expect(replica.logLines.all.contains { $0.contains("[ERROR] [MY-010584] [Repl] Replica I/O for channel '': Error connecting to source 'repl@127.0.0.1:\(port)'. This was attempt 1/86400, with a delay of 1 seconds between attempts. Message: Can't connect to MySQL server on '127.0.0.1:\(port)' (111), Error_code: MY-002003") })
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

@Suite("Replica restarts and failover", .serialized, .runsALab)
struct ReplicaLifecycleTests {
    func restart(_ server: TestServer, serverID: Int, name: String) async throws -> TestServer {
        try await TestServer.start(name: name, serverID: serverID, dataDirectory: server.settings.dataDirectory) { s in
            s.readOnly = server.settings.readOnly
            s.superReadOnly = server.settings.superReadOnly
        }
    }

    @Test(arguments: [false, true])
    func crashedReplicaResumesWithoutApplyingAnythingTwice(autoPosition: Bool) async throws {
        let pair = try await Pair.start(autoPosition: autoPosition)
        for i in 1...60 {
            _ = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('r\(i)')")
            if i == 30 { await pair.replica.crash() }
        }
        let replica = try await restart(pair.replica, serverID: 2, name: "web-02")
        let again = Pair(primary: pair.primary, replica: replica)
        try await again.waitForReplicaCount(60)
        for i in 61...70 { _ = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('r\(i)')") }
        try await again.waitForReplicaCount(70)
        let status = try await replica.sql("SHOW REPLICA STATUS")
        #expect(status.value("Replica_SQL_Running") == "Yes")
        #expect(status.value("Last_SQL_Error") == "")
        #expect(status.value("Auto_Position") == (autoPosition ? "1" : "0"))
        #expect(status.value("Relay_Log_File") == "relay-bin.000002", "a new relay log per receiver start")
        #expect(try await replica.sql("SELECT @@gtid_executed").rows[0][0] == pair.primary.store.status.gtidExecuted)
        await again.stop()
    }

    @Test func wrongBinlogCoordinatesStopTheReceiverWith13114() async throws {
        let pair = try await Pair.start()
        _ = try await pair.replica.sql("STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='mysql-bin.000009', SOURCE_LOG_POS=4; START REPLICA")
        try await waitUntil("the receiver to stop") { pair.replica.store.status.replica?.lastIOErrno == 13114 }
        let s = try await pair.replica.sql("SHOW REPLICA STATUS")
        #expect(s.value("Replica_IO_Running") == "No")
        #expect(s.value("Last_IO_Error") == "Got fatal error 1236 from source when reading data from binary log: 'Could not find first log file name in binary log index file'")
        #expect(pair.replica.logLines.all.contains { $0.contains("[ERROR] [MY-013114] [Repl] Replica I/O for channel '': Got fatal error 1236") })
        await pair.stop()
    }

    @Test func wrongReplicationPasswordKeepsRetryingWith1045() async throws {
        let pair = try await Pair.start()
        _ = try await pair.replica.sql("STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='wrong'; START REPLICA")
        try await waitUntil("the receiver to report the refusal") { pair.replica.store.status.replica?.lastIOErrno == 1045 }
        let s = try await pair.replica.sql("SHOW REPLICA STATUS")
        #expect(s.value("Replica_IO_Running") == "Connecting")
        #expect(s.value("Last_IO_Error")?.hasPrefix("Error connecting to source 'repl@127.0.0.1:\(pair.primary.port)'. This was attempt ") == true)
        #expect(s.value("Last_IO_Error")?.hasSuffix("Message: Access denied for user 'repl'@'127.0.0.1' (using password: YES)") == true)
        await pair.stop()
    }

    @Test func skipReplicaStartLeavesReplicationStoppedAfterARestart() async throws {
        let pair = try await Pair.start()
        await pair.replica.stop()
        let replica = try await TestServer.start(name: "web-02", serverID: 2, dataDirectory: pair.replica.settings.dataDirectory) { $0.skipReplicaStart = true }
        let s = try await replica.sql("SHOW REPLICA STATUS")
        #expect(s.value("Replica_IO_Running") == "No" && s.value("Replica_SQL_Running") == "No")
        #expect(s.value("Source_Port") == String(pair.primary.port), "the connection settings survive the restart")
        _ = try await replica.sql("START REPLICA")
        try await waitUntil("the receiver to connect") { replica.store.status.replica?.ioRunning == .yes }
        await replica.stop()
        await pair.primary.stop()
    }

    @Test func promotedReplicaTakesWritesAndTheOldPrimaryRejoinsByGTID() async throws {
        let pair = try await Pair.start(autoPosition: true)
        for i in 1...10 { _ = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('p\(i)')") }
        try await pair.waitForReplicaCount(10)
        await pair.primary.crash()
        // Before promotion the replica refuses the app's writes (a user without SUPER is told "--read-only" even
        // under super_read_only, as mysqld's err_readonly() does) …
        await expectError(pair.replica.store, "INSERT INTO foobar.posts (author) VALUES ('x')", user: "app",
                          "ERROR 1290 (HY000): The MySQL server is running with the --read-only option so it cannot execute this statement")
        await expectError(pair.replica.store, "INSERT INTO foobar.posts (author) VALUES ('x')",
                          "ERROR 1290 (HY000): The MySQL server is running with the --super-read-only option so it cannot execute this statement")
        _ = try await pair.replica.sql("STOP REPLICA")
        _ = try await pair.replica.sql("RESET REPLICA ALL")
        _ = try await pair.replica.sql("SET GLOBAL super_read_only=OFF")
        _ = try await pair.replica.sql("SET GLOBAL read_only=OFF")
        // … and takes them after.
        for i in 11...15 { _ = try await pair.replica.store.execute("INSERT INTO foobar.posts (author) VALUES ('n\(i)')", user: "app") }
        let newPrimary = pair.replica
        // The old primary comes back read-only and follows the new one with SOURCE_AUTO_POSITION=1.
        let old = try await TestServer.start(name: "web-01", serverID: 1, dataDirectory: pair.primary.settings.dataDirectory) { s in
            s.readOnly = true
        }
        _ = try await old.sql("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=\(newPrimary.port), SOURCE_USER='repl', SOURCE_PASSWORD='repl', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1; START REPLICA")
        try await Pair(primary: newPrimary, replica: old).waitForReplicaCount(15)
        #expect(try await old.sql("SELECT author FROM foobar.posts WHERE id > 10 ORDER BY id").rows.map { $0[0] } == ["n11", "n12", "n13", "n14", "n15"])
        #expect(old.store.status.gtidExecuted == newPrimary.store.status.gtidExecuted)
        #expect(old.store.status.gtidExecuted.contains(",\n"), "two sources' GTIDs")
        await old.stop()
        await newPrimary.stop()
    }

    @Test func applierErrorStopsTheSQLThreadWithMySQLsMessage() async throws {
        let pair = try await Pair.start()
        // The replica gets the table from the primary: wait for it before writing there.
        try await pair.waitForReplicaCount(0)
        // Someone wrote on the replica directly (as root, which read_only does not stop without super_read_only).
        _ = try await pair.replica.sql("SET GLOBAL super_read_only = OFF; INSERT INTO foobar.posts (id, author) VALUES (1, 'local')")
        _ = try await pair.primary.sql("INSERT INTO foobar.posts (author) VALUES ('from source')")
        try await waitUntil("the applier to stop") { pair.replica.store.status.replica?.sqlRunning == false }
        let s = try await pair.replica.sql("SHOW REPLICA STATUS")
        #expect(s.value("Replica_SQL_Running") == "No")
        #expect(s.value("Replica_IO_Running") == "Yes")
        #expect(s.value("Last_SQL_Errno") == "1062")
        #expect(s.value("Last_SQL_Error") == "Error 'Duplicate entry '1' for key 'posts.PRIMARY'' on query. Default database: ''. Query: 'INSERT INTO foobar.posts (author) VALUES ('from source')'")
        #expect(s.value("Seconds_Behind_Source") == nil)
        await pair.stop()
    }
}

@Suite("Silent sources", .serialized, .runsALab)
struct SilentSourceTests {
    @Test func heartbeatsKeepAnIdleReplicaConnectedAndSilenceMakesItReconnect() async throws {
        let primary = try await TestServer.start(name: "web-01", serverID: 1) { s in
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64))"]
        }
        let proxy = try await BlackholeProxy.start(to: primary.port)
        let replica = try await TestServer.start(name: "web-02", serverID: 2) { s in
            s.replicaNetTimeoutSeconds = 2
            s.initStatements = ["CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=\(proxy.port), SOURCE_USER='repl', SOURCE_PASSWORD='repl', SOURCE_CONNECT_RETRY=1, SOURCE_HEARTBEAT_PERIOD=0.2", "START REPLICA"]
        }
        let pair = Pair(primary: primary, replica: replica)
        try await pair.waitForReplicaCount(0)
        // Idle but alive: heartbeats arrive and the receiver stays connected far past replica_net_timeout's share.
        let channel = try #require(replica.store.replica)
        try await waitUntil("heartbeats") { channel.runtime.withLockedValue { $0.heartbeats } >= 12 }
        #expect(replica.store.status.replica?.ioRunning == .yes)
        #expect(replica.store.status.replica?.lastIOErrno == 0)
        // The network starts dropping packets: no FIN, no RST, just silence.
        proxy.blackholed = true
        try await waitUntil(timeout: 30, "the receiver to give up on the silent source") {
            replica.store.status.replica?.ioRunning == .connecting && replica.store.status.replica?.lastIOErrno == 2013
        }
        let s = try await replica.sql("SHOW REPLICA STATUS")
        #expect(s.value("Last_IO_Error")?.hasSuffix("Message: Lost connection to MySQL server at 'reading initial communication packet', system error: 110") == true)
        #expect(replica.logLines.all.contains { $0.contains("[MY-010557] [Repl] Error reading packet from server for channel '': Lost connection to MySQL server during query (server_errno=2013)") })
        // The network heals: the receiver reconnects and nothing written meanwhile is lost.
        _ = try await primary.sql("INSERT INTO foobar.posts (author) VALUES ('during the partition')")
        proxy.blackholed = false
        try await pair.waitForReplicaCount(1)
        #expect(replica.store.status.replica?.ioRunning == .yes)
        await replica.stop()
        await proxy.close()
        await primary.stop()
    }
}
