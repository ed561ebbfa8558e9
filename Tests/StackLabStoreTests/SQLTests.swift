import Foundation
import Testing
@testable import StackLabStore

func expectError(_ store: MySQLStore, _ sql: String, user: String = "root", _ expected: String,
                 sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        _ = try await store.execute(sql, user: user)
        Issue.record("expected \(expected)", sourceLocation: sourceLocation)
    } catch {
        #expect("\(error)" == expected, sourceLocation: sourceLocation)
    }
}

@Suite("SQL subset with MySQL's answers")
struct SQLErrorTests {
    @Test func everyErrorOfTheIssueHasMySQLsCodeAndText() async throws {
        let s = try await startedStore()
        await expectError(s, "SELEC * FROM posts", "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'SELEC * FROM posts' at line 1")
        await expectError(s, "SELECT * FROM foobar.posts WHERE", "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '' at line 1")
        await expectError(s, "SELECT *\nFROM foobar.posts\nWHERE id = = 1", "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '= 1' at line 3")
        await expectError(s, "SELECT * FROM foobar.x", "ERROR 1146 (42S02): Table 'foobar.x' doesn't exist")
        await expectError(s, "SELECT x FROM foobar.posts", "ERROR 1054 (42S22): Unknown column 'x' in 'field list'")
        await expectError(s, "SELECT id FROM foobar.posts WHERE x = 1", "ERROR 1054 (42S22): Unknown column 'x' in 'where clause'")
        await expectError(s, "SELECT id FROM foobar.posts ORDER BY x", "ERROR 1054 (42S22): Unknown column 'x' in 'order clause'")
        _ = try await s.execute("INSERT INTO foobar.posts (id, author) VALUES (1, 'a')")
        await expectError(s, "INSERT INTO foobar.posts (id, author) VALUES (1, 'b')", "ERROR 1062 (23000): Duplicate entry '1' for key 'posts.PRIMARY'")
        await expectError(s, "USE nosuch", "ERROR 1049 (42000): Unknown database 'nosuch'")
        await expectError(s, "SELECT * FROM posts", "ERROR 1046 (3D000): No database selected")
        await expectError(s, "SELECT * FROM a JOIN b", "ERROR 1046 (3D000): No database selected")
        await expectError(s, "SELECT author, COUNT(*) FROM foobar.posts GROUP BY author WITH ROLLUP", "ERROR 1235 (42000): This version of MySQL doesn't yet support 'WITH ROLLUP'")
        await expectError(s, "CREATE DATABASE foobar", "ERROR 1007 (HY000): Can't create database 'foobar'; database exists")
        await expectError(s, "DROP DATABASE nosuch", "ERROR 1008 (HY000): Can't drop database 'nosuch'; database doesn't exist")
        await expectError(s, "CREATE TABLE foobar.posts (id INT)", "ERROR 1050 (42S01): Table 'posts' already exists")
        await expectError(s, "DROP TABLE foobar.nosuch", "ERROR 1051 (42S02): Unknown table 'foobar.nosuch'")
        await expectError(s, "INSERT INTO foobar.posts (id, author) VALUES (2)", "ERROR 1136 (21S01): Column count doesn't match value count at row 1")
        await expectError(s, "INSERT INTO foobar.posts (nosuch) VALUES (2)", "ERROR 1054 (42S22): Unknown column 'nosuch' in 'field list'")
        await expectError(s, "INSERT INTO foobar.posts (author) VALUES ('\(String(repeating: "x", count: 65))')", "ERROR 1406 (22001): Data too long for column 'author' at row 1")
        await expectError(s, "INSERT INTO foobar.posts (id) VALUES ('abc')", "ERROR 1366 (HY000): Incorrect integer value: 'abc' for column 'id' at row 1")
        await expectError(s, "SELECT @@nosuch", "ERROR 1193 (HY000): Unknown system variable 'nosuch'")
        await expectError(s, "SET read_only = 1", "ERROR 1229 (HY000): Variable 'read_only' is a GLOBAL variable and should be set with SET GLOBAL")
        await expectError(s, "", "ERROR 1065 (42000): Query was empty")
        await expectError(s, "SELECT 'unterminated", "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''unterminated' at line 1")
        await s.stop()
    }

    @Test func readOnlyRefusesWritesButNotSuperUsersOrTheApplier() async throws {
        let s = try await startedStore()
        _ = try await s.execute("SET GLOBAL read_only = ON")
        await expectError(s, "INSERT INTO foobar.posts (author) VALUES ('x')", user: "app", "ERROR 1290 (HY000): The MySQL server is running with the --read-only option so it cannot execute this statement")
        #expect(try await s.execute("INSERT INTO foobar.posts (author) VALUES ('root')").affectedRows == 1)
        _ = try await s.execute("SET GLOBAL super_read_only = ON")
        #expect(s.status.readOnly && s.status.superReadOnly)
        await expectError(s, "INSERT INTO foobar.posts (author) VALUES ('root')", "ERROR 1290 (HY000): The MySQL server is running with the --super-read-only option so it cannot execute this statement")
        await expectError(s, "CREATE DATABASE other", "ERROR 1290 (HY000): The MySQL server is running with the --super-read-only option so it cannot execute this statement")
        // Reads still work.
        #expect(try await s.execute("SELECT COUNT(*) FROM foobar.posts", user: "app").rows == [["1"]])
        // The applier is not stopped by super_read_only.
        try s.applyReplicated([BinlogEvent.QueryBody(database: "foobar", insertID: 0, millis: 0, sql: "INSERT INTO posts (author) VALUES ('replicated')")], gtid: ("3e11fa47-71ca-11e1-9e33-c80aa9429562", 1), source: SourcePosition(file: "mysql-bin.000001", position: 500))
        #expect(try await s.execute("SELECT author FROM foobar.posts ORDER BY id").rows == [["root"], ["replicated"]])
        // read_only=OFF clears super_read_only.
        _ = try await s.execute("SET GLOBAL read_only = OFF")
        #expect(!s.status.readOnly && !s.status.superReadOnly)
        // super_read_only=OFF alone leaves read_only on.
        _ = try await s.execute("SET GLOBAL super_read_only = ON; SET GLOBAL super_read_only = OFF")
        #expect(s.status.readOnly && !s.status.superReadOnly)
        await s.stop()
    }

    @Test func selectWhereOrderLimitAndFunctions() async throws {
        let s = try await startedStore()
        _ = try await s.execute("INSERT INTO foobar.posts (author) VALUES ('alice'), ('bob'), ('carol'), (NULL), ('Alice')")
        func q(_ sql: String) async throws -> [[String?]] { try await s.execute(sql).rows }
        #expect(try await q("SELECT id FROM foobar.posts WHERE author = 'ALICE' ORDER BY id") == [["1"], ["5"]])
        #expect(try await q("SELECT id FROM foobar.posts WHERE author IS NULL") == [["4"]])
        #expect(try await q("SELECT id FROM foobar.posts WHERE author IS NOT NULL AND NOT author LIKE 'a%' ORDER BY id DESC") == [["3"], ["2"]])
        #expect(try await q("SELECT id FROM foobar.posts WHERE id >= 2 AND id <= 4 OR id <> id ORDER BY id LIMIT 1, 2") == [["3"], ["4"]])
        #expect(try await q("SELECT id FROM foobar.posts WHERE id != 1 AND id < 3") == [["2"]])
        #expect(try await q("SELECT author FROM foobar.posts ORDER BY author LIMIT 2") == [[nil], ["alice"]])
        #expect(try await q("SELECT COUNT(*) FROM foobar.posts WHERE author LIKE '%o%'") == [["2"]])
        #expect(try await q("SELECT 1, 'x', NULL, 2 + 3") == [["1", "x", nil, "5"]])
        let now = try await q("SELECT NOW()")[0][0] ?? ""
        #expect(now.count == 19 && now.dropFirst(4).first == "-")
        let r = try await s.execute("SELECT COUNT(*) AS n, @@server_id, @@read_only, @@super_read_only, @@hostname, @@version, @@version_comment")
        #expect(r.columns == ["n", "@@server_id", "@@read_only", "@@super_read_only", "@@hostname", "@@version", "@@version_comment"])
        #expect(r.rows == [["1", "1", "0", "0", "web-01", "8.0.40-stacklab", "Source distribution"]])
        let gtid = try await q("SELECT @@gtid_executed")[0][0] ?? ""
        #expect(gtid.hasSuffix(":1-4"))
        await s.stop()
    }

    @Test func likeMatchesLikeMySQL() {
        #expect(Like.matches("Alice", pattern: "a%"))
        #expect(Like.matches("alice", pattern: "%LIC%"))
        #expect(Like.matches("bob", pattern: "b_b"))
        #expect(!Like.matches("bob", pattern: "b_"))
        #expect(Like.matches("", pattern: "%"))
        #expect(!Like.matches("", pattern: "_"))
        #expect(Like.matches("50%", pattern: "50\\%"))
        #expect(!Like.matches("500", pattern: "50\\%"))
        #expect(Like.matches("a_b", pattern: "a\\_b") && !Like.matches("axb", pattern: "a\\_b"))
        #expect(Like.matches("mississippi", pattern: "%iss%ppi"))
        #expect(!Like.matches("mississippi", pattern: "%iss%ppx"))
        #expect(Like.matches("127.0.1.12", pattern: "127.0.1.%"))
        // Long inputs are no danger.
        #expect(!Like.matches(String(repeating: "a", count: 100_000), pattern: String(repeating: "%a", count: 20) + "b"))
    }

    @Test func updateDeleteAndInfoStrings() async throws {
        let s = try await startedStore()
        let ins = try await s.execute("INSERT INTO foobar.posts (author) VALUES ('a'), ('b'), ('c')")
        #expect(ins.affectedRows == 3 && ins.lastInsertID == 1 && ins.info == "Records: 3  Duplicates: 0  Warnings: 0")
        #expect(ins.renderOK() == "Query OK, 3 rows affected (0.00 sec)\nRecords: 3  Duplicates: 0  Warnings: 0\n")
        let up = try await s.execute("UPDATE foobar.posts SET author = 'b' WHERE id <= 2")
        #expect(up.affectedRows == 1 && up.info == "Rows matched: 2  Changed: 1  Warnings: 0")
        await expectError(s, "UPDATE foobar.posts SET id = 3 WHERE id = 1", "ERROR 1062 (23000): Duplicate entry '3' for key 'posts.PRIMARY'")
        let del = try await s.execute("DELETE FROM foobar.posts WHERE author = 'b'")
        #expect(del.affectedRows == 2)
        #expect(try await s.execute("SELECT id, author FROM foobar.posts").rows == [["3", "c"]])
        // AUTO_INCREMENT does not reuse ids.
        #expect(try await s.execute("INSERT INTO foobar.posts (author) VALUES ('d')").lastInsertID == 4)
        await s.stop()
    }

    @Test func gtidModeOffShowsNoGTIDs() async throws {
        let s = try await startedStore { $0.gtidMode = false }
        _ = try await s.execute("INSERT INTO foobar.posts (author) VALUES ('a')")
        #expect(try await s.execute("SELECT @@gtid_executed, @@gtid_mode").rows == [["", "OFF"]])
        #expect(try await s.execute("SHOW BINARY LOG STATUS").value("Executed_Gtid_Set") == "")
        await expectError(s, "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_AUTO_POSITION=1",
                          "ERROR 1777 (HY000): CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION = 1 cannot be executed because @@GLOBAL.GTID_MODE = OFF.")
        await s.stop()
    }

    @Test func usersAndGrantsAreCoarseButEnforced() async throws {
        let s = try await startedStore()
        _ = try await s.execute("CREATE USER 'reader'@'%' IDENTIFIED BY 'r'; GRANT SELECT ON foobar.* TO 'reader'@'%'")
        #expect(try await s.execute("SELECT COUNT(*) FROM foobar.posts", user: "reader").rows == [["0"]])
        await expectError(s, "INSERT INTO foobar.posts (author) VALUES ('x')", user: "reader", "ERROR 1142 (42000): INSERT command denied to user 'reader'@'localhost' for table 'posts'")
        await expectError(s, "CREATE USER 'reader'@'%' IDENTIFIED BY 'r'", "ERROR 1396 (HY000): Operation CREATE USER failed for 'reader'@'%'")
        await expectError(s, "SET GLOBAL read_only = ON", user: "app", "ERROR 1227 (42000): Access denied; you need (at least one of) the SUPER or SYSTEM_VARIABLES_ADMIN privilege(s) for this operation")
        await s.stop()
    }
}
