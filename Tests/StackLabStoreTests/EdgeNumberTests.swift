import Foundation
import Testing
import StackLabTestSupport
@testable import StackLabStore

/// Numbers at the edges of their types get MySQL 8's answers, and nothing a client sends traps the process.
@Suite("Numbers at the edges get MySQL's answers, never a trap", .runsALab)
struct EdgeNumberTests {
    static let bigMax = "9223372036854775807"

    @Test func limitAndOffsetUpTo2To64Minus1ReturnTheRows() async throws {
        let s = try await startedStore()
        _ = try await s.execute("INSERT INTO foobar.posts (author) VALUES ('a'), ('b'), ('c')")
        let cases: [(String, [[String?]])] = [
            ("SELECT id FROM foobar.posts ORDER BY id DESC LIMIT 9223372036854775807 OFFSET 1", [["2"], ["1"]]),
            ("SELECT id FROM foobar.posts ORDER BY id DESC LIMIT 18446744073709551615 OFFSET 18446744073709551615", []),
            ("SELECT id FROM foobar.posts ORDER BY id LIMIT 1, 18446744073709551615", [["2"], ["3"]]),
            ("SELECT id FROM foobar.posts LIMIT 18446744073709551615", [["1"], ["2"], ["3"]]),
            ("SELECT id FROM foobar.posts ORDER BY author DESC LIMIT 9223372036854775807 OFFSET 9223372036854775807", []),
            ("SELECT COUNT(*) FROM foobar.posts LIMIT 18446744073709551615 OFFSET 0", [["3"]]),
        ]
        for (sql, rows) in cases {
            #expect(try await s.execute(sql).rows == rows, "\(sql)")
        }
        #expect(try await s.execute("UPDATE foobar.posts SET author = 'x' LIMIT 18446744073709551615").affectedRows == 3)
        #expect(try await s.execute("DELETE FROM foobar.posts WHERE id = 3 LIMIT 18446744073709551615").affectedRows == 1)
        await expectError(s, "SELECT id FROM foobar.posts LIMIT 18446744073709551616", "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '18446744073709551616' at line 1")
        await expectError(s, "SELECT id FROM foobar.posts LIMIT -1", "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '-1' at line 1")
        await s.stop()
    }

    /// MySQL 8's own test (mysql-test/suite/innodb/t/innodb-autoinc.test): a signed AUTO_INCREMENT column takes its
    /// maximum; the counter then stays there, so the next generated row repeats it: ER_DUP_ENTRY. (1467 is BIGINT
    /// UNSIGNED's answer; MariaDB 10.11 answers 167 "Out of range value".)
    @Test func bigintAutoIncrementTakesItsMaximumAndRefusesTheNextGeneratedRow() async throws {
        let s = try await startedStore { $0.initStatements += ["CREATE TABLE foobar.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)"] }
        #expect(try await s.execute("INSERT INTO foobar.t (id) VALUES (\(Self.bigMax))").affectedRows == 1)
        await expectError(s, "INSERT INTO foobar.t (v) VALUES (1)", "ERROR 1062 (23000): Duplicate entry '\(Self.bigMax)' for key 't.PRIMARY'")
        await expectError(s, "INSERT INTO foobar.t (id) VALUES (9223372036854775808)", "ERROR 1264 (22003): Out of range value for column 'id' at row 1")
        #expect(try await s.execute("SELECT id FROM foobar.t").rows == [[Self.bigMax]])

        // A generated id reaching the maximum.
        _ = try await s.execute("CREATE TABLE foobar.g (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
        _ = try await s.execute("INSERT INTO foobar.g (id) VALUES (9223372036854775806)")
        let generated = try await s.execute("INSERT INTO foobar.g (v) VALUES (1)")
        #expect(generated.lastInsertID == Int(Self.bigMax))
        await expectError(s, "INSERT INTO foobar.g (v) VALUES (2)", "ERROR 1062 (23000): Duplicate entry '\(Self.bigMax)' for key 'g.PRIMARY'")
        await expectError(s, "INSERT INTO foobar.g (v) VALUES (3), (4)", "ERROR 1062 (23000): Duplicate entry '\(Self.bigMax)' for key 'g.PRIMARY'")

        // UPDATE moves the counter (MySQL 8 persists it), to the maximum at most.
        _ = try await s.execute("CREATE TABLE foobar.u (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
        _ = try await s.execute("INSERT INTO foobar.u (v) VALUES (1)")
        #expect(try await s.execute("UPDATE foobar.u SET id = \(Self.bigMax)").affectedRows == 1)
        await expectError(s, "INSERT INTO foobar.u (v) VALUES (2)", "ERROR 1062 (23000): Duplicate entry '\(Self.bigMax)' for key 'u.PRIMARY'")
        #expect(try await s.execute("SHOW CREATE TABLE foobar.u").rows.first?[1]?.contains("AUTO_INCREMENT=\(Self.bigMax)") == true)
        await s.stop()
    }

    @Test func intAutoIncrementNeverGeneratesPastTheIntRange() async throws {
        let s = try await startedStore()
        _ = try await s.execute("INSERT INTO foobar.posts (id, author) VALUES (2147483646, 'a')")
        #expect(try await s.execute("INSERT INTO foobar.posts (author) VALUES ('b')").lastInsertID == 2_147_483_647)
        await expectError(s, "INSERT INTO foobar.posts (author) VALUES ('c')", "ERROR 1062 (23000): Duplicate entry '2147483647' for key 'posts.PRIMARY'")
        await expectError(s, "INSERT INTO foobar.posts (id, author) VALUES (2147483648, 'd')", "ERROR 1264 (22003): Out of range value for column 'id' at row 1")
        #expect(try await s.execute("SELECT MAX(id) FROM foobar.posts").rows == [["2147483647"]])
        await s.stop()
    }

    /// The saved lab folder of the crash: the counter at the maximum in the data directory after a graceful stop and
    /// after a kill. Every later start works, and the next insert is an error, not a crash.
    @Test func aDataDirectoryAtTheMaximumStartsAgainAfterAStopAndAfterACrash() async throws {
        let dir = TestServer.temporaryDirectory("automax")
        var server = try await TestServer.start(dataDirectory: dir) { s in
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)",
                                 "INSERT INTO foobar.t (id) VALUES (9223372036854775806)", "INSERT INTO foobar.t (v) VALUES (1)"]
        }
        await expectError(server.store, "INSERT INTO foobar.t (v) VALUES (2)", "ERROR 1062 (23000): Duplicate entry '\(Self.bigMax)' for key 't.PRIMARY'")
        await server.stop()
        server = try await TestServer.start(port: server.port, dataDirectory: dir)
        await expectError(server.store, "INSERT INTO foobar.t (v) VALUES (3)", "ERROR 1062 (23000): Duplicate entry '\(Self.bigMax)' for key 't.PRIMARY'")
        _ = try await server.sql("INSERT INTO foobar.t (id, v) VALUES (5, 5)")
        await server.crash()
        server = try await TestServer.start(port: server.port, dataDirectory: dir)
        #expect(try await server.sql("SELECT id FROM foobar.t ORDER BY id").rows == [["5"], ["9223372036854775806"], [Self.bigMax]])
        await expectError(server.store, "INSERT INTO foobar.t (v) VALUES (4)", "ERROR 1062 (23000): Duplicate entry '\(Self.bigMax)' for key 't.PRIMARY'")
        await server.stop()
    }

    /// A DECIMAL keeps its digits and its scale in the data directory across a graceful stop and a kill.
    @Test func aDecimalColumnKeepsItsDigitsAcrossAStopAndACrash() async throws {
        let dir = TestServer.temporaryDirectory("decimal")
        var server = try await TestServer.start(dataDirectory: dir) { s in
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.p (id INT PRIMARY KEY, price DECIMAL(20,2))",
                                 "INSERT INTO foobar.p VALUES (1, 0.1), (2, 123456789012345678.99)",
                                 "CREATE TABLE foobar.u (id BIGINT UNSIGNED PRIMARY KEY)", "INSERT INTO foobar.u VALUES (18446744073709551615)"]
        }
        let expected: [[String?]] = [["1", "0.10"], ["2", "123456789012345678.99"]]
        #expect(try await server.sql("SELECT id, price FROM foobar.p ORDER BY id").rows == expected)
        await server.stop()
        server = try await TestServer.start(port: server.port, dataDirectory: dir)
        #expect(try await server.sql("SELECT id, price FROM foobar.p ORDER BY id").rows == expected)
        _ = try await server.sql("INSERT INTO foobar.p VALUES (3, 9.999)")
        await server.crash()
        server = try await TestServer.start(port: server.port, dataDirectory: dir)
        #expect(try await server.sql("SELECT id, price FROM foobar.p ORDER BY price DESC").rows == [["2", "123456789012345678.99"], ["3", "10.00"], ["1", "0.10"]])
        #expect(try await server.sql("SELECT SUM(price) FROM foobar.p").rows == [["123456789012345689.09"]])
        // The UNSIGNED column is still one: its largest value is there, and -1 is out of range.
        #expect(try await server.sql("SELECT id FROM foobar.u").rows == [["18446744073709551615"]])
        await expectError(server.store, "INSERT INTO foobar.u VALUES (-1)", "ERROR 1264 (22003): Out of range value for column 'id' at row 1")
        #expect(try await server.sql("SHOW CREATE TABLE foobar.u").rows.first?.last??.contains("`id` bigint unsigned NOT NULL") == true)
        await server.stop()
    }

    @Test func anInitFileInsertingTheMaximumStartsEveryTime() async throws {
        let dir = TestServer.temporaryDirectory("initmax")
        let setup: (inout StoreSettings) -> Void = { s in
            s.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.t (id BIGINT AUTO_INCREMENT PRIMARY KEY)",
                                 "INSERT INTO foobar.t (id) VALUES (9223372036854775807)", "INSERT INTO foobar.t (id) VALUES (NULL)"]
        }
        var server = try await TestServer.start(dataDirectory: dir, configure: setup)
        #expect(server.logLines.all.contains { $0.contains("1062  Duplicate entry '\(Self.bigMax)' for key 't.PRIMARY'") })
        await server.crash()
        server = try await TestServer.start(port: server.port, dataDirectory: dir, configure: setup)
        #expect(try await server.sql("SELECT id FROM foobar.t").rows == [[Self.bigMax]])
        await server.stop()
        // A fresh data directory runs the init file again: it still starts.
        let fresh = try await TestServer.start(configure: setup)
        #expect(try await fresh.sql("SELECT COUNT(*) FROM foobar.t").rows == [["1"]])
        await fresh.stop()
    }

    @Test func arithmeticPastBigintAndDoubleIs1690() async throws {
        let s = try await startedStore()
        await expectError(s, "SELECT 9223372036854775807 + 1", "ERROR 1690 (22003): BIGINT value is out of range in '(9223372036854775807 + 1)'")
        let big = String(repeating: "9", count: 300)
        for sql in ["SELECT -9223372036854775808 - 1", "SELECT 9223372036854775807 * 2", "SELECT -9223372036854775808 DIV -1",
                    "SELECT ABS(-9223372036854775808)", "SELECT \(big) * \(big)", "SELECT -\(big) * \(big)"] {
            #expect(Self.errorCode(s, sql) == 1690, "\(sql.prefix(60))")
        }
        #expect(Self.errorCode(s, "SELECT \(String(repeating: "9", count: 400))") == 1367)
        #expect(try await s.execute("SELECT -9223372036854775808 % -1, 5 % 0, 9223372036854775807 DIV -1").rows == [["0", nil, "-9223372036854775807"]])
        await s.stop()
    }

    static func errorCode(_ store: MySQLStore, _ sql: String) -> Int? {
        var session = Session.root()
        guard case .failure(let e) = store.runScript(sql, session: &session).outcomes.last else { return nil }
        return e.code
    }

    @Test func createTableKeepsMySQLsColumnAndKeyLimits() async throws {
        let s = try await startedStore()
        let wide = (0..<1018).map { "c\($0) TINYINT" }.joined(separator: ", ")
        await expectError(s, "CREATE TABLE foobar.w (\(wide))", "ERROR 1117 (HY000): Too many columns")
        #expect(try await s.execute("CREATE TABLE foobar.w (\((0..<1017).map { "c\($0) TINYINT" }.joined(separator: ", ")))").affectedRows == 0)
        await expectError(s, "CREATE TABLE foobar.v (a VARCHAR(16384))", "ERROR 1074 (42000): Column length too big for column 'a' (max = 16383); use BLOB or TEXT instead")
        await expectError(s, "CREATE TABLE foobar.v (a CHAR(256))", "ERROR 1074 (42000): Column length too big for column 'a' (max = 255); use BLOB or TEXT instead")
        await expectError(s, "CREATE TABLE foobar.v (a VARCHAR(9223372036854775807))", "ERROR 1439 (42000): Display width out of range for column 'a' (max = 4294967295)")
        await expectError(s, "CREATE TABLE foobar.v (a VARCHAR(99999999999999999999999))", "ERROR 1439 (42000): Display width out of range for column 'a' (max = 4294967295)")
        await expectError(s, "CREATE TABLE foobar.v (a INT(256))", "ERROR 1439 (42000): Display width out of range for column 'a' (max = 255)")
        let keys = (0..<65).map { "c\($0) INT UNIQUE" }.joined(separator: ", ")
        await expectError(s, "CREATE TABLE foobar.k (\(keys))", "ERROR 1069 (42000): Too many keys specified; max 64 keys allowed")
        let parts = (0..<17).map { "c\($0)" }
        await expectError(s, "CREATE TABLE foobar.k (\(parts.map { "\($0) INT" }.joined(separator: ", ")), UNIQUE KEY (\(parts.joined(separator: ","))))",
                          "ERROR 1070 (42000): Too many key parts specified; max 16 parts allowed")
        #expect(try await s.execute("CREATE TABLE foobar.v (a VARCHAR(16383), b CHAR(255))").affectedRows == 0)
        await s.stop()
    }

    @Test func exhaustedTransactionNumbersRefuseWritesWith1775() async throws {
        let s = try await startedStore()
        let uuid = s.engine.serverUUID
        s.engine.state.withLockedValue { $0.gtidExecuted.insert(uuid: uuid, gno: .max) }
        await expectError(s, "INSERT INTO foobar.posts (author) VALUES ('x')", "ERROR 1775 (HY000): Impossible to generate GTID: the integer component reached the maximum value. Restart the server with a new server_uuid.")
        // The refused statement changed nothing.
        #expect(try await s.execute("SELECT COUNT(*) FROM foobar.posts").rows == [["0"]])
        await s.stop()
    }

    /// A data directory's dictionary edited by hand: an index naming a column that is not there, a VARCHAR length
    /// past any real one, the AUTO_INCREMENT counter at its end.
    @Test func aDictionaryEditedByHandIsRepaired() async throws {
        let dir = TestServer.temporaryDirectory("edited")
        let first = try await startedStore { s in
            s.dataDirectory = dir
            s.initStatements = ["CREATE DATABASE foobar", "CREATE TABLE foobar.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))",
                                "INSERT INTO foobar.t VALUES (1, NULL), (2, 'b')"]
        }
        await first.stop()
        let file = try SQLiteConnection(path: dir + "/foobar.sqlite")
        guard let text = try file.query(#"SELECT definition FROM "/dictionary" WHERE name = 't'"#).first?.first?.text else {
            Issue.record("no definition of t")
            return
        }
        var definition = try JSONDecoder().decode(TableDefinition.self, from: Data(text.utf8))
        definition.indexes.append(UniqueIndex(name: "ghost", columns: [7]))
        definition.columns[1].kind = .varchar(9_223_372_036_854_775_807)
        definition.autoIncrement = .max
        let edited = String(decoding: try JSONEncoder().encode(definition), as: UTF8.self)
        _ = try file.query(#"UPDATE "/dictionary" SET definition = ?1 WHERE name = 't'"#, [.string(edited)])
        let s = try await startedStore { $0.dataDirectory = dir }
        #expect(try await s.execute("UPDATE foobar.t SET id = id + 10, v = 'x'").affectedRows == 2)
        #expect(try await s.execute("SELECT * FROM foobar.t ORDER BY id").rows == [["11", "x"], ["12", "x"]])
        #expect(try await s.execute("SHOW CREATE TABLE foobar.t").rows.first?[1]?.contains("PRIMARY KEY (`id`)") == true)
        // The counter at Int64.max is the column's maximum: used once, then refused.
        #expect(try await s.execute("INSERT INTO foobar.t (v) VALUES ('y')").lastInsertID == Int(Self.bigMax))
        await expectError(s, "INSERT INTO foobar.t (v) VALUES ('z')", "ERROR 1062 (23000): Duplicate entry '\(Self.bigMax)' for key 't.PRIMARY'")
        await s.stop()
    }

    /// max_binlog_size: a full file ends with a ROTATE event and the next one begins, with every GTID so far.
    @Test func aFullBinlogFileRotatesToTheNext() throws {
        let dir = TestServer.temporaryDirectory("rotate")
        let log = BinaryLog(directory: dir, baseName: "mysql-bin", serverID: 1, version: StoreEngine.version, fsync: false, maxFileSize: 600)
        try log.open(executed: GTIDSet())
        var ends: [(String, UInt64)] = []
        for gno in 1...4 {
            ends.append(try log.appendTransaction(uuid: "3e11fa47-71ca-11e1-9e33-c80aa9429562", gno: Int64(gno), database: "foobar",
                                                  sql: "INSERT INTO t VALUES (\(gno), '\(String(repeating: "x", count: 100))')", insertID: 0, millis: 0))
        }
        #expect(log.fileList.map(\.name) == ["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"])
        #expect(ends.map(\.0) == ["mysql-bin.000001", "mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000002"])
        #expect(ends.allSatisfy { $0.1 < 1000 })
        let kinds = log.entries(from: 0, max: 100).map { "\($0.file.suffix(1)):\($0.event.kind)" }
        #expect(kinds.filter { $0.hasSuffix("rotate") } == ["1:rotate", "2:rotate"])
        log.close(graceful: true)
        // Reopened, the log continues with the next number and keeps every transaction.
        let again = BinaryLog(directory: dir, baseName: "mysql-bin", serverID: 1, version: StoreEngine.version, fsync: false)
        var executed = GTIDSet()
        for gno in 1...4 { executed.insert(uuid: "3e11fa47-71ca-11e1-9e33-c80aa9429562", gno: Int64(gno)) }
        try again.open(executed: executed)
        #expect(again.status.file == "mysql-bin.000004")
        #expect(again.entries(from: 0, max: 100).filter { $0.event.kind == .xid }.count == 4)
        again.close(graceful: true)
    }

    @Test func aBinlogIndexAtTheLastExtensionNumberIsAnErrorNotATrap() throws {
        let dir = TestServer.temporaryDirectory("binlogindex")
        try "./mysql-bin.9223372036854775807\n".write(toFile: dir + "/mysql-bin.index", atomically: true, encoding: .utf8)
        let log = BinaryLog(directory: dir, baseName: "mysql-bin", serverID: 1, version: StoreEngine.version, fsync: false)
        #expect(throws: StoreError.self) { try log.open(executed: GTIDSet()) }
    }
}

/// The same statements through the real mariadb client, against the miniature and against a real MariaDB 10.11.
/// Where MySQL 8 (which the miniature follows) and MariaDB differ, the test says so and checks what they share.
extension SideBySideWithRealMariaDB {
@Suite("Edge numbers", .runsALab)
struct EdgeNumbers {
    /// `ERROR 1264 (22003) at line 1: Out of range …` without the line: what both servers said.
    static func answer(_ out: MariaDBClient.Output) -> String {
        if out.status == 0 { return out.stdout }
        let line = out.stderr.split(separator: "\n").first { $0.hasPrefix("ERROR") }.map(String.init) ?? out.stderr
        return line.replacingOccurrences(of: " at line 1", with: "")
    }

    static func code(_ out: MariaDBClient.Output) -> String {
        String(answer(out).prefix { $0 != ":" })
    }

    func both(_ ours: TestServer, _ real: RealMariaDB, _ sql: String) async throws -> (ours: MariaDBClient.Output, real: MariaDBClient.Output) {
        let a = try await MariaDBClient.running(port: ours.port, database: "foobar", ["--batch", "-e", sql])
        let b = try await MariaDBClient.running(port: real.port, database: "foobar", ["--batch", "-e", sql])
        return (a, b)
    }

    /// BIGINT UNSIGNED, DECIMAL and DOUBLE values print as the real server prints them, digit for digit.
    @Test func exactAndApproximateNumbersPrintAlike() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        let setup = "DROP TABLE IF EXISTS exact; CREATE TABLE exact (id INT PRIMARY KEY, v INT); INSERT INTO exact VALUES (1, 1), (2, 2), (3, 4)"
        let made = try await both(ours, real, setup)
        #expect(made.ours.status == 0 && made.real.status == 0, "\(made.ours.stderr) \(made.real.stderr)")
        for sql in ["SELECT 18446744073709551615, 18446744073709551616, 9223372036854775808, -9223372036854775809",
                    "SELECT 0.1 + 0.2, 1.50 * 2, 1.5 / 3, 10 / 4, 1 / 3, 5 % 3.0, 7 DIV 2.0, 1.0 / 0, 2.50 + 1, -1.5 * 2",
                    "SELECT 9223372036854775807 + 0.5, 18446744073709551615 - 1, 1 = 1.0, 0.10 = 0.1, 0.1 + 0.2 = 0.3",
                    "SELECT 1e15, 1e14, 1.5e300, 2.5e-5, 1e0/3, 1e-16, 1e-15, 1234567890123456.7e0, 12345678901234567e0, -0e0",
                    "SELECT 0.1e0 + 0.2e0, 1.25e-7, 1e0 / 3 * 1e20, '10' / 4",
                    "SELECT ROUND(1.5, 3), ROUND(1.2345, 2), ROUND(-2.5), ROUND(2.5e0), ROUND(3.5e0), ROUND(1.25e0, 1)",
                    "SELECT ROUND(23.298, -1), ROUND(25, -1), FLOOR(-1.5), CEIL(1.2), ABS(-2.50)",
                    "SELECT AVG(v), SUM(v), AVG(v * 1.5), SUM(v * 1.5), MAX(v / 3) FROM exact",
                    "INSERT INTO exact VALUES (4, 2.5)", "SELECT v FROM exact WHERE id = 4",
                    "DROP TABLE IF EXISTS prices", "CREATE TABLE prices (id INT PRIMARY KEY, p DECIMAL(5,2), q DECIMAL)",
                    "INSERT INTO prices VALUES (1, 1.005, 2.5), (2, -2.5, 10), (3, '3.14159', '7'), (4, 999.994, 1e3), (5, 0.1e0, -0.4)",
                    "SELECT id, p, q, p * 2, p + q, p / 3 FROM prices ORDER BY p", "SELECT SUM(p), AVG(p), MAX(p), MIN(q) FROM prices",
                    "SELECT id FROM prices WHERE p = 1.01 OR p > 999", "UPDATE prices SET p = p + 0.005 WHERE id = 5",
                    "SELECT p FROM prices WHERE id = 5",
                    "DROP TABLE IF EXISTS uns", "CREATE TABLE uns (id INT UNSIGNED PRIMARY KEY, b BIGINT UNSIGNED, t TINYINT UNSIGNED)",
                    "INSERT INTO uns VALUES (4294967295, 18446744073709551615, 255), (1, 9223372036854775808, 2.5), (2, '7', 0)",
                    "SELECT id, b, t, b - 1, id + 1 FROM uns ORDER BY b DESC", "SELECT MAX(b), MIN(b), SUM(t) FROM uns"] {
            let r = try await both(ours, real, sql)
            #expect(Self.answer(r.ours) == Self.answer(r.real), "\(sql)")
        }
        // Same error number (MariaDB writes the expression without MySQL 8's parentheses, and its SQLSTATE for 1366
        // is 22007 where MySQL 8's is HY000).
        for sql in ["SELECT 18446744073709551615 + 1", "SELECT 0 - 18446744073709551615", "SELECT 1e400",
                    "INSERT INTO exact VALUES (5, 18446744073709551615)", "INSERT INTO prices VALUES (6, 999.995, 0)",
                    "INSERT INTO prices VALUES (7, 'abc', 0)", "INSERT INTO prices VALUES (8, '1.5x', 0)",
                    "CREATE TABLE wide (a DECIMAL(66))", "CREATE TABLE odd (a DECIMAL(5,6))",
                    "INSERT INTO uns VALUES (3, -1, 0)", "INSERT INTO uns VALUES (4, 0, 256)", "INSERT INTO uns VALUES (-5, 0, 0)"] {
            let r = try await both(ours, real, sql)
            #expect(r.ours.status != 0 && Self.code(r.ours).prefix(10) == Self.code(r.real).prefix(10), "\(sql): \(Self.answer(r.ours)) / \(Self.answer(r.real))")
        }
        await ours.stop()
    }

    /// String, date, math and CAST functions a learner reaches for, answered as the real server answers; the
    /// built-ins the miniature leaves out are ERROR 1235 naming them, never "does not exist".
    @Test func everydayFunctionsAnswerAlike() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        let setup = "DROP TABLE IF EXISTS notes; CREATE TABLE notes (id INT PRIMARY KEY, body TEXT, at DATETIME); "
            + "INSERT INTO notes VALUES (1, 'hello world', '2026-12-01 10:30:05'), (2, '  padded  ', '2024-02-29 23:59:59')"
        let made = try await both(ours, real, setup)
        #expect(made.ours.status == 0 && made.real.status == 0, "\(made.ours.stderr) \(made.real.stderr)")
        for sql in ["SELECT SUBSTRING('hello', 2, 3), SUBSTRING('hello', -3), SUBSTRING('hello', 0), SUBSTR('hello', 2), MID('hello', 5, 10)",
                    "SELECT REPLACE('aaa', 'a', 'b'), TRIM('  x  '), LTRIM('  x'), RTRIM('x  '), LEFT('hello', 2), RIGHT('hello', 10)",
                    "SELECT CONCAT_WS('-', 'a', NULL, 'b'), REVERSE('abc'), REPEAT('ab', 3), LOCATE('l', 'hello'), LOCATE('l', 'hello', 4), INSTR('hello', 'LL')",
                    "SELECT GREATEST(1, 5, 3), LEAST(4, 2), GREATEST('a', 'B'), LEAST(1, NULL), MOD(10, 4), MOD(-7, 3), MOD(7.5, 2)",
                    "SELECT POWER(2, 10), POW(2, 0.5), SQRT(16), SQRT(2), SQRT(-1), SIGN(-3), SIGN(0)",
                    "SELECT id, DATE(at), YEAR(at), MONTH(at), DAY(at), HOUR(at), MINUTE(at), SECOND(at), TRIM(body), LEFT(body, 5) FROM notes ORDER BY id",
                    "SELECT DATE('2026-02-30'), DATE('2024-02-29'), YEAR('nonsense'), DATE('2026-12-01 23:59:59')",
                    "SELECT CAST('12' AS UNSIGNED), CAST(3.7 AS SIGNED), CAST(1 AS CHAR), CAST(-1 AS UNSIGNED), CAST(18446744073709551615 AS SIGNED)",
                    "SELECT CAST('2.5' AS DECIMAL(5,2)), CAST(1/3 AS DECIMAL(10,4)), CAST(12 AS DOUBLE), CAST('2026-12-01 10:00:00' AS DATE)",
                    "SELECT CONVERT('7', SIGNED), CAST(2.5 AS SIGNED), CAST(-2.5 AS SIGNED), CAST(1e300 AS SIGNED)"] {
            let r = try await both(ours, real, sql)
            #expect(Self.answer(r.ours) == Self.answer(r.real), "\(sql)")
        }
        let left = try await MariaDBClient.running(port: ours.port, database: "foobar", ["--batch", "-e", "SELECT DATE_FORMAT(NOW(), '%Y')"])
        #expect(Self.answer(left) == "ERROR 1235 (42000): This version of MySQL doesn't yet support 'DATE_FORMAT()'")
        // ROW_COUNT() after a change, a SELECT and DDL, in one session.
        let counted = try await both(ours, real, "UPDATE notes SET body = 'x' WHERE id > 0; SELECT ROW_COUNT(); SELECT 1; SELECT ROW_COUNT(); "
                                     + "CREATE TABLE IF NOT EXISTS rc (a INT); SELECT ROW_COUNT(); DROP TABLE rc")
        #expect(Self.answer(counted.ours) == Self.answer(counted.real))
        let bad = try await both(ours, real, "INSERT INTO notes VALUES (3, 'x', '2026-02-30 10:00:00')")
        #expect(bad.ours.status != 0 && Self.code(bad.ours).prefix(10) == Self.code(bad.real).prefix(10), "\(Self.answer(bad.ours)) / \(Self.answer(bad.real))")
        await ours.stop()
    }

    @Test func hugeLimitsOutOfRangeValuesAndKeyLimitsAnswerAlike() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        let setup = "DROP TABLE IF EXISTS edge; CREATE TABLE edge (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT); INSERT INTO edge (v) VALUES (1), (2), (3)"
        let made = try await both(ours, real, setup)
        #expect(made.ours.status == 0 && made.real.status == 0, "\(made.ours.stderr) \(made.real.stderr)")
        // Same rows, same errors with the same text.
        for sql in ["SELECT id FROM edge ORDER BY id DESC LIMIT 9223372036854775807 OFFSET 1",
                    "SELECT id FROM edge ORDER BY id LIMIT 1, 18446744073709551615",
                    "SELECT id FROM edge LIMIT 18446744073709551615 OFFSET 18446744073709551615",
                    "SELECT -9223372036854775808 % -1",
                    "INSERT INTO edge (id) VALUES (9223372036854775808)",
                    "SELECT ABS(-9223372036854775808)",
                    "CREATE TABLE c256 (a CHAR(256))",
                    "CREATE TABLE k65 (\((0..<65).map { "c\($0) INT UNIQUE" }.joined(separator: ", ")))"] {
            let r = try await both(ours, real, sql)
            #expect(Self.answer(r.ours) == Self.answer(r.real), "\(sql.prefix(70))")
        }
        // Same code; the text names the server ("… your MySQL server version" / "… your MariaDB server version").
        for sql in ["SELECT id FROM edge LIMIT 18446744073709551616", "SELECT id FROM edge LIMIT -1"] {
            let r = try await both(ours, real, sql)
            #expect(Self.code(r.ours) == "ERROR 1064 (42000)" && Self.code(r.real) == "ERROR 1064 (42000)", "\(sql)")
        }
        // Both print the overflow; MySQL 8 puts the expression in parentheses, MariaDB does not.
        let overflow = try await both(ours, real, "SELECT 9223372036854775807 + 1")
        #expect(Self.code(overflow.ours) == "ERROR 1690 (22003)" && Self.code(overflow.real) == "ERROR 1690 (22003)")
        await ours.stop()
    }

    /// Both take the maximum and refuse the next generated row. MySQL 8 (innodb-autoinc.test) answers ER_DUP_ENTRY
    /// 1062; MariaDB 10.11 answers 167 "Out of range value for column 'id' at row 1".
    @Test func autoIncrementAtItsMaximumIsTakenThenTheNextRowRefused() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        let setup = "DROP TABLE IF EXISTS automax; CREATE TABLE automax (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT); INSERT INTO automax (id) VALUES (9223372036854775807)"
        let made = try await both(ours, real, setup)
        #expect(made.ours.status == 0 && made.real.status == 0, "\(made.ours.stderr) \(made.real.stderr)")
        let next = try await both(ours, real, "INSERT INTO automax (v) VALUES (1)")
        #expect(next.ours.status != 0 && next.real.status != 0)
        #expect(Self.answer(next.ours) == "ERROR 1062 (23000): Duplicate entry '9223372036854775807' for key 'automax.PRIMARY'")
        #expect(Self.code(next.real) == "ERROR 167 (22003)")
        let rows = try await both(ours, real, "SELECT id FROM automax")
        #expect(rows.ours.stdout == rows.real.stdout)
        await ours.stop()
    }
}
}

@Suite("GTID sets from outside")
struct GTIDSetParsingTests {
    /// A replica's request or a data directory may carry a set of very many intervals (read in n log n).
    @Test func aSetOfManyIntervalsIsReadAndMergedQuickly() throws {
        let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
        let text = uuid + ":" + (0..<100_000).reversed().map { "\($0 * 3 + 1)-\($0 * 3 + 2)" }.joined(separator: ":")
        let set = try #require(GTIDSet(parsing: text))
        #expect(set.contains(uuid: uuid, gno: 299_998) && !set.contains(uuid: uuid, gno: 3))
        #expect(try #require(GTIDSet(parsing: "\(uuid):1-3:4-9223372036854775807")).description == "\(uuid):1-9223372036854775807")
        #expect(GTIDSet(parsing: "\(uuid):0-5") == nil && GTIDSet(parsing: "\(uuid):9-2") == nil && GTIDSet(parsing: "\(uuid):99999999999999999999") == nil)
    }
}
