import Foundation
import Testing
@testable import StackLabStore

/// Expressions computed by SQLite through the functions `MySQLSemantics` registers give the store's own answers:
/// the same corpus evaluated both ways.
@Suite("MySQL expressions on SQLite")
struct MySQLExpressionsOnSQLiteTests {
    private struct Both {
        let engine: StoreEngine
        let connection: SQLiteConnection

        init() throws {
            let dir = NSTemporaryDirectory() + "stacklab-sqlite-\(UUID().uuidString)"
            let settings = StoreSettings(serverName: "web-01", serverID: 1, host: "127.0.0.1", port: 3306, dataDirectory: dir)
            engine = StoreEngine(settings: settings, serverUUID: "3E11FA47-71CA-11E1-9E33-C80AA9429562".lowercased(), binlog: nil, datadir: nil)
            connection = try SQLiteConnection(path: ":memory:")
            let engine = engine
            let evaluator = Evaluator(table: nil, session: Session.root(), engine: engine,
                                      state: engine.state.withLockedValue { $0 }, clause: "field list")
            try MySQLSemantics.register(on: connection) { e, group in try evaluator.eval(e, row: nil, group: group) }
        }

        func evaluator() -> Evaluator {
            Evaluator(table: nil, session: Session.root(), engine: engine, state: engine.state.withLockedValue { $0 }, clause: "field list")
        }

        /// The select list of `sql` (a SELECT without FROM), evaluated by the store and by SQLite.
        func answers(_ sql: String) throws -> (store: Result<[SQLValue], StoreError>, sqlite: Result<[SQLValue], StoreError>) {
            guard case .select(let q) = try Parser.parse(sql) else { throw StoreError.emptyQuery() }
            let exprs = q.items.compactMap { item -> Expr? in if case .expr(let e) = item.kind { return e } else { return nil } }
            let ev = evaluator()
            let store = Self.capture { try exprs.map { try ev.eval($0, row: nil) } }
            let sqlite = Self.capture {
                var translated = SQLiteExpression { try ev.eval($0, row: nil) }
                let list = try exprs.map { try translated.sql($0) }.joined(separator: ", ")
                do {
                    return try connection.query("SELECT " + list, translated.parameters).first ?? []
                } catch let e as SQLiteError {
                    throw e.storeError
                }
            }
            return (store, sqlite)
        }

        static func capture(_ body: () throws -> [SQLValue]) -> Result<[SQLValue], StoreError> {
            do {
                return .success(try body())
            } catch let e as StoreError {
                return .failure(e)
            } catch let e as SQLiteError {
                return .failure(e.storeError)
            } catch {
                return .failure(StoreError(code: 0, sqlState: "", message: "\(error)"))
            }
        }
    }

    @Test func theDefaultCollationIgnoresCaseAndAccentsButNotTrailingSpaces() throws {
        #expect(MySQLSemantics.compareText("ALICE", "alice") == 0)
        #expect(MySQLSemantics.compareText("José", "JOSE") == 0)
        #expect(MySQLSemantics.compareText("a", "a ") < 0)
        #expect(MySQLSemantics.compareText("b", "A") > 0)
        #expect(MySQLSemantics.compareText("Ärger", "arger") == 0)
        let c = try SQLiteConnection(path: ":memory:")
        try c.createCollation(MySQLSemantics.collation, MySQLSemantics.compareText)
        try c.execute("CREATE TABLE t (name TEXT COLLATE utf8mb4_0900_ai_ci UNIQUE)")
        try c.execute("INSERT INTO t VALUES ('Alice')")
        // The unique key is the collation's: 'ALICE' is a duplicate, as in MySQL.
        #expect(throws: SQLiteError.self) { try c.execute("INSERT INTO t VALUES ('ALICE')") }
        #expect(try c.query("SELECT name FROM t WHERE name = ?", [.string("alíce")]) == [[.string("Alice")]])
        // The index serves the lookup.
        let plan = try c.query("EXPLAIN QUERY PLAN SELECT name FROM t WHERE name = ?", [.string("x")]).map { $0.last?.text ?? "" }
        #expect(plan.contains { $0.contains("USING COVERING INDEX") }, "\(plan)")
    }

    static let corpus = [
        "SELECT 1 + 2, 7 / 2, 7 DIV 2, 7 % 3, -7 DIV 2, 1 / 0, 0.1 + 0.2, 2.50 * 2",
        "SELECT 9223372036854775807 + 1",
        "SELECT 18446744073709551615, 18446744073709551615 + 0, -9223372036854775808",
        "SELECT ROUND(2.567, 2), ROUND(2.5), ROUND(-2.5), FLOOR(-1.5), CEIL(1.2), ABS(-3), MOD(10, 3)",
        "SELECT CONCAT('a', NULL), CONCAT('a', 1, 2.50), CONCAT_WS('-', 'a', NULL, 'b'), UPPER('abc'), LOWER('ÀB')",
        "SELECT 'abc' = 'ABC', 'a' < 'b', 1 = '1', 2 > '10', NULL = NULL, NULL <=> NULL, 1 <=> NULL",
        "SELECT 1 AND NULL, 0 AND NULL, 1 OR NULL, 0 OR NULL, NOT NULL, NOT 0, NOT 'x', 1 XOR 1",
        "SELECT 5 BETWEEN 1 AND 10, 5 NOT BETWEEN 1 AND 10, NULL BETWEEN 1 AND 2, 'b' BETWEEN 'A' AND 'C'",
        "SELECT 2 IN (1, 2), 3 IN (1, 2), 3 IN (1, NULL), 3 NOT IN (1, NULL), NULL IN (1), 'A' IN ('a')",
        "SELECT 'alice' LIKE 'AL%', 'bob' LIKE '_o_', 'x' NOT LIKE 'y%', NULL LIKE 'a'",
        "SELECT 1 IS NULL, NULL IS NULL, 0 IS NOT NULL",
        "SELECT IF(1 > 0, 'yes', 'no'), IFNULL(NULL, 'd'), COALESCE(NULL, NULL, 3), NULLIF(1, 1), NULLIF(1, 2)",
        "SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' ELSE 'c' END, CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END",
        "SELECT SUBSTRING('hello', 2, 3), SUBSTRING('hello', -3), LEFT('hello', 2), RIGHT('hello', 2), REPLACE('aaa', 'a', 'b')",
        "SELECT TRIM('  x  '), LTRIM('  x'), RTRIM('x  '), LENGTH('héllo'), CHAR_LENGTH('héllo'), REVERSE('abc'), REPEAT('ab', 3)",
        "SELECT CAST('12abc' AS SIGNED), CAST(3.7 AS SIGNED), CAST(-1 AS UNSIGNED), CAST('1.5' AS DECIMAL(5,2)), CAST(12 AS CHAR)",
        "SELECT GREATEST(1, 5, 3), LEAST('b', 'a'), POW(2, 10), SQRT(16), SIGN(-4), LOCATE('b', 'abc')",
        "SELECT -(-9223372036854775808), - 2.50, -'3'",
        "SELECT @@version_comment, @@autocommit, @nosuch",
    ]

    @Test(arguments: corpus) func sqliteAnswersAsTheStore(_ sql: String) throws {
        let both = try Both()
        let (store, sqlite) = try both.answers(sql)
        #expect(store == sqlite, "\(sql)")
    }

    @Test func aggregatesKeepMySQLsTypes() throws {
        let both = try Both()
        let c = both.connection
        try c.execute("CREATE TABLE t (g INTEGER, i INTEGER, d BLOB, f REAL)")
        let rows: [[SQLValue]] = [[.int(1), .int(1), .decimal(Decimal(string: "1.10")!, scale: 2), .double(0.5)],
                                  [.int(1), .int(2), .decimal(Decimal(string: "2.25")!, scale: 2), .double(0.25)],
                                  [.int(2), .null, .null, .null]]
        for r in rows { _ = try c.query("INSERT INTO t VALUES (?, ?, ?, ?)", r) }
        var translated = SQLiteExpression { _ in .null }
        let items = try ["SUM(i)", "AVG(i)", "SUM(d)", "AVG(d)", "MAX(d)", "SUM(f)", "COUNT(i)", "COUNT(*)"].map { text -> String in
            guard case .select(let q) = try Parser.parse("SELECT " + text), case .expr(let e) = q.items[0].kind else { return "" }
            return try translated.sql(e)
        }
        let result = try c.query("SELECT g, " + items.joined(separator: ", ") + " FROM t GROUP BY g ORDER BY g", translated.parameters)
        #expect(result == [
            [.int(1), .decimal(3, scale: 0), .decimal(Decimal(string: "1.5")!, scale: 4), .decimal(Decimal(string: "3.35")!, scale: 2),
             .decimal(Decimal(string: "1.675")!, scale: 6), .decimal(Decimal(string: "2.25")!, scale: 2), .double(0.75), .int(2), .int(2)],
            [.int(2), .null, .null, .null, .null, .null, .null, .int(0), .int(1)],
        ])
    }
}
