import Foundation
import StackLabTestSupport
import Testing
@testable import StackLabStore

extension SideBySideWithRealMariaDB {
/// CASE, IF, IFNULL, COALESCE and NULLIF, answer for answer with the real server through the mariadb client.
@Suite("Conditional expressions", .runsALab)
struct ConditionalExpressions {
    @Test func caseIfIfnullAndCoalesceAnswerAlike() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        func both(_ sql: String) async throws -> (String, String) { try await real.both(sql, ours: ours) }
        let setup = "DROP TABLE IF EXISTS cases; CREATE TABLE cases (id INT PRIMARY KEY, author VARCHAR(20), score INT); "
            + "INSERT INTO cases VALUES (1, 'alice', 90), (2, 'Bob', 55), (3, NULL, NULL), (4, 'carol', 70)"
        let made = try await both(setup)
        #expect(made.0 == made.1, "\(made)")
        for sql in ["SELECT id, CASE WHEN score >= 80 THEN 'high' WHEN score >= 60 THEN 'mid' ELSE 'low' END AS band FROM cases ORDER BY id",
                    "SELECT id, CASE author WHEN 'ALICE' THEN 'a' WHEN 'bob' THEN 'b' END AS who FROM cases ORDER BY id",
                    "SELECT CASE NULL WHEN NULL THEN 'null matched' ELSE 'no match' END",
                    "SELECT CASE WHEN NULL THEN 1 ELSE 2 END, CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END",
                    "SELECT id FROM cases WHERE CASE WHEN score IS NULL THEN 0 ELSE score END > 60 ORDER BY id",
                    "SELECT CASE WHEN score > 60 THEN 'pass' ELSE 'fail' END AS r, COUNT(*) FROM cases GROUP BY r ORDER BY r",
                    "SELECT id, IF(score > 60, 'pass', 'fail'), IFNULL(author, '(none)'), COALESCE(author, score, 'nothing') FROM cases ORDER BY id",
                    "SELECT NULLIF(1, 1), NULLIF(1, 2), IFNULL(NULL, NULL), COALESCE(NULL, NULL, 3)",
                    "SELECT SUM(CASE WHEN score >= 60 THEN 1 ELSE 0 END) AS passed FROM cases",
                    "SELECT CASE WHEN 1 THEN 'x' END FROM cases WHERE id = 99"] {
            let (a, b) = try await both(sql)
            #expect(a == b, "\(sql)")
        }
        // Syntax errors: the same code (MariaDB's text names MariaDB).
        for sql in ["SELECT CASE 1 WHEN 1 THEN 'a'", "SELECT CASE END", "SELECT CASE WHEN 1 THEN 2 ELSE 3"] {
            let (a, b) = try await both(sql)
            #expect(a.hasPrefix("ERROR 1064") && b.hasPrefix("ERROR 1064"), "\(sql): \(a) / \(b)")
        }
        await ours.stop()
    }
}
}

extension SideBySideWithRealMariaDB {
/// ALTER TABLE's column changes, result for result with the real server.
@Suite("ALTER TABLE", .runsALab)
struct AlterTableSideBySide {
    @Test func addDropAndRenameColumnsAnswerAlike() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        func both(_ sql: String) async throws -> (String, String) { try await real.both(sql, ours: ours) }
        for sql in ["DROP TABLE IF EXISTS alt; DROP TABLE IF EXISTS alt2; CREATE TABLE alt (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(20)); INSERT INTO alt (author) VALUES ('a'), ('b')",
                    "ALTER TABLE alt ADD COLUMN likes INT NOT NULL DEFAULT 0; SELECT * FROM alt ORDER BY id",
                    "ALTER TABLE alt ADD note VARCHAR(10) AFTER id, ADD flag INT NOT NULL FIRST; SELECT * FROM alt ORDER BY id",
                    "ALTER TABLE alt ADD title VARCHAR(10) NOT NULL; SELECT id, CONCAT('[', title, ']') FROM alt ORDER BY id",
                    "UPDATE alt SET likes = likes + 2 WHERE id = 2; SELECT id, likes FROM alt ORDER BY id",
                    "ALTER TABLE alt DROP COLUMN note, DROP flag; SELECT * FROM alt ORDER BY id",
                    "ALTER TABLE alt RENAME COLUMN likes TO hearts; SELECT id, hearts FROM alt ORDER BY id",
                    "ALTER TABLE alt RENAME TO alt2; SELECT COUNT(*) FROM alt2",
                    "INSERT INTO alt2 (author, title) VALUES ('c', 't'); SELECT id, author, hearts, title FROM alt2 ORDER BY id",
                    "ALTER TABLE alt2 ADD author INT",
                    "ALTER TABLE alt2 ADD x INT AFTER nosuch",
                    "ALTER TABLE nosuch ADD x INT",
                    "DROP TABLE alt2"] {
            let (a, b) = try await both(sql)
            #expect(a == b, "\(sql)")
        }
        // MySQL 8 says "Can't DROP 'nosuch'; check that column/key exists"; MariaDB words it its own way.
        let (a, b) = try await both("CREATE TABLE alt3 (id INT); ALTER TABLE alt3 DROP COLUMN nosuch")
        #expect(a == "ERROR 1091 (42000): Can't DROP 'nosuch'; check that column/key exists" && b.hasPrefix("ERROR 1091 (42000)"))
        _ = try await both("DROP TABLE alt3")
        await ours.stop()
    }
}
}

extension SideBySideWithRealMariaDB {
/// CREATE/DROP INDEX and ALTER TABLE … ADD/DROP INDEX, read back through information_schema.STATISTICS.
@Suite("Indexes", .runsALab)
struct IndexSideBySide {
    @Test func indexesAreMadeNamedAndDroppedAlike() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        func both(_ sql: String) async throws -> (String, String) { try await real.both(sql, ours: ours) }
        let keys = "SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'foobar' AND TABLE_NAME = 'ix' ORDER BY INDEX_NAME, SEQ_IN_INDEX"
        for sql in ["DROP TABLE IF EXISTS ix; CREATE TABLE ix (id INT PRIMARY KEY, a INT, b VARCHAR(10), KEY (a)); INSERT INTO ix VALUES (1, 1, 'x'), (2, 1, 'y')",
                    keys,
                    "CREATE INDEX ib ON ix (b); ALTER TABLE ix ADD INDEX (a, b), ADD UNIQUE KEY ub (b); " + keys,
                    "CREATE INDEX ib ON ix (a)",
                    "DROP INDEX ib ON ix; ALTER TABLE ix DROP INDEX a_2; " + keys,
                    "SELECT id FROM ix WHERE b = 'y'"] {
            let (a, b) = try await both(sql)
            #expect(a == b, "\(sql)")
        }
        // The same codes where MariaDB words the message its own way.
        for sql in ["INSERT INTO ix VALUES (3, 3, 'x')", "CREATE UNIQUE INDEX ua ON ix (a)", "DROP INDEX nosuch ON ix"] {
            let (a, b) = try await both(sql)
            #expect(EdgeNumbers.codeOf(a) == EdgeNumbers.codeOf(b) && a.hasPrefix("ERROR"), "\(sql): \(a) / \(b)")
        }
        _ = try await both("DROP TABLE ix")
        await ours.stop()
    }
}
}

extension SideBySideWithRealMariaDB.EdgeNumbers {
    static func codeOf(_ answer: String) -> String { String(answer.prefix { $0 != ":" }) }
}

extension SideBySideWithRealMariaDB {
/// UPDATE and DELETE with ORDER BY … LIMIT change the rows MySQL would change.
@Suite("UPDATE and DELETE in order", .runsALab)
struct OrderedWritesSideBySide {
    @Test func orderByLimitPicksTheSameRows() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        func both(_ sql: String) async throws -> (String, String) { try await real.both(sql, ours: ours) }
        for sql in ["DROP TABLE IF EXISTS ow; CREATE TABLE ow (id INT PRIMARY KEY, author VARCHAR(9), n INT); "
                        + "INSERT INTO ow VALUES (1, 'carol', 0), (2, 'alice', 0), (3, 'bob', 0), (4, 'alice', 0)",
                    "DELETE FROM ow ORDER BY id DESC LIMIT 1; SELECT id FROM ow ORDER BY id",
                    "UPDATE ow SET n = 1 ORDER BY author, id DESC LIMIT 2; SELECT id, n FROM ow ORDER BY id",
                    "UPDATE ow SET n = n + 10 WHERE n = 0 ORDER BY id DESC LIMIT 1; SELECT id, n FROM ow ORDER BY id",
                    "DELETE FROM ow WHERE author <> 'x' ORDER BY author DESC LIMIT 1; SELECT id FROM ow ORDER BY id",
                    "DROP TABLE ow"] {
            let (a, b) = try await both(sql)
            #expect(a == b, "\(sql)")
        }
        // MySQL 8 names the clause 'order clause', MariaDB 'ORDER BY'.
        let (a, b) = try await both("CREATE TABLE ow2 (id INT); DELETE FROM ow2 ORDER BY nosuch LIMIT 1")
        #expect(a == "ERROR 1054 (42S22): Unknown column 'nosuch' in 'order clause'" && b.hasPrefix("ERROR 1054 (42S22)"))
        _ = try await both("DROP TABLE ow2")
        await ours.stop()
    }
}
}
