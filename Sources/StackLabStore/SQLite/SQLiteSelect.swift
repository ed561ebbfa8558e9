import Foundation

/// SELECT with its rows read by SQLite: the tables FROM names resolve in the store's dictionary (privileges and
/// MySQL's 1146 first), `SQLiteQuery` writes the statement, and the result carries MySQL's column definitions — a
/// table's column its type, length and flags from the dictionary, anything computed typed from its values, as the
/// store's own engine types them.
///
/// information_schema and mysql.user are made by the store from its dictionary: a query that reads one gets it as
/// a temporary table of the session's connection, so it can be joined, grouped and filtered like any other.
extension ExecutionContext {
    mutating func select(_ q: SelectStatement, session: inout Session, on sqlite: SQLiteSession) throws -> StoreResult {
        var sources: [SQLiteQuery.Source] = []
        var systemTables: [String: Table] = [:]
        /// A system table's temporary name → the database and the name the query gave it.
        var origins: [String: (db: String, name: String)] = [:]
        let context = self, reader = session
        let resolve: SQLiteQuery.Resolve = { name, alias in
            let (db, table) = try context.table(name, reader, privilege: "SELECT")
            let source: SQLiteQuery.Source
            if Catalog.systemDatabases.contains(db.lowercased()) {
                // A system table: its rows live in the store, SQLite reads them from a temporary copy.
                let temporary = db.lowercased() + "/" + table.name.lowercased()
                var copy = table
                copy.name = temporary
                systemTables[temporary] = copy
                origins[temporary] = (db, table.name)
                source = SQLiteQuery.Source(database: "temp", table: copy, alias: alias ?? table.name)
            } else {
                source = SQLiteQuery.Source(database: db, table: table, alias: alias)
            }
            sources.append(source)
            return source
        }
        if q.joins.isEmpty, q.fromDerived == nil, q.unions.isEmpty, q.with.isEmpty, let from = q.from {
            let (db, table) = try self.table(from, session, privilege: "SELECT")
            try Self.checkGrouping(q, table: table, dbName: db)
        }
        let ev = evaluator(nil, session, clause: "field list")
        let query = try SQLiteQuery(q, resolve: resolve) { try ev.eval($0, row: nil) }
        for (_, table) in systemTables.sorted(by: { $0.key < $1.key }) { try sqlite.materialize(table) }
        defer { for name in systemTables.keys { try? sqlite.connection.execute("DROP TABLE IF EXISTS temp.\(SQLiteConnection.quote(name))") } }

        var rows: [[SQLValue]] = []
        var spent = 0
        let statement: SQLiteStatement
        do {
            statement = try sqlite.connection.cached(query.sql)
        } catch let e as SQLiteError {
            // SQLite's own limits on a statement's size: MySQL's words for them.
            if e.message.contains("too many columns") { throw StoreError(code: 1117, sqlState: "42000", message: "Too many columns") }
            if e.message.contains("too large") || e.message.contains("too deep") {
                throw StoreError(code: 1436, sqlState: "HY000", message: "Thread stack overrun: expression nested too deeply")
            }
            throw e.storeError
        }
        try statement.bind(query.parameters)
        defer { statement.reset() }
        do {
            while try statement.step() {
                let line = statement.row
                spent += StatementMemory.cost(line)
                if spent > StatementMemory.limit { throw StoreError.outOfMemory(needed: spent) }
                rows.append(line)
            }
        } catch let e as SQLiteError {
            throw e.storeError
        }
        let columns = Self.resultColumns(q, names: query.names, sources: sources, origins: origins, rows: rows)
        return StoreResult(columns: columns, rows: rows.map { $0.map { Self.display($0) } })
    }

    /// The column definitions of a result: a column of a stored table keeps its definition (under the item's
    /// name), any other is typed from its values.
    static func resultColumns(_ q: SelectStatement, names: [String], sources: [SQLiteQuery.Source], origins: [String: (db: String, name: String)],
                              rows: [[SQLValue]]) -> [StoreColumn] {
        func stored(_ table: String?, _ name: String) -> (SQLiteQuery.Source, Column)? {
            for s in sources where s.derived == nil && (table == nil || s.name.lowercased() == table?.lowercased()) {
                if let i = s.table.columnIndex(name) { return (s, s.table.columns[i]) }
            }
            return nil
        }
        func definition(_ s: SQLiteQuery.Source, _ c: Column, as name: String) -> StoreColumn {
            let origin = origins[s.table.name] ?? (s.database, s.table.name)
            var col = columnDefinition(c, name: name, table: s.name, db: origin.db)
            col.orgTable = origin.name
            return col
        }
        // The first SELECT of a UNION names and types the columns; the items of a star are its tables' columns.
        var columns: [StoreColumn] = []
        var position = 0
        let starCount = q.items.filter { if case .star = $0.kind { return true }; return false }.count
        let starWidth = starCount == 1 ? names.count - (q.items.count - 1) : 0
        for item in q.items where position < names.count {
            func values() -> [SQLValue] { rows.map { position < $0.count ? $0[position] : .null } }
            switch item.kind {
            case .star(let table):
                let width = starCount == 1 ? starWidth : (table.flatMap { t in sources.first { $0.name.lowercased() == t.lowercased() }?.table.columns.count } ?? 0)
                for _ in 0..<max(0, width) where position < names.count {
                    if let (s, c) = stored(table, names[position]), q.unions.isEmpty {
                        columns.append(definition(s, c, as: names[position]))
                    } else {
                        columns.append(inferColumn(names[position], expr: .column(table: table, name: names[position]), values: values()))
                    }
                    position += 1
                }
            case .expr(let e):
                if case .column(let t, let name) = e, q.unions.isEmpty, let (s, c) = stored(t, name) {
                    columns.append(definition(s, c, as: names[position]))
                } else {
                    columns.append(inferColumn(names[position], expr: e, values: values()))
                }
                position += 1
            }
        }
        while position < names.count {
            columns.append(inferColumn(names[position], expr: .column(table: nil, name: names[position]), values: rows.map { position < $0.count ? $0[position] : .null }))
            position += 1
        }
        return columns
    }
}

extension SQLiteSession {
    /// A table the store makes (information_schema, mysql.user) as a temporary table of this connection, with
    /// its rows, for one statement.
    func materialize(_ table: Table) throws {
        let q = SQLiteConnection.quote
        try connection.execute("DROP TABLE IF EXISTS temp.\(q(table.name))")
        let columns = table.columns.map { q($0.name) + " " + SQLiteSchema.declaredType($0.kind) }.joined(separator: ", ")
        try connection.execute("CREATE TEMP TABLE \(q(table.name)) (\(columns))")
        guard !table.columns.isEmpty else { return }
        let marks = (1...table.columns.count).map { "?\($0)" }.joined(separator: ", ")
        let insert = try connection.prepare("INSERT INTO temp.\(q(table.name)) VALUES (\(marks))")
        for row in table.rows {
            try insert.bind(zip(row, table.columns).map { SQLiteSchema.stored($0, $1.kind) })
            _ = try insert.step()
        }
    }
}

extension ExecutionContext {
    /// How many rows a stored table holds now, as the session's snapshot sees them (TABLE_ROWS, SHOW INDEX's
    /// Cardinality).
    func storedRowCount(_ db: String, _ table: String) -> Int64 {
        let q = SQLiteConnection.quote
        guard let sqlite, sqlite.attached.contains(db),
              case .int(let n)? = try? sqlite.connection.query("SELECT count(*) FROM \(q(db)).\(q(table))").first?.first else { return 0 }
        return n
    }
}
