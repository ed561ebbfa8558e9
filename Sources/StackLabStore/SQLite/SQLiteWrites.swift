import CSQLite
import Foundation

/// INSERT, UPDATE, DELETE and TRUNCATE with their rows in SQLite. MySQL's meaning stays the store's: strict mode
/// makes each row (`insertedRow`, `updatedRow`), the WHERE, ORDER BY and LIMIT pick the rows in SQL written by
/// `SQLiteExpression`, and SQLite keeps the rows and their unique keys (a conflict is MySQL's 1062).
///
/// Each statement runs inside a savepoint of the session's transaction: one that fails leaves nothing of itself,
/// as a failed statement in InnoDB, while the transaction's earlier statements stay.
extension ExecutionContext {
    mutating func insert(_ t: TableName, columns: [String]?, rows: [[Expr]], ignore: Bool, session: inout Session,
                         on sqlite: SQLiteSession) throws -> (StoreResult, Int64) {
        let (db, table) = try self.table(t, session, privilege: "INSERT")
        let targets = try Self.insertTargets(table, columns)
        let ev = evaluator(nil, session, clause: "field list")
        let millis = ev.nowMillis()
        let start = Self.autoIncrementStart(table, session: session)
        let autoMax = start.max
        var nextAuto = start.next
        var firstGenerated: Int64 = 0
        var inserted = 0
        var duplicateWarnings: [StoreWarning] = []
        try sqlite.statement {
            for (n, exprs) in rows.enumerated() {
                let rowNumber = n + 1
                let given = try Self.givenValues(exprs, targets: targets, evaluator: ev, rowNumber: rowNumber)
                let row = try Self.insertedRow(given, table: table, millis: millis, rowNumber: rowNumber,
                                               nextAuto: &nextAuto, autoMax: autoMax, firstGenerated: &firstGenerated)
                do {
                    try sqlite.insert(row, into: table, in: db)
                    inserted += 1
                } catch let e as StoreError where e.code == 1062 && ignore {
                    duplicateWarnings.append(StoreWarning(level: "Warning", code: e.code, message: e.message))
                }
            }
        }
        let finalAuto = max(nextAuto, min(table.autoIncrement, autoMax))
        if finalAuto != table.autoIncrement { try moveAutoIncrement(db, table.name, to: finalAuto, on: sqlite) }
        if firstGenerated > 0 { session.lastInsertID = firstGenerated }
        var result = StoreResult(affectedRows: inserted, lastInsertID: Int(firstGenerated))
        result.warningList = duplicateWarnings
        let duplicates = duplicateWarnings.count
        if rows.count > 1 { result.info = "Records: \(rows.count)  Duplicates: \(duplicates)  Warnings: \(duplicates)" }
        return (result, firstGenerated)
    }

    mutating func update(_ t: TableName, assignments: [(String, Expr)], whereClause: Expr?, limit: Int?, orderBy: [OrderItem] = [],
                         session: Session, on sqlite: SQLiteSession) throws -> StoreResult {
        let (db, table) = try self.table(t, session, privilege: "UPDATE")
        let fieldEval = evaluator(table, session, clause: "field list")
        var targets: [Int] = []
        for (name, e) in assignments {
            guard let i = table.columnIndex(name) else { throw StoreError.unknownColumn(name, in: "field list") }
            targets.append(i)
            try fieldEval.validate(e)
        }
        let matched = try sqlite.matchingRows(table, in: db, where: whereClause, orderBy: orderBy, limit: limit,
                                              constant: { try fieldEval.eval($0, row: nil) })
        var changed = 0
        var maxAuto: Int64 = 0
        let autoColumn = table.autoIncrementColumn
        try sqlite.statement {
            for (n, m) in matched.enumerated() {
                let newRow = try Self.updatedRow(m.row, assignments: assignments, targets: targets, table: table, evaluator: fieldEval, rowNumber: n + 1)
                guard newRow != m.row else { continue }
                try sqlite.replace(m.key, with: newRow, in: table, database: db)
                changed += 1
                if let a = autoColumn, a < newRow.count, case .int(let x) = newRow[a] { maxAuto = max(maxAuto, x) }
            }
        }
        // MySQL 8 persists a counter raised by UPDATE: the next insert continues after the largest value.
        if let a = autoColumn, maxAuto >= table.autoIncrement {
            try moveAutoIncrement(db, table.name, to: Table.autoIncrement(after: maxAuto, max: table.columns[a].autoIncrementMax), on: sqlite)
        }
        return StoreResult(affectedRows: changed, info: "Rows matched: \(matched.count)  Changed: \(changed)  Warnings: 0")
    }

    mutating func delete(_ t: TableName, whereClause: Expr?, limit: Int?, orderBy: [OrderItem] = [], session: Session,
                         on sqlite: SQLiteSession) throws -> StoreResult {
        let (db, table) = try self.table(t, session, privilege: "DELETE")
        let ev = evaluator(table, session, clause: "where clause")
        let doomed = try sqlite.matchingRows(table, in: db, where: whereClause, orderBy: orderBy, limit: limit,
                                             constant: { try ev.eval($0, row: nil) })
        try sqlite.statement {
            for m in doomed { try sqlite.delete(m.key, in: table, database: db) }
        }
        return StoreResult(affectedRows: doomed.count)
    }

    mutating func truncate(_ t: TableName, session: Session, on sqlite: SQLiteSession) throws -> StoreResult {
        let (db, table) = try self.table(t, session, privilege: "DROP")
        try sqlite.statement {
            try sqlite.connection.execute("DELETE FROM \(SQLiteConnection.quote(db)).\(SQLiteConnection.quote(table.name))")
            sqlite.wrote(db)
        }
        try moveAutoIncrement(db, table.name, to: 1, on: sqlite)
        return StoreResult(affectedRows: 0)
    }

    /// The AUTO_INCREMENT counter, in the dictionary the session reads and in the file's, in its transaction.
    private mutating func moveAutoIncrement(_ db: String, _ name: String, to value: Int64, on sqlite: SQLiteSession) throws {
        guard var table = catalog.databases[db]?.tables[name] else { return }
        table.autoIncrement = value
        catalog.databases[db]?.tables[name] = table
        try sqlite.saveDefinition(TableDefinition(table), in: db)
    }
}

extension SQLiteSession {
    /// A row UPDATE or DELETE picked: how SQLite finds it again (its rowid, or its primary key as stored in a
    /// WITHOUT ROWID table) and its values as the store's.
    struct MatchedRow {
        var key: [SQLValue]
        var row: [SQLValue]
    }

    /// Runs one statement's writes inside a savepoint: all of them, or none when one fails.
    func statement(_ body: () throws -> Void) throws {
        try connection.execute(#"SAVEPOINT "/statement""#)
        do {
            try body()
        } catch {
            try? connection.execute(#"ROLLBACK TO SAVEPOINT "/statement""#)
            try? connection.execute(#"RELEASE SAVEPOINT "/statement""#)
            throw error
        }
        try connection.execute(#"RELEASE SAVEPOINT "/statement""#)
    }

    /// How a row is named in SQL: `rowid` (or the first of SQLite's other names for it that no column takes), or
    /// the primary key's columns of a WITHOUT ROWID table.
    static func keyColumns(_ table: Table) -> [String] {
        if SQLiteSchema.isWithoutRowID(table), let pk = table.indexes.first(where: { $0.name == "PRIMARY" }) {
            return pk.columns.compactMap { $0 < table.columns.count ? SQLiteConnection.quote(table.columns[$0].name) : nil }
        }
        let taken = Set(table.columns.map { $0.name.lowercased() })
        return [["rowid", "_rowid_", "oid"].first { !taken.contains($0) } ?? "rowid"]
    }

    /// The rows a WHERE clause picks, in ORDER BY's order, at most LIMIT of them (UPDATE's and DELETE's rows).
    /// An unknown column is MySQL's 1054 for its clause, before SQLite sees anything.
    func matchingRows(_ table: Table, in database: String, where condition: Expr?, orderBy: [OrderItem], limit: Int?,
                      constant: @escaping (Expr) throws -> SQLValue) throws -> [MatchedRow] {
        let q = SQLiteConnection.quote
        var clause = "where clause"
        var expression = SQLiteExpression(constant: constant)
        expression.column = { t, name in
            guard t == nil || t?.lowercased() == table.name.lowercased(), let i = table.columnIndex(name) else {
                throw StoreError.unknownColumn(t.map { "\($0).\(name)" } ?? name, in: clause)
            }
            return (q(table.columns[i].name), table.columns[i].kind)
        }
        let keys = Self.keyColumns(table)
        let reads = table.columns.map { SQLiteSchema.read(q($0.name), $0.kind) }
        var text = "SELECT " + (keys + reads).joined(separator: ", ") + " FROM \(q(database)).\(q(table.name))"
        if let condition {
            if condition.containsAggregate { throw StoreError(code: 1111, sqlState: "HY000", message: "Invalid use of group function") }
            text += " WHERE " + (try expression.condition(condition))
        }
        if !orderBy.isEmpty {
            clause = "order clause"
            var terms: [String] = []
            for o in orderBy {
                if o.expr.containsAggregate { throw StoreError(code: 1111, sqlState: "HY000", message: "Invalid use of group function") }
                if case .column(let t, let name) = o.expr, let stored = try expression.column?(t, name) {
                    terms.append(stored.sql + (o.descending ? " DESC" : ""))
                } else {
                    terms.append("mysql_sortkey(\(try expression.sql(o.expr))) COLLATE \(MySQLSemantics.collation)" + (o.descending ? " DESC" : ""))
                }
            }
            text += " ORDER BY " + terms.joined(separator: ", ")
        }
        var parameters = expression.parameters
        if let limit {
            parameters.append(.int(Int64(clamping: max(0, limit))))
            text += " LIMIT ?\(parameters.count)"
        }
        return try connection.query(text, parameters).map { r in
            MatchedRow(key: Array(r.prefix(keys.count)), row: Array(r.dropFirst(keys.count)))
        }
    }

    private static func keyCondition(_ table: Table, from first: Int) -> String {
        keyColumns(table).enumerated().map { "\($1) = ?\(first + $0)" }.joined(separator: " AND ")
    }

    /// Writes a row's new values where `key` finds it; a unique key it now repeats is MySQL's 1062.
    func replace(_ key: [SQLValue], with row: [SQLValue], in table: Table, database: String) throws {
        let q = SQLiteConnection.quote
        let sets = table.columns.enumerated().map { "\(q($1.name)) = ?\($0 + 1)" }.joined(separator: ", ")
        let values = zip(row, table.columns).map { SQLiteSchema.stored($0, $1.kind) }
        do {
            _ = try connection.query("UPDATE \(q(database)).\(q(table.name)) SET \(sets) WHERE \(Self.keyCondition(table, from: values.count + 1))",
                                     values + key)
        } catch let e as SQLiteError where e.code == SH_SQLITE_CONSTRAINT_UNIQUE || e.code == SH_SQLITE_CONSTRAINT_PRIMARYKEY {
            throw Self.duplicate(e, row: row, table: table)
        }
        wrote(database)
    }

    func delete(_ key: [SQLValue], in table: Table, database: String) throws {
        let q = SQLiteConnection.quote
        _ = try connection.query("DELETE FROM \(q(database)).\(q(table.name)) WHERE \(Self.keyCondition(table, from: 1))", key)
        wrote(database)
    }
}

/// CREATE TABLE, ALTER TABLE and DROP TABLE with the table in SQLite: the dictionary's definition is worked out
/// as for the store's engine, and SQLite's table, indexes and the file's `/dictionary` change in the session's
/// transaction.
extension ExecutionContext {
    mutating func createTable(_ t: TableName, ifNotExists: Bool, columns defs: [ColumnDefinition], primaryKey: [String],
                              unique: [(String, [String])], plain: [AlterSpec], session: Session, on sqlite: SQLiteSession) throws -> StoreResult {
        let result = try createTable(t, ifNotExists: ifNotExists, columns: defs, primaryKey: primaryKey, unique: unique, session: session)
        guard result.warningList.isEmpty else { return result }
        let db = try databaseName(t, session)
        guard let table = catalog.databases[db]?.tables[t.name] else { return result }
        do {
            try sqlite.statement {
                try sqlite.createTable(table, in: db)
            }
            if !plain.isEmpty { _ = try alterTable(t, plain, session: session, on: sqlite) }
        } catch {
            catalog.databases[db]?.tables[t.name] = nil
            throw error
        }
        return result
    }

    mutating func alterTable(_ t: TableName, _ specs: [AlterSpec], session: Session, on sqlite: SQLiteSession) throws -> StoreResult {
        let (db, original) = try self.table(t, session, privilege: "ALTER")
        let q = SQLiteConnection.quote
        let hasRows = try !sqlite.connection.query("SELECT 1 FROM \(q(db)).\(q(original.name)) LIMIT 1").isEmpty
        let altered = try alteredDefinition(original, db: db, specs, hasRows: hasRows)
        try sqlite.statement { try sqlite.rebuild(original, in: db, as: altered) }
        catalog.databases[db]?.tables[original.name] = nil
        catalog.databases[altered.target.db]?.tables[altered.target.name] = altered.table
        return StoreResult(affectedRows: 0, info: "Records: 0  Duplicates: 0  Warnings: 0")
    }

    mutating func dropTable(_ names: [TableName], ifExists: Bool, session: Session, on sqlite: SQLiteSession) throws -> StoreResult {
        var found: [(db: String, name: String)] = []
        for t in names {
            let db = try databaseName(t, session)
            if catalog.databases[db]?.tables[t.name] != nil { found.append((db, t.name)) }
        }
        let result = try dropTable(names, ifExists: ifExists, session: session)
        try sqlite.statement {
            for f in found { try sqlite.dropTable(f.name, in: f.db) }
        }
        return result
    }
}

extension SQLiteSession {
    /// ALTER TABLE as SQLite does any change it has no statement for: a new table with the new definition, the
    /// rows copied across (each column from its source), the old table dropped, the new one renamed to the name
    /// and its indexes made. A unique key the rows would repeat is MySQL's 1062, before anything is copied.
    func rebuild(_ original: Table, in db: String, as altered: AlteredTable) throws {
        let q = SQLiteConnection.quote
        let newTable = altered.table
        let target = altered.target
        var parameters: [SQLValue] = []
        func bind(_ v: SQLValue) -> String {
            parameters.append(v)
            return "?\(parameters.count)"
        }
        /// A new column's value from the old table: as stored, or as the store reads it.
        func source(_ i: Int, read: Bool) -> String {
            guard i < altered.sources.count, i < newTable.columns.count else { return "NULL" }
            let kind = newTable.columns[i].kind
            switch altered.sources[i] {
            case .old(let o):
                guard o < original.columns.count else { return "NULL" }
                let column = q(original.columns[o].name)
                return read ? SQLiteSchema.read(column, kind) : column
            case .fill(let v):
                return bind(read ? v : SQLiteSchema.stored(v, kind))
            }
        }
        let old = "\(q(db)).\(q(original.name))"
        for index in newTable.indexes {
            parameters = []
            let keys = index.columns.map { source($0, read: false) }
            let reads = newTable.columns.indices.map { source($0, read: true) }
            let sql = "SELECT \(reads.joined(separator: ", ")) FROM \(old) WHERE \(keys.map { "\($0) IS NOT NULL" }.joined(separator: " AND "))"
                + " GROUP BY \(keys.joined(separator: ", ")) HAVING count(*) > 1 LIMIT 1"
            if let row = try connection.query(sql, parameters).first {
                throw StoreError.duplicateEntry(newTable.keyDisplay(row, index), key: "\(newTable.name).\(index.name)")
            }
        }
        var work = newTable
        work.name = "/rebuild"
        guard let create = SQLiteSchema.create(work, schema: target.db).first else { return }
        try connection.execute(create)
        parameters = []
        let columns = newTable.columns.map { q($0.name) }.joined(separator: ", ")
        let values = newTable.columns.indices.map { source($0, read: false) }.joined(separator: ", ")
        _ = try connection.query("INSERT INTO \(q(target.db)).\"/rebuild\" (\(columns)) SELECT \(values) FROM \(old)", parameters)
        try dropTable(original.name, in: db)
        try connection.execute("ALTER TABLE \(q(target.db)).\"/rebuild\" RENAME TO \(q(target.name))")
        for statement in SQLiteSchema.create(newTable, schema: target.db).dropFirst() { try connection.execute(statement) }
        try saveDefinition(TableDefinition(newTable), in: target.db)
    }
}

/// CREATE DATABASE and DROP DATABASE: a file of the data directory made or removed, the dictionary as for the
/// store's engine. Both run outside a transaction, after DDL's implicit commit (SQLite attaches and detaches only
/// outside one).
extension ExecutionContext {
    mutating func createDatabase(_ name: String, ifNotExists: Bool, session: Session, on sqlite: SQLiteSession) throws -> StoreResult {
        let result = try createDatabase(name, ifNotExists: ifNotExists, session: session)
        guard result.warningList.isEmpty else { return result }
        do {
            try sqlite.datadir.create(name)
            try sqlite.refreshAttachments()
        } catch {
            catalog.databases[name] = nil
            try? sqlite.datadir.drop(name)
            throw error
        }
        return result
    }

    mutating func dropDatabase(_ name: String, ifExists: Bool, session: Session, on sqlite: SQLiteSession) throws -> StoreResult {
        let result = try dropDatabase(name, ifExists: ifExists, session: session)
        guard result.warningList.isEmpty else { return result }
        // The GTIDs of the transactions that wrote only here stay executed: they move to `mysql` first.
        if sqlite.attached.contains(name) {
            let q = SQLiteConnection.quote
            try sqlite.connection.execute("BEGIN IMMEDIATE")
            do {
                try sqlite.connection.execute("INSERT OR IGNORE INTO \(q(SQLiteDatadir.systemDatabase)).\"/gtid_executed\" SELECT * FROM \(q(name)).\"/gtid_executed\"")
                try sqlite.connection.execute("COMMIT")
            } catch {
                try? sqlite.connection.execute("ROLLBACK")
                throw error
            }
        }
        try sqlite.refreshAttachments(dropping: name)
        try sqlite.datadir.drop(name)
        return result
    }
}

extension Catalog {
    /// The dictionary a data directory holds: every database (but `mysql`, which the store makes itself) with its
    /// tables' definitions, and the accounts.
    init(_ recovered: RecoveredDatadir) {
        self.init()
        for (name, tables) in recovered.databases where name != SQLiteDatadir.systemDatabase {
            var database = Database(name: name)
            for d in tables {
                // A file edited by hand may name columns an index no longer has.
                var table = d.table
                table.normalize()
                database.tables[d.name] = table
            }
            databases[name] = database
        }
        accounts = recovered.accounts
    }
}
