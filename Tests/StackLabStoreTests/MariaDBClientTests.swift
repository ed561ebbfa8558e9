import Foundation
import Testing
@testable import StackLabStore
import StackLabTestSupport

@Suite("The real mariadb client against the miniature", .enabled(if: MariaDBClient.available), .serialized, .runsALab)
struct MariaDBClientTests {
    @Test func createInsertSelectPrintsLikeMySQL() async throws {
        let server = try await TestServer.start()
        let out = try await MariaDBClient.running(port: server.port, ["-t", "-e", """
            CREATE DATABASE foobar; USE foobar;
            CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64), body TEXT);
            INSERT INTO posts (author, body) VALUES ('alice', 'hello'), ('bob', NULL);
            SELECT * FROM posts ORDER BY id;
            SELECT COUNT(*) FROM posts;
            """])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == """
            +----+--------+-------+
            | id | author | body  |
            +----+--------+-------+
            |  1 | alice  | hello |
            |  2 | bob    | NULL  |
            +----+--------+-------+
            +----------+
            | COUNT(*) |
            +----------+
            |        2 |
            +----------+

            """)
        // The in-process renderer prints the same table.
        let r = try await server.sql("SELECT * FROM foobar.posts ORDER BY id")
        #expect(r.renderTable() == """
            +----+--------+-------+
            | id | author | body  |
            +----+--------+-------+
            |  1 | alice  | hello |
            |  2 | bob    | NULL  |
            +----+--------+-------+
            2 rows in set (0.00 sec)

            """)
        await server.stop()
    }

    @Test func describeAndShowPrintLikeMySQL() async throws {
        let server = try await TestServer.start { s in
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64) NOT NULL, body TEXT, created_at DATETIME DEFAULT CURRENT_TIMESTAMP)"]
        }
        let out = try await MariaDBClient.running(port: server.port, database: "foobar", ["-t", "-e", "DESCRIBE posts; SHOW TABLES; SHOW DATABASES;"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == """
            +------------+-------------+------+-----+-------------------+-------------------+
            | Field      | Type        | Null | Key | Default           | Extra             |
            +------------+-------------+------+-----+-------------------+-------------------+
            | id         | int         | NO   | PRI | NULL              | auto_increment    |
            | author     | varchar(64) | NO   |     | NULL              |                   |
            | body       | text        | YES  |     | NULL              |                   |
            | created_at | datetime    | YES  |     | CURRENT_TIMESTAMP | DEFAULT_GENERATED |
            +------------+-------------+------+-----+-------------------+-------------------+
            +------------------+
            | Tables_in_foobar |
            +------------------+
            | posts            |
            +------------------+
            +--------------------+
            | Database           |
            +--------------------+
            | foobar             |
            | information_schema |
            +--------------------+

            """)
        await server.stop()
    }

    @Test func connectQueriesOfTheClientAreAnswered() async throws {
        let server = try await TestServer.start()
        let out = try await MariaDBClient.running(port: server.port, ["--batch", "-e", "select @@version_comment limit 1; SELECT DATABASE(); SET NAMES utf8mb4; show databases; select @@version, @@hostname, @@server_id, @@read_only"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == "@@version_comment\nSource distribution\nDATABASE()\nNULL\nDatabase\ninformation_schema\n@@version\t@@hostname\t@@server_id\t@@read_only\n8.0.40-stacklab\tweb-01\t1\t0\n")
        await server.stop()
    }

    @Test func warningsAndErrorsAreListedBySHOWWARNINGS() async throws {
        let server = try await TestServer.start()
        let out = try await MariaDBClient.running(port: server.port, user: "root", password: "", ["-t", "-e", "CREATE DATABASE IF NOT EXISTS mysql; SHOW WARNINGS"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == """
            +-------+------+------------------------------------------------+
            | Level | Code | Message                                        |
            +-------+------+------------------------------------------------+
            | Note  | 1007 | Can't create database 'mysql'; database exists |
            +-------+------+------------------------------------------------+

            """)
        var session = Session.root()
        _ = server.store.runScript("SELECT * FROM nosuch.t", session: &session)
        let shown = server.store.runScript("SHOW WARNINGS", session: &session)
        #expect(try shown.outcomes.first?.get().rows == [["Error", "1146", "Table 'nosuch.t' doesn't exist"]])
        await server.stop()
    }

    @Test func selectSleepIsASlowQueryThatBlocksNobodyElse() async throws {
        let server = try await TestServer.start()
        let started = Date()
        async let slow = Task.detached { () async throws -> (MariaDBClient.Output, Date) in
            let out = try await MariaDBClient.running(port: server.port, ["--batch", "-e", "SELECT SLEEP(3)"])
            return (out, Date())
        }.value
        // Meanwhile another client is served at once.
        try await waitUntil("the sleeping query to be listed") {
            try await server.sql("SHOW PROCESSLIST").rows.contains { $0[6] == "User sleep" && $0[7] == "SELECT SLEEP(3)" }
        }
        let quick = try await MariaDBClient.running(port: server.port, ["--batch", "-e", "SELECT 1"])
        let quickDone = Date()
        #expect(quick.stdout == "1\n1\n")
        let (out, slowDone) = try await slow
        #expect(out.stdout == "SLEEP(3)\n0\n")
        #expect(quickDone < slowDone)
        #expect(slowDone.timeIntervalSince(started) >= 3)
        await server.stop()
    }

    @Test func wrongPasswordIsAccessDenied1045() async throws {
        let server = try await TestServer.start()
        let out = try await MariaDBClient.running(port: server.port, password: "wrong", ["-e", "SELECT 1"])
        #expect(out.status != 0)
        #expect(out.stderr.contains("ERROR 1045 (28000): Access denied for user 'app'@'127.0.0.1' (using password: YES)"))
        await server.stop()
    }

    @Test func writeToReadOnlyStoreIsError1290() async throws {
        let server = try await TestServer.start { s in
            s.readOnly = true
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64))"]
        }
        let out = try await MariaDBClient.running(port: server.port, database: "foobar", ["-e", "INSERT INTO posts (author) VALUES ('x')"])
        #expect(out.stderr.contains("ERROR 1290 (HY000) at line 1: The MySQL server is running with the --read-only option so it cannot execute this statement"))
        // read_only spares SUPER users (root) …
        let root = try await MariaDBClient.running(port: server.port, user: "root", password: "", database: "foobar", ["-e", "INSERT INTO posts (author) VALUES ('root')"])
        #expect(root.status == 0, "\(root.stderr)")
        // … super_read_only does not.
        _ = try await server.sql("SET GLOBAL super_read_only = ON")
        let root2 = try await MariaDBClient.running(port: server.port, user: "root", password: "", database: "foobar", ["-e", "INSERT INTO posts (author) VALUES ('root')"])
        #expect(root2.stderr.contains("ERROR 1290 (HY000) at line 1: The MySQL server is running with the --super-read-only option so it cannot execute this statement"))
        await server.stop()
    }

    @Test func showReplicaStatusVertical() async throws {
        let pair = try await Pair.start()
        try await pair.waitForReplicaCount(0)
        let out = try await MariaDBClient.running(port: pair.replica.port, user: "root", password: "", ["-e", "SHOW REPLICA STATUS\\G"])
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "*************************** 1. row ***************************")
        let names = lines.dropFirst().compactMap { $0.split(separator: ":", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) }
        let required = ["Replica_IO_State", "Source_Host", "Source_User", "Source_Port", "Connect_Retry", "Source_Log_File", "Read_Source_Log_Pos",
                        "Relay_Log_File", "Relay_Log_Pos", "Relay_Source_Log_File", "Replica_IO_Running", "Replica_SQL_Running", "Last_Errno",
                        "Last_Error", "Exec_Source_Log_Pos", "Seconds_Behind_Source", "Last_IO_Errno", "Last_IO_Error", "Last_SQL_Errno",
                        "Last_SQL_Error", "Source_Server_Id", "Source_UUID", "SQL_Delay", "Replica_SQL_Running_State", "Retrieved_Gtid_Set",
                        "Executed_Gtid_Set", "Auto_Position"]
        #expect(names.filter { required.contains($0) } == required, "in MySQL 8's order")
        // The client right-aligns names to the longest one (Source_SSL_Verify_Server_Cert).
        #expect(lines.contains("           Replica_IO_Running: Yes"))
        #expect(lines.contains("               Relay_Log_File: relay-bin.000001"))
        #expect(lines.contains("    Replica_SQL_Running_State: Replica has read all relay log; waiting for more updates"))
        #expect(lines.contains("Source_SSL_Verify_Server_Cert: No"))
        // The in-process renderer lays it out the same way.
        let r = try await pair.replica.sql("SHOW REPLICA STATUS")
        #expect(r.renderVertical().hasPrefix(out.stdout.split(separator: "\n").prefix(13).joined(separator: "\n")))
        await pair.stop()
    }
}
