import Foundation
import Testing
@testable import StackLabStore

/// A data directory on SQLite beside a started store: one session whose MySQL functions ask the store's
/// evaluator, and the statements of the SQLite path run by their kind.
enum SQLiteMirror {
    static func session(_ engine: StoreEngine, _ ctx: ExecutionContext, _ name: String) throws -> (dir: String, sqlite: SQLiteSession) {
        let dir = NSTemporaryDirectory() + "stacklab-\(name)-\(UUID().uuidString)"
        let datadir = try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: 1)
        let evaluator = Evaluator(table: nil, session: Session.root(), engine: engine, state: ctx.state, clause: "field list")
        let sqlite = try datadir.openSession(lockWaitTimeoutSeconds: 50) { c in
            try MySQLSemantics.register(on: c) { e, group in try evaluator.eval(e, row: nil, group: group) }
        }
        return (dir, sqlite)
    }

    /// A started store with a foobar database (and `setup` run in it), and a mirror session with foobar attached.
    static func foobar(_ name: String, setup: [String] = []) async throws
        -> (store: MySQLStore, ctx: ExecutionContext, dir: String, sqlite: SQLiteSession) {
        let store = try await startedStore { $0.initStatements = ["CREATE DATABASE foobar"] }
        if !setup.isEmpty {
            for result in await store.executeScript("USE foobar; " + setup.joined(separator: "; ")) { _ = try result.get() }
        }
        let engine = store.engine
        let ctx = ExecutionContext(engine: engine, state: engine.state.withLockedValue { $0 })
        let (dir, sqlite) = try session(engine, ctx, name)
        try sqlite.datadir.create("foobar")
        try sqlite.refreshAttachments()
        return (store, ctx, dir, sqlite)
    }

    /// The store's own answer to the last statement of a script.
    static func storeAnswer(_ store: MySQLStore, _ sql: String) async -> Result<StoreResult, Error> {
        switch await store.executeScript(sql).last {
        case .success(let r)?: return .success(r)
        case .failure(let e)?: return .failure(e)
        case nil: return .failure(StoreError.emptyQuery())
        }
    }

    /// One statement on the SQLite path.
    static func run(_ statement: Statement, _ ctx: inout ExecutionContext, _ session: inout Session, on sqlite: SQLiteSession) throws -> StoreResult {
        switch statement {
        case .insert(let t, let cols, let rows, let ignore):
            return try ctx.insert(t, columns: cols, rows: rows, ignore: ignore, session: &session, on: sqlite).0
        case .update(let t, let a, let w, let l, let o):
            return try ctx.update(t, assignments: a, whereClause: w, limit: l, orderBy: o, session: session, on: sqlite)
        case .delete(let t, let w, let l, let o):
            return try ctx.delete(t, whereClause: w, limit: l, orderBy: o, session: session, on: sqlite)
        case .truncate(let t):
            return try ctx.truncate(t, session: session, on: sqlite)
        case .createTable(let t, let ine, let cols, let pk, let uq, let plain):
            return try ctx.createTable(t, ifNotExists: ine, columns: cols, primaryKey: pk, unique: uq, plain: plain, session: session, on: sqlite)
        case .alterTable(let t, let specs): return try ctx.alterTable(t, specs, session: session, on: sqlite)
        case .dropTable(let names, let ie): return try ctx.dropTable(names, ifExists: ie, session: session, on: sqlite)
        case .createDatabase(let name, let ine): return try ctx.createDatabase(name, ifNotExists: ine, session: session, on: sqlite)
        case .dropDatabase(let name, let ie): return try ctx.dropDatabase(name, ifExists: ie, session: session, on: sqlite)
        case .select(let q): return try ctx.select(q, session: &session, on: sqlite)
        default: throw StoreError.notSupported("this statement on the SQLite path")
        }
    }
}

/// INSERT, UPDATE, DELETE and TRUNCATE with their rows in SQLite answer as the store's engine does: the same
/// statements run on a started store and on an SQLite session over the same dictionary, and after each one the
/// answer (OK's counts and info, or the error) and every table's rows are compared.
@Suite("Writes on SQLite")
struct SQLiteWritesTests {
    static let setup = [
        "CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(10) NOT NULL, title VARCHAR(20) UNIQUE, likes INT DEFAULT 0, price DECIMAL(6,2))",
        "CREATE TABLE tags (name VARCHAR(10) PRIMARY KEY, n TINYINT)",
        "CREATE TABLE log (msg VARCHAR(5), at INT)",
    ]

    static let reads = [
        "posts": "SELECT * FROM posts ORDER BY id",
        "tags": "SELECT * FROM tags ORDER BY name",
        "log": "SELECT * FROM log",
    ]

    static let corpus = [
        "INSERT INTO posts (author, title) VALUES ('alice', 'hello')",
        "INSERT INTO posts (author, title, likes, price) VALUES ('bob', 'second', 5, 12.5), ('carol', 'third', 2, 0.125)",
        "INSERT INTO posts (author, title) VALUES ('dave', 'HELLO')",
        "INSERT IGNORE INTO posts (author, title) VALUES ('dave', 'HELLO'), ('erin', 'fresh')",
        "INSERT INTO posts (id, author) VALUES (10, 'frank')",
        "INSERT INTO posts (author) VALUES ('gina')",
        "INSERT INTO posts (author) VALUES ('waytoolongname')",
        "INSERT INTO posts (author, likes) VALUES ('x', 99999999999)",
        "INSERT INTO posts (author, likes) VALUES ('x', 'abc')",
        "INSERT INTO posts (author) VALUES (NULL)",
        "INSERT INTO posts (author, title) VALUES ('ok1', 'a1'), ('ok2', 'a1')",
        "INSERT INTO posts (nosuch) VALUES (1)",
        "INSERT INTO posts (author) VALUES ('a', 'b')",
        "INSERT INTO posts (author, price) VALUES ('hal', DEFAULT)",
        "UPDATE posts SET likes = likes + 1 WHERE author = 'ALICE'",
        "UPDATE posts SET likes = likes + 1, price = likes * 2 WHERE id = 2",
        "UPDATE posts SET likes = 0 WHERE likes > 100",
        "UPDATE posts SET likes = likes WHERE id = 1",
        "UPDATE posts SET title = 'Second' WHERE id = 1",
        "UPDATE posts SET author = NULL WHERE id = 1",
        "UPDATE posts SET likes = 1000 ORDER BY id DESC LIMIT 2",
        "UPDATE posts SET nosuch = 1",
        "UPDATE posts SET likes = 1 WHERE nosuch = 1",
        "UPDATE posts SET price = price / 3 WHERE price IS NOT NULL",
        "UPDATE posts SET id = 50 WHERE id = 10",
        "INSERT INTO posts (author) VALUES ('after')",
        "DELETE FROM posts WHERE likes = 1000 ORDER BY id LIMIT 1",
        "DELETE FROM posts WHERE price > 1",
        "DELETE FROM posts WHERE nosuch = 2",
        "INSERT INTO tags VALUES ('red', 1), ('Blue', 2)",
        "INSERT INTO tags VALUES ('RED', 3)",
        "UPDATE tags SET n = n + 1 WHERE name = 'blue'",
        "UPDATE tags SET n = 200 WHERE name = 'red'",
        "UPDATE tags SET name = 'green' WHERE name = 'red'",
        "DELETE FROM tags WHERE name = 'BLUE'",
        "INSERT INTO log VALUES ('a', 1), ('a', 1), ('b', 2)",
        "DELETE FROM log WHERE msg = 'a' LIMIT 1",
        "UPDATE log SET at = 5 WHERE msg = 'a'",
        "TRUNCATE TABLE log",
        "INSERT INTO log VALUES ('c', 3)",
        "DELETE FROM posts",
        "INSERT INTO posts (author) VALUES ('new')",
    ]

    /// An answer as text: the error, or the OK's counts, info and warnings.
    static func answer(_ r: Result<StoreResult, Error>) -> String {
        switch r {
        case .success(let s):
            return "OK \(s.affectedRows) id=\(s.lastInsertID) info=\(s.info ?? "") warnings=\(s.warningList.map { "\($0.code) \($0.message)" })"
        case .failure(let e as StoreError):
            return "ERROR \(e.code): \(e.message)"
        case .failure(let e):
            return "\(e)"
        }
    }

    @Test func writesAnswerAsTheStoresEngine() async throws {
        var (store, ctx, dir, sqlite) = try await SQLiteMirror.foobar("writes", setup: Self.setup)
        let engine = store.engine
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let evaluator = Evaluator(table: nil, session: Session.root(), engine: engine, state: ctx.state, clause: "field list")
        guard let database = ctx.catalog.databases["foobar"] else { Issue.record("no foobar"); return }
        try sqlite.begin()
        for table in database.tables.values { try sqlite.createTable(table, in: "foobar") }
        try sqlite.commit(gtid: nil, source: nil)

        var session = Session.root()
        session.database = "foobar"
        func readBack(_ name: String) throws -> [[String?]] {
            guard let sql = Self.reads[name], case .select(let q) = try Parser.parse(sql) else { return [] }
            let tables = ctx.catalog.databases["foobar"]?.tables ?? [:]
            let query = try SQLiteQuery(q, resolve: { t, alias in
                guard let table = tables[t.name] else { throw StoreError.noSuchTable("foobar", t.name) }
                return SQLiteQuery.Source(database: "foobar", table: table, alias: alias)
            }) { try evaluator.eval($0, row: nil) }
            return try sqlite.connection.query(query.sql, query.parameters).map { $0.map(\.text) }
        }

        for sql in Self.corpus {
            let theirs = await SQLiteMirror.storeAnswer(store, "USE foobar; " + sql)
            let ours: Result<StoreResult, Error>
            do {
                try sqlite.begin()
                let result = try SQLiteMirror.run(try Parser.parse(sql), &ctx, &session, on: sqlite)
                try sqlite.commit(gtid: nil, source: nil)
                ours = .success(result)
            } catch {
                try sqlite.commit(gtid: nil, source: nil)
                ours = .failure(error)
            }
            #expect(Self.answer(ours) == Self.answer(theirs), "\(sql)")
            for name in Self.reads.keys.sorted() {
                let expected = try await store.executeScript("USE foobar; " + (Self.reads[name] ?? "")).last?.get().rows
                #expect(try readBack(name) == expected, "\(sql): \(name)")
            }
        }
        // The counter the inserts moved is in the file's dictionary, committed with the rows.
        let definitions = try sqlite.definitions(in: "foobar")
        #expect(definitions.first { $0.name == "posts" }?.autoIncrement == ctx.catalog.databases["foobar"]?.tables["posts"]?.autoIncrement)
        await store.stop()
    }
}

/// SELECT with its rows read by SQLite answers as the store's engine: the same rows and MySQL's column
/// definitions (types, lengths, flags, decimals, table and database names), and the same errors.
@Suite("Reads on SQLite")
struct SQLiteSelectTests {
    static let setup = [
        "CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(10) NOT NULL, title VARCHAR(20) UNIQUE, likes INT DEFAULT 0, price DECIMAL(6,2), at DATETIME)",
        "INSERT INTO posts (author, title, likes, price, at) VALUES ('alice', 'hello', 3, 12.50, '2024-01-02 03:04:05'), ('Bob', 'second', 1, NULL, NULL), ('alice', 'again', 5, 0.25, '2023-12-31 23:59:59'), ('carol', NULL, 0, 7, NULL)",
    ]

    static let corpus = [
        "SELECT * FROM posts",
        "SELECT id, author FROM posts WHERE likes > 1 ORDER BY id DESC",
        "SELECT author, COUNT(*) AS n, SUM(likes), AVG(price), MAX(at) FROM posts GROUP BY author ORDER BY author",
        "SELECT COUNT(*), MAX(price), MIN(title), SUM(price) FROM posts",
        "SELECT DISTINCT author FROM posts ORDER BY author",
        "SELECT id, price * 2, price / 3, likes DIV 2, CONCAT(author, '-', title) FROM posts ORDER BY id",
        "SELECT id FROM posts WHERE author = 'ALICE' ORDER BY id",
        "SELECT id FROM posts WHERE title LIKE 'h%' ORDER BY id",
        "SELECT id FROM posts WHERE id IN (1, 3) ORDER BY id",
        "SELECT id FROM posts WHERE price BETWEEN 1 AND 20 ORDER BY id",
        "SELECT author FROM posts ORDER BY likes DESC, id LIMIT 2",
        "SELECT author FROM posts ORDER BY id LIMIT 1, 2",
        "SELECT id, IF(likes > 2, 'many', 'few'), CASE WHEN price IS NULL THEN 'none' ELSE price END FROM posts ORDER BY id",
        "SELECT id, author, at FROM posts WHERE id = 2",
        "SELECT author, COUNT(*) FROM posts GROUP BY author HAVING COUNT(*) > 1 ORDER BY author",
        "SELECT id, ROUND(price, 1), UPPER(author), LENGTH(title), COALESCE(title, author) FROM posts ORDER BY id",
        "SELECT id FROM posts ORDER BY author, id",
        "SELECT id FROM posts WHERE title IS NULL",
        "SELECT nosuch FROM posts",
        "SELECT id FROM posts WHERE nosuch = 1",
        "SELECT * FROM nosuch",
        "SELECT 1 + 1, 'x', 2.50 * 2, 7 / 2",
        "SELECT table_name FROM information_schema.TABLES WHERE table_schema = 'foobar' ORDER BY table_name",
        "SELECT column_name, data_type, is_nullable FROM information_schema.COLUMNS WHERE table_name = 'posts' ORDER BY ordinal_position",
        "SELECT user, host FROM mysql.user ORDER BY user, host",
    ]

    static func answer(_ r: Result<StoreResult, Error>) -> String {
        switch r {
        case .success(let s): return "\(s.columnInfo) \(s.rows)"
        case .failure(let e as StoreError): return "ERROR \(e.code): \(e.message)"
        case .failure(let e): return "\(e)"
        }
    }

    @Test func selectsAnswerAsTheStoresEngine() async throws {
        var (store, ctx, dir, sqlite) = try await SQLiteMirror.foobar("reads", setup: Self.setup)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let database = ctx.catalog.databases["foobar"] else { Issue.record("no foobar"); return }
        // The rows as the store's own file holds them, copied into the mirror's.
        try sqlite.connection.attach(store.settings.dataDirectory + "/foobar.sqlite", as: "source")
        try sqlite.begin()
        for table in database.tables.values {
            try sqlite.createTable(table, in: "foobar")
            let q = SQLiteConnection.quote(table.name)
            try sqlite.connection.execute("INSERT INTO foobar.\(q) SELECT * FROM source.\(q)")
        }
        try sqlite.commit(gtid: nil, source: nil)
        try sqlite.connection.detach("source")

        var session = Session.root()
        session.database = "foobar"
        for sql in Self.corpus {
            let theirs = await SQLiteMirror.storeAnswer(store, "USE foobar; " + sql)
            let ours: Result<StoreResult, Error>
            do {
                guard case .select(let q) = try Parser.parse(sql) else { Issue.record("not a SELECT: \(sql)"); continue }
                ours = .success(try ctx.select(q, session: &session, on: sqlite))
            } catch {
                ours = .failure(error)
            }
            #expect(Self.answer(ours) == Self.answer(theirs), "\(sql)")
        }
        // A join of a stored table with information_schema, which the store's engine refuses.
        guard case .select(let q) = try Parser.parse("SELECT c.column_name, COUNT(p.id) FROM information_schema.COLUMNS c JOIN posts p ON c.table_name = 'posts' AND c.column_name = 'id' GROUP BY c.column_name") else { return }
        #expect(try ctx.select(q, session: &session, on: sqlite).rows == [["id", "4"]])
        await store.stop()
    }
}

/// CREATE, ALTER and DROP TABLE with the table in SQLite answer as the store's engine: the same answers, the same
/// rows after each statement, and the file's dictionary holds the definitions the store's engine has.
@Suite("Tables on SQLite")
struct SQLiteTablesTests {
    static let corpus = [
        "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20), email VARCHAR(30))",
        "INSERT INTO users VALUES (1, 'alice', 'a@x'), (2, 'bob', 'b@x'), (3, 'carol', 'b@x')",
        "ALTER TABLE users ADD COLUMN age INT DEFAULT 18",
        "ALTER TABLE users ADD COLUMN nick VARCHAR(5) NOT NULL AFTER id",
        "ALTER TABLE users ADD COLUMN seen DATETIME NOT NULL",
        "ALTER TABLE users ADD COLUMN first_col INT FIRST",
        "ALTER TABLE users DROP COLUMN first_col",
        "ALTER TABLE users RENAME COLUMN name TO full_name",
        "ALTER TABLE users ADD INDEX by_name (full_name)",
        "ALTER TABLE users ADD UNIQUE INDEX by_email (email)",
        "UPDATE users SET email = 'c@x' WHERE id = 3",
        "ALTER TABLE users ADD UNIQUE INDEX by_email (email)",
        "INSERT INTO users (id, nick, full_name, email) VALUES (4, 'd', 'dave', 'C@X')",
        "ALTER TABLE users DROP INDEX by_email",
        "INSERT INTO users (id, nick, full_name, email) VALUES (4, 'd', 'dave', 'C@X')",
        "CREATE INDEX by_age ON users (age)",
        "DROP INDEX by_age ON users",
        "ALTER TABLE users DROP COLUMN nosuch",
        "ALTER TABLE users ADD COLUMN age INT",
        "ALTER TABLE users RENAME TO people",
        "INSERT INTO people (id, nick, full_name) VALUES (5, 'e', 'erin')",
        "CREATE TABLE t2 (k VARCHAR(5) PRIMARY KEY, v INT, KEY (v))",
        "INSERT INTO t2 VALUES ('a', 1), ('B', 2)",
        "ALTER TABLE t2 ADD COLUMN w DECIMAL(5,2) DEFAULT 1.5",
        "ALTER TABLE t2 DROP COLUMN v",
        "INSERT INTO t2 VALUES ('A', 3)",
        "CREATE TABLE IF NOT EXISTS t2 (x INT)",
        "CREATE TABLE t2 (x INT)",
        "CREATE TABLE t3 (id INT AUTO_INCREMENT PRIMARY KEY, code CHAR(3) UNIQUE)",
        "INSERT INTO t3 (code) VALUES ('x'), ('y')",
        "ALTER TABLE t3 ADD COLUMN note TEXT, ADD INDEX by_code_note (code, id)",
        "DROP TABLE t2",
        "DROP TABLE IF EXISTS t2, nosuch",
        "DROP TABLE nosuch",
    ]

    @Test func tablesChangeAsInTheStoresEngine() async throws {
        var (store, ctx, dir, sqlite) = try await SQLiteMirror.foobar("tables")
        let engine = store.engine
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var session = Session.root()
        session.database = "foobar"
        for sql in Self.corpus {
            let theirs = await SQLiteMirror.storeAnswer(store, "USE foobar; " + sql)
            let ours: Result<StoreResult, Error>
            do {
                try sqlite.begin()
                let result = try SQLiteMirror.run(try Parser.parse(sql), &ctx, &session, on: sqlite)
                try sqlite.commit(gtid: nil, source: nil)
                ours = .success(result)
            } catch {
                try sqlite.rollback()
                ours = .failure(error)
            }
            #expect(SQLiteWritesTests.answer(ours) == SQLiteWritesTests.answer(theirs), "\(sql)")

            let tables = engine.state.withLockedValue { $0.catalog.databases["foobar"]?.tables ?? [:] }
            let definitions = try sqlite.definitions(in: "foobar")
            #expect(definitions.map(\.name).sorted() == tables.keys.sorted(), "\(sql)")
            for d in definitions {
                guard let table = tables[d.name] else { continue }
                #expect(d == TableDefinition(table), "\(sql): \(d.name)")
                let expected = try await store.execute("SELECT * FROM foobar.\(d.name)").rows
                guard case .select(let q) = try Parser.parse("SELECT * FROM \(d.name)") else { continue }
                let rows = try ctx.select(q, session: &session, on: sqlite).rows
                #expect(rows.sorted { "\($0)" < "\($1)" } == expected.sorted { "\($0)" < "\($1)" }, "\(sql): \(d.name)")
            }
        }
        // What SQLite itself holds: the indexes under their MySQL names, the rebuilt table gone.
        #expect(try sqlite.connection.query("SELECT name FROM foobar.sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                == [[.string("people/by_name")], [.string("t3/by_code_note")], [.string("t3/code")]])
        #expect(try sqlite.connection.query(#"SELECT count(*) FROM foobar.sqlite_schema WHERE name = '/rebuild'"#) == [[.int(0)]])
        await store.stop()
    }
}

/// CREATE and DROP DATABASE make and remove a file of the data directory, and the dictionary a restart reads back
/// is the one the statements made.
@Suite("Databases on SQLite")
struct SQLiteDatabasesTests {
    @Test func aDatabaseIsAFileAndTheDictionaryComesBackFromIt() async throws {
        let store = try await startedStore()
        let engine = store.engine
        var ctx = ExecutionContext(engine: engine, state: engine.state.withLockedValue { $0 })
        let (dir, sqlite) = try SQLiteMirror.session(engine, ctx, "databases")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let datadir = sqlite.datadir
        var session = Session.root()
        func run(_ sql: String) throws -> StoreResult {
            let statement = try Parser.parse(sql)
            // CREATE and DROP DATABASE run outside a transaction (the implicit commit of DDL has ended any).
            switch statement {
            case .createDatabase, .dropDatabase: break
            default: try sqlite.begin()
            }
            defer { try? sqlite.commit(gtid: nil, source: nil) }
            return try SQLiteMirror.run(statement, &ctx, &session, on: sqlite)
        }
        #expect(try run("CREATE DATABASE `my-shop`").affectedRows == 1)
        #expect(FileManager.default.fileExists(atPath: dir + "/my@002dshop.sqlite"))
        #expect(sqlite.attached.contains("my-shop"))
        #expect(try run("CREATE DATABASE IF NOT EXISTS `my-shop`").warningList.map(\.code) == [1007])
        #expect(throws: StoreError.databaseExists("my-shop")) { try run("CREATE DATABASE `my-shop`") }
        _ = try run("CREATE TABLE `my-shop`.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10) UNIQUE, KEY by_name_id (name, id))")
        _ = try run("INSERT INTO `my-shop`.items (name) VALUES ('pen'), ('ink')")

        // What a restart builds its dictionary from.
        let catalog = Catalog(try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: 1).recover())
        let restored = catalog.databases["my-shop"]?.tables["items"].map(TableDefinition.init)
        #expect(restored != nil)
        #expect(restored == ctx.catalog.databases["my-shop"]?.tables["items"].map(TableDefinition.init))
        #expect(restored?.autoIncrement == 3)
        #expect(catalog.databases["mysql"] == nil)

        #expect(try run("DROP DATABASE `my-shop`").affectedRows == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/my@002dshop.sqlite"))
        #expect(!sqlite.attached.contains("my-shop"))
        #expect(try run("DROP DATABASE IF EXISTS `my-shop`").warningList.map(\.code) == [1008])
        #expect(Catalog(try datadir.recover()).databases.isEmpty)
        await store.stop()
    }
}
