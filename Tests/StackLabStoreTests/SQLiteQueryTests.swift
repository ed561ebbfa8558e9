import Foundation
import Testing
@testable import StackLabStore

/// SELECTs written as SQLite SQL against tables laid out by `SQLiteSchema` give the store's answers, row for row and
/// error for error: the same tables and statements, run by the store and by SQLite.
@Suite("SELECT on SQLite")
struct SQLiteQueryTests {
    private static let setup = [
        "CREATE TABLE foobar.t (id INT PRIMARY KEY, author VARCHAR(20), score INT, price DECIMAL(8,2), ratio DOUBLE, born DATE, UNIQUE KEY who (author), KEY by_score (score))",
        "INSERT INTO foobar.t VALUES (1, 'alice', 90, 10.50, 0.5, '2001-02-03'), (2, 'Bob', 55, 3.25, 1.5, NULL), (3, NULL, NULL, NULL, NULL, NULL), (4, 'carol', 70, 10.50, -2, '1999-12-31'), (5, 'Émile', 55, 0.05, 1e20, '2020-01-01')",
        "CREATE TABLE foobar.pairs (a INT NOT NULL, b VARCHAR(5) NOT NULL, n INT, PRIMARY KEY (a, b))",
        "INSERT INTO foobar.pairs VALUES (2, 'x', 1), (1, 'y', 2), (1, 'x', 3)",
    ]

    static let corpus = [
        "SELECT * FROM foobar.t",
        // (Without ORDER BY, InnoDB and SQLite return a composite key's table in key order; the store in insertion
        // order.)
        "SELECT * FROM foobar.pairs ORDER BY a, b",
        "SELECT id, author FROM foobar.t WHERE id = 4",
        "SELECT id FROM foobar.t WHERE author = 'ALICE'",
        "SELECT id FROM foobar.t WHERE score > 60 ORDER BY score DESC",
        "SELECT id, price * 2, price / 3, score DIV 7, ratio FROM foobar.t ORDER BY id",
        "SELECT id FROM foobar.t WHERE price = 10.5 ORDER BY id",
        "SELECT id FROM foobar.t WHERE price > 1 AND score IS NOT NULL ORDER BY price, id",
        "SELECT id FROM foobar.t WHERE author LIKE '%o%' OR score IN (55, 90) ORDER BY id",
        "SELECT id FROM foobar.t WHERE score BETWEEN 50 AND 80 ORDER BY id DESC LIMIT 2",
        "SELECT id FROM foobar.t ORDER BY id LIMIT 1, 2",
        "SELECT id FROM foobar.t ORDER BY id LIMIT 18446744073709551615 OFFSET 3",
        "SELECT author FROM foobar.t ORDER BY author",
        "SELECT author AS who, score FROM foobar.t ORDER BY who DESC",
        "SELECT id, score FROM foobar.t ORDER BY 2, 1",
        "SELECT DISTINCT score FROM foobar.t ORDER BY score",
        "SELECT score, COUNT(*), SUM(price), AVG(score), MIN(author), MAX(price) FROM foobar.t GROUP BY score ORDER BY score",
        "SELECT score, COUNT(*) AS n FROM foobar.t GROUP BY score HAVING n > 1",
        "SELECT COUNT(*), COUNT(score), SUM(score), AVG(price), SUM(ratio) FROM foobar.t",
        "SELECT COUNT(DISTINCT score) FROM foobar.t",
        "SELECT CONCAT(author, '!'), IFNULL(author, '-'), UPPER(author) FROM foobar.t ORDER BY id",
        "SELECT id, born, YEAR(born) FROM foobar.t ORDER BY born, id",
        "SELECT a, b, n FROM foobar.pairs WHERE a = 1 ORDER BY b",
        "SELECT id FROM foobar.t WHERE nosuch = 1",
        "SELECT nosuch FROM foobar.t",
        "SELECT id FROM foobar.t ORDER BY nosuch",
        "SELECT id FROM foobar.t WHERE COUNT(*) > 1",
        "SELECT id FROM foobar.t ORDER BY 9",
        "SELECT 1 + 1, 'x'",
    ]

    private static func text(_ error: Error) -> String {
        if let e = error as? SQLiteError { return "\(e.storeError)" }
        return "\(error)"
    }

    @Test func selectsAnswerAsTheStore() async throws {
        let store = try await startedStore()
        for sql in Self.setup { _ = try await store.execute(sql) }
        let engine = store.engine
        let state = engine.state.withLockedValue { $0 }
        guard let database = state.catalog.databases["foobar"] else { Issue.record("no foobar"); return }

        // The store's own file, read beside the store.
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.attach(store.settings.dataDirectory + "/foobar.sqlite", as: "foobar")
        let evaluator = Evaluator(table: nil, session: Session.root(), engine: engine, state: state, clause: "field list")
        try MySQLSemantics.register(on: connection) { e, group in try evaluator.eval(e, row: nil, group: group) }

        for sql in Self.corpus {
            let ours: String
            do {
                let r = try await store.execute(sql)
                ours = r.rows.map { $0.map { $0 ?? "NULL" }.joined(separator: "|") }.joined(separator: "\n")
            } catch {
                ours = Self.text(error)
            }
            let theirs: String
            do {
                guard case .select(let q) = try Parser.parse(sql) else { Issue.record("not a SELECT: \(sql)"); continue }
                let query = try SQLiteQuery(q, resolve: { name, alias in
                    guard let t = database.tables[name.name] else { throw StoreError.noSuchTable("foobar", name.name) }
                    return SQLiteQuery.Source(database: "foobar", table: t, alias: alias)
                }) { try evaluator.eval($0, row: nil) }
                theirs = try connection.query(query.sql, query.parameters)
                    .map { $0.map { $0.text ?? "NULL" }.joined(separator: "|") }.joined(separator: "\n")
            } catch {
                theirs = Self.text(error)
            }
            #expect(ours == theirs, "\(sql)")
            if ProcessInfo.processInfo.environment["SHOW_SQLITE_QUERIES"] != nil { print("== \(sql)\n\(theirs)") }
        }
        // A table is kept in primary key order, as InnoDB's clustered index keeps it.
        #expect(try connection.query("SELECT a, b FROM foobar.pairs") == [[.int(1), .string("x")], [.int(1), .string("y")], [.int(2), .string("x")]])
        await store.stop()
    }

    @Test func aPrimaryKeyLookupAndAnIndexedComparisonUseTheirIndexes() throws {
        var table = Table(name: "t", columns: [
            Column(name: "id", kind: .int, notNull: true, defaultValue: nil, autoIncrement: true, primaryKey: true, unique: false),
            Column(name: "author", kind: .varchar(20), notNull: false, defaultValue: nil, autoIncrement: false, primaryKey: false, unique: false),
        ])
        table.indexes = [UniqueIndex(name: "PRIMARY", columns: [0])]
        table.plainIndexes = [PlainIndex(name: "by_author", columns: [1])]
        let c = try SQLiteConnection(path: ":memory:")
        try MySQLSemantics.register(on: c) { _, _ in .null }
        for s in SQLiteSchema.create(table, schema: "main") { try c.execute(s) }
        func plan(_ sql: String) throws -> String {
            guard case .select(let q) = try Parser.parse(sql) else { return "" }
            let query = try SQLiteQuery(q, resolve: { _, alias in SQLiteQuery.Source(database: "main", table: table, alias: alias) }) { _ in .null }
            return try c.query("EXPLAIN QUERY PLAN " + query.sql, query.parameters).compactMap { $0.last?.text }.joined(separator: "; ")
        }
        #expect(try plan("SELECT * FROM t WHERE id = 5").contains("USING INTEGER PRIMARY KEY"))
        #expect(try plan("SELECT * FROM t WHERE id = 5 AND author = 'x'").contains("USING INTEGER PRIMARY KEY"))
        #expect(try plan("SELECT id FROM t WHERE author = 'x'").contains("USING COVERING INDEX t/by_author"))
        #expect(try plan("SELECT id FROM t WHERE author = 'x' OR author = 'y'").contains("USING COVERING INDEX t/by_author"))
        // The rowid is the key's order: ORDER BY id needs no sort.
        #expect(try !plan("SELECT * FROM t ORDER BY id DESC LIMIT 10").contains("TEMP B-TREE"))
    }
}
