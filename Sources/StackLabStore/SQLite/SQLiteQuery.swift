/// A SELECT of the MySQL dialect as one SQLite statement: the store's dictionary names the columns (an unknown one is
/// MySQL's ERROR 1054 for the clause it is in, before SQLite sees anything), values are bound parameters, DECIMAL
/// columns are read as DECIMALs, and ORDER BY / GROUP BY compare text under utf8mb4_0900_ai_ci.
struct SQLiteQuery {
    /// A table of the FROM clause: the attached database it lives in and its dictionary entry.
    struct Source {
        var database: String
        var table: Table
    }

    var sql: String
    var parameters: [SQLValue]
    /// The select list's names, in order (what the client labels the columns with).
    var names: [String]

    /// `source` is the FROM table (nil for a SELECT without FROM); `constant` gives @@ and @ variables.
    init(_ q: SelectStatement, source: Source?, constant: @escaping (Expr) throws -> SQLValue) throws {
        let q = q
        let quote = SQLiteConnection.quote
        var clause = "field list"
        var expression = SQLiteExpression(constant: constant)
        expression.column = { table, name in
            if let source, table == nil || table?.lowercased() == source.table.name.lowercased(),
               let i = source.table.columnIndex(name) {
                return (quote(source.table.columns[i].name), source.table.columns[i].kind)
            }
            throw StoreError.unknownColumn(table.map { "\($0).\(name)" } ?? name, in: clause)
        }

        var items: [String] = []
        var names: [String] = []
        for item in q.items {
            switch item.kind {
            case .star(let table):
                guard let source else { throw StoreError(code: 1096, sqlState: "HY000", message: "No tables used") }
                if let table, table.lowercased() != source.table.name.lowercased() {
                    throw StoreError.unknownTable(table)
                }
                for c in source.table.columns {
                    items.append(SQLiteSchema.read(quote(c.name), c.kind))
                    names.append(c.name)
                }
            case .expr(let e):
                items.append(try expression.sql(e) + " AS " + quote(item.name))
                names.append(item.name)
            }
        }
        var text = "SELECT " + (q.distinct ? "DISTINCT " : "") + items.joined(separator: ", ")
        if let source { text += " FROM \(quote(source.database)).\(quote(source.table.name))" }
        if let w = q.whereClause {
            clause = "where clause"
            if w.containsAggregate { throw StoreError(code: 1111, sqlState: "HY000", message: "Invalid use of group function") }
            text += " WHERE " + (try expression.condition(w))
        }
        /// A GROUP BY or ORDER BY term: a position or an alias stands for that select item; a stored column is
        /// compared as stored (a scaled DECIMAL as its integer, so an index can serve); text under the collation.
        func term(_ e: Expr, _ clause: String) throws -> String {
            let resolved = try ExecutionContext.resolveItemReference(e, items: q.items, table: source?.table, clause: clause)
            if case .column(let t, let name) = resolved, let source, t == nil || t?.lowercased() == source.table.name.lowercased(),
               let i = source.table.columnIndex(name) {
                return quote(source.table.columns[i].name)
            }
            return "mysql_sortkey(" + (try expression.sql(resolved)) + ") COLLATE " + MySQLSemantics.collation
        }
        if !q.groupBy.isEmpty {
            clause = "group statement"
            text += " GROUP BY " + (try q.groupBy.map { try term($0, "group statement") }.joined(separator: ", "))
        }
        if let h = q.having {
            clause = "having clause"
            // HAVING may name the select list's aliases (`HAVING n > 1` for `COUNT(*) AS n`).
            let substituted = ExecutionContext.substitutingAliases(h, items: q.items, table: source?.table)
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
