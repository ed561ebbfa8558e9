/// A SELECT of the MySQL dialect as one SQLite statement: the store's dictionary names the columns (an unknown one is
/// MySQL's ERROR 1054 for the clause it is in, before SQLite sees anything), values are bound parameters, DECIMAL
/// columns are read as DECIMALs, and ORDER BY / GROUP BY compare text under utf8mb4_0900_ai_ci.
struct SQLiteQuery {
    /// A table of the FROM clause: the attached database it lives in, its dictionary entry and the name the query
    /// knows it by (its alias, else its own name).
    struct Source {
        var database: String
        var table: Table
        var alias: String?

        init(database: String, table: Table, alias: String? = nil) {
            self.database = database
            self.table = table
            self.alias = alias
        }

        var name: String { alias ?? table.name }
    }

    var sql: String
    var parameters: [SQLValue]
    /// The select list's names, in order (what the client labels the columns with).
    var names: [String]

    /// `sources` are FROM's table then each joined table, in order (none for a SELECT without FROM); `constant`
    /// gives @@ and @ variables.
    init(_ q: SelectStatement, sources: [Source], constant: @escaping (Expr) throws -> SQLValue) throws {
        let quote = SQLiteConnection.quote
        guard sources.count == (q.from == nil ? 0 : 1 + q.joins.count) else {
            throw StoreError.notSupported("this FROM clause")
        }
        var clause = "field list"
        /// USING's columns, by the index of the join's right-hand source: one name for both sides.
        var merged: [String: Int] = [:]
        for (i, j) in q.joins.enumerated() {
            for c in j.using { merged[c.lowercased()] = merged[c.lowercased()] ?? i + 1 }
        }
        func sourceColumn(_ table: String?, _ name: String) throws -> (sql: String, kind: ColumnKind)? {
            func hit(_ s: Source) -> (sql: String, kind: ColumnKind)? {
                s.table.columnIndex(name).map { (quote(s.name) + "." + quote(s.table.columns[$0].name), s.table.columns[$0].kind) }
            }
            if let table {
                // Once a table has an alias, only the alias names it (MySQL: Unknown column 't.c').
                guard let s = sources.first(where: { $0.name.lowercased() == table.lowercased() }), let found = hit(s) else {
                    throw StoreError.unknownColumn("\(table).\(name)", in: clause)
                }
                return found
            }
            let found = sources.enumerated().compactMap { i, s in hit(s).map { (i, $0) } }
            if found.count > 1, let right = merged[name.lowercased()], right < sources.count {
                // A USING column is one column: the left table's, or the right's in a RIGHT JOIN.
                let useRight = q.joins[right - 1].kind == .right
                return found.first { useRight ? $0.0 == right : $0.0 != right }?.1 ?? found[0].1
            }
            guard found.count <= 1 else {
                throw StoreError(code: 1052, sqlState: "23000", message: "Column '\(name)' in \(clause) is ambiguous")
            }
            guard let only = found.first else { throw StoreError.unknownColumn(name, in: clause) }
            return only.1
        }
        var expression = SQLiteExpression(constant: constant)
        expression.column = sourceColumn
        // What a position or an alias in ORDER BY and GROUP BY may stand for: every column `*` shows.
        var all = Table(name: sources.first?.table.name ?? "", columns: [])
        for s in sources { all.columns += s.table.columns }

        var items: [String] = []
        var names: [String] = []
        for item in q.items {
            switch item.kind {
            case .star(let table):
                guard !sources.isEmpty else { throw StoreError(code: 1096, sqlState: "HY000", message: "No tables used") }
                let chosen = table.map { t in sources.filter { $0.name.lowercased() == t.lowercased() } } ?? sources
                guard !chosen.isEmpty else { throw StoreError.unknownTable(table ?? "") }
                // SELECT * of a USING join shows each USING column once, first (the last join's first).
                if table == nil {
                    for j in q.joins.reversed() {
                        for c in j.using {
                            guard let resolved = try sourceColumn(nil, c) else { continue }
                            items.append(SQLiteSchema.read(resolved.sql, resolved.kind))
                            names.append(sources.lazy.compactMap { s in s.table.columnIndex(c).map { s.table.columns[$0].name } }.first ?? c)
                        }
                    }
                }
                for (i, s) in sources.enumerated() where chosen.contains(where: { $0.name == s.name }) {
                    for c in s.table.columns {
                        if table == nil, let right = merged[c.name.lowercased()], i <= right { continue }
                        items.append(SQLiteSchema.read(quote(s.name) + "." + quote(c.name), c.kind))
                        names.append(c.name)
                    }
                }
            case .expr(let e):
                items.append(try expression.sql(e) + " AS " + quote(item.name))
                names.append(item.name)
            }
        }
        var text = "SELECT " + (q.distinct ? "DISTINCT " : "") + items.joined(separator: ", ")
        if let first = sources.first {
            text += " FROM \(quote(first.database)).\(quote(first.table.name)) AS \(quote(first.name))"
            for (i, j) in q.joins.enumerated() {
                let s = sources[i + 1]
                // A comma or CROSS JOIN is an inner join without a condition (SQLite's CROSS JOIN would also fix
                // the order in which it reads the tables).
                let kind = [JoinClause.Kind.left: "LEFT JOIN", .right: "RIGHT JOIN"][j.kind] ?? "JOIN"
                text += " \(kind) \(quote(s.database)).\(quote(s.table.name)) AS \(quote(s.name))"
                clause = "on clause"
                if let on = j.on {
                    text += " ON " + (try expression.condition(on))
                } else if !j.using.isEmpty {
                    // USING (c): the two sides' c equal, each side named explicitly.
                    var terms: [String] = []
                    for c in j.using {
                        guard s.table.columnIndex(c) != nil, let left = sources[...i].last(where: { $0.table.columnIndex(c) != nil }) else {
                            throw StoreError.unknownColumn(c, in: "from clause")
                        }
                        terms.append(try expression.condition(.binary("=", .column(table: left.name, name: c), .column(table: s.name, name: c))))
                    }
                    text += " ON " + terms.joined(separator: " AND ")
                }
            }
        }
        if let w = q.whereClause {
            clause = "where clause"
            if w.containsAggregate { throw StoreError(code: 1111, sqlState: "HY000", message: "Invalid use of group function") }
            text += " WHERE " + (try expression.condition(w))
        }
        /// A GROUP BY or ORDER BY term: a position or an alias stands for that select item; a stored column is
        /// compared as stored (a scaled DECIMAL as its integer, so an index can serve); text under the collation.
        func term(_ e: Expr, _ clause: String) throws -> String {
            let resolved = try ExecutionContext.resolveItemReference(e, items: q.items, table: sources.isEmpty ? nil : all, clause: clause)
            if case .column(let t, let name) = resolved, let stored = try sourceColumn(t, name) { return stored.sql }
            return "mysql_sortkey(" + (try expression.sql(resolved)) + ") COLLATE " + MySQLSemantics.collation
        }
        if !q.groupBy.isEmpty {
            clause = "group statement"
            text += " GROUP BY " + (try q.groupBy.map { try term($0, "group statement") }.joined(separator: ", "))
        }
        if let h = q.having {
            clause = "having clause"
            // HAVING may name the select list's aliases (`HAVING n > 1` for `COUNT(*) AS n`).
            let substituted = ExecutionContext.substitutingAliases(h, items: q.items, table: sources.isEmpty ? nil : all)
            text += " HAVING " + (try expression.condition(substituted))
        }
        if !q.orderBy.isEmpty {
            clause = "order clause"
            text += " ORDER BY " + (try q.orderBy.map { try term($0.expr, "order clause") + ($0.descending ? " DESC" : "") }.joined(separator: ", "))
        }
        var parameters = expression.parameters
        if q.limit != nil || q.offset > 0 {
            // LIMIT 18446744073709551615 is "all rows": SQLite's -1.
            parameters.append(.int(q.limit.map { Int64(clamping: $0) } ?? -1))
            parameters.append(.int(Int64(clamping: max(0, q.offset))))
            text += " LIMIT ?\(parameters.count - 1) OFFSET ?\(parameters.count)"
        }
        self.sql = text
        self.parameters = parameters
        self.names = names
    }
}
