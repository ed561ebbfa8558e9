import Foundation
import StackLabTestSupport
import Testing
@testable import StackLabStore

extension SideBySideWithRealMariaDB {
/// GROUP BY, HAVING, DISTINCT and COUNT(DISTINCT), row for row with the real server (each query sorted: MariaDB
/// still sorts GROUP BY's groups, MySQL 8 does not).
@Suite("Grouping", .runsALab)
struct Grouping {
    @Test func groupByHavingAndDistinctAnswerAlike() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        func both(_ sql: String) async throws -> (String, String) { try await real.both(sql, ours: ours) }
        let setup = "DROP TABLE IF EXISTS posts; CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64) NOT NULL, "
            + "body TEXT NOT NULL, created_at DATETIME NOT NULL); INSERT INTO posts (author, body, created_at) VALUES "
            + "('admin', 'Welcome', '2026-12-01 10:00:00'), ('bob', 'hi there', '2026-12-01 10:00:00'), "
            + "('Bob', 'again', '2026-12-02 10:00:00'), ('carol', 'x', '2026-12-02 11:00:00')"
        let made = try await both(setup)
        #expect(made.0 == made.1, "\(made)")
        for sql in ["SELECT author, COUNT(*) FROM posts GROUP BY author ORDER BY author",
                    "SELECT author, COUNT(*) AS n FROM posts GROUP BY author HAVING n > 1 ORDER BY n DESC",
                    "SELECT author, COUNT(*) FROM posts GROUP BY author HAVING COUNT(*) = 1 ORDER BY 1",
                    "SELECT LOWER(author) AS who, MAX(id), MIN(created_at) FROM posts GROUP BY who ORDER BY who",
                    "SELECT DATE(created_at) AS day, COUNT(*) FROM posts GROUP BY day ORDER BY day",
                    "SELECT COUNT(DISTINCT author), COUNT(DISTINCT LOWER(author)), COUNT(author) FROM posts",
                    "SELECT DISTINCT author FROM posts ORDER BY author", "SELECT DISTINCT LOWER(author) FROM posts ORDER BY 1 LIMIT 2",
                    "SELECT COUNT(*) FROM posts HAVING COUNT(*) > 2", "SELECT COUNT(*) FROM posts HAVING COUNT(*) > 20",
                    "SELECT author, SUM(id), AVG(id) FROM posts WHERE id > 1 GROUP BY author ORDER BY SUM(id)",
                    "SELECT author, COUNT(*) FROM posts GROUP BY 1 ORDER BY 2 DESC, 1",
                    "SELECT author FROM posts GROUP BY author ORDER BY COUNT(*) DESC, author LIMIT 1",
                    "SELECT author, COUNT(*) FROM posts WHERE id > 100 GROUP BY author"] {
            let (a, b) = try await both(sql)
            #expect(a == b, "\(sql)")
        }
        await ours.stop()
    }

    /// MySQL 8's ONLY_FULL_GROUP_BY, in its words (MariaDB checks less, and says it otherwise).
    @Test func onlyFullGroupByRefusesWhatMySQL8Refuses() async throws {
        let server = try await TestServer.start {
            $0.initStatements += ["CREATE DATABASE foobar", "CREATE TABLE foobar.posts (id INT PRIMARY KEY, author VARCHAR(9), body TEXT)",
                                  "INSERT INTO foobar.posts VALUES (1, 'a', 'x'), (2, 'a', 'y')"]
        }
        let store = server.store
        func error(_ sql: String) async -> String {
            do { _ = try await store.execute(sql); return "no error" } catch { return "\(error)" }
        }
        #expect(await error("SELECT author, body FROM foobar.posts GROUP BY author") == "ERROR 1055 (42000): Expression #2 of SELECT list is not in GROUP BY clause and contains nonaggregated column 'foobar.posts.body' which is not functionally dependent on columns in GROUP BY clause; this is incompatible with sql_mode=only_full_group_by")
        #expect(await error("SELECT author FROM foobar.posts GROUP BY author ORDER BY body") == "ERROR 1055 (42000): Expression #1 of ORDER BY clause is not in GROUP BY clause and contains nonaggregated column 'foobar.posts.body' which is not functionally dependent on columns in GROUP BY clause; this is incompatible with sql_mode=only_full_group_by")
        #expect(await error("SELECT COUNT(*) FROM foobar.posts GROUP BY COUNT(*)") == "ERROR 1111 (HY000): Invalid use of group function")
        #expect(await error("SELECT COUNT(*) AS n FROM foobar.posts GROUP BY n") == "ERROR 1056 (42000): Can't group on 'n'")
        #expect(await error("SELECT author FROM foobar.posts GROUP BY 9") == "ERROR 1054 (42S22): Unknown column '9' in 'group statement'")
        #expect(await error("SELECT author FROM foobar.posts GROUP BY author HAVING body = 'x'") == "ERROR 1054 (42S22): Unknown column 'body' in 'having clause'")
        // Grouped on the primary key, every column is known within a group.
        #expect(try await store.execute("SELECT id, body FROM foobar.posts GROUP BY id HAVING body = 'y'").rows == [["2", "y"]])
        await server.stop()
    }
}
}
