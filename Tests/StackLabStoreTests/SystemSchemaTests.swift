import Foundation
import Testing
@testable import StackLabStore

/// information_schema and mysql.user, as mysqldump, ORMs and a learner's `SELECT user, host FROM mysql.user` read them.
@Suite("System schemas")
struct SystemSchemaTests {
    @Test func informationSchemaDescribesDatabasesTablesColumnsAndIndexes() async throws {
        let s = try await startedStore()
        func q(_ sql: String, user: String = "root") async throws -> [[String?]] { try await s.execute(sql, user: user).rows }
        _ = try await s.execute("INSERT INTO foobar.posts (author) VALUES ('a'), ('b')")
        #expect(try await q("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1", user: "app") == [["foobar"], ["information_schema"]])
        #expect(try await q("SELECT table_name, table_rows, auto_increment, engine FROM information_schema.tables WHERE table_schema = 'foobar'")
                == [["posts", "2", "3", "InnoDB"]])
        #expect(try await q("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, EXTRA, CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE TABLE_NAME = 'posts' ORDER BY ORDINAL_POSITION")
                == [["id", "int", "int", "NO", "PRI", "auto_increment", nil], ["author", "varchar", "varchar(64)", "YES", "", "", "64"]])
        #expect(try await q("SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'foobar'") == [["PRIMARY", "id", "0"]])
        #expect(try await q("SELECT COUNT(*) FROM information_schema.tables GROUP BY table_schema") == [["1"]])
        await #expect(throws: StoreError.self) { try await s.execute("DELETE FROM information_schema.tables") }
        await expectError(s, "SELECT * FROM information_schema.TRIGGERS", "ERROR 1235 (42000): This version of MySQL doesn't yet support 'information_schema.TRIGGERS'")
        await s.stop()
    }

    @Test func mysqlUserListsTheAccountsToSuperUsersOnly() async throws {
        let s = try await startedStore()
        let rows = try await s.execute("SELECT user, host, plugin FROM mysql.user WHERE user = 'app'").rows
        #expect(rows == [["app", "%", "mysql_native_password"]])
        let hash = try await s.execute("SELECT authentication_string FROM mysql.user WHERE user = 'app'").rows
        #expect(hash == [["*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3"]])
        await expectError(s, "SELECT user FROM mysql.user", user: "app", "ERROR 1142 (42000): SELECT command denied to user 'app'@'localhost' for table 'user'")
        await s.stop()
    }
}
