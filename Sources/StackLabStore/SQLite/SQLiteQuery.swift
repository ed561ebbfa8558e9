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
        /// A derived table's SELECT, as SQLite SQL; its columns have no kind of the dictionary.
        var derived: String?

        init(database: String, table: Table, alias: String? = nil, derived: String? = nil) {
            self.database = database
            self.table = table
            self.alias = alias
            self.derived = derived
        }

        var name: String { alias ?? table.name }
    }

    var sql: String
    var parameters: [SQLValue]
    /// The select list's names, in order (what the client labels the columns with).
    var names: [String]

    /// Finds a table of a FROM clause (with its alias) in the dictionary: MySQL's 1146 when it is not there.
    typealias Resolve = (TableName, String?) throws -> Source
    /// How an enclosing query reads a column a subquery names (correlation); nil when there is none.
    typealias Lookup = (String?, String) throws -> (sql: String, kind: ColumnKind?)?

    /// `resolve` finds FROM's tables; `outer` is the enclosing query's columns for a subquery; `parameters` are
    /// the enclosing query's so far (numbering continues after them); `constant` gives @@ and @ variables.
    init(_ q: SelectStatement, resolve: @escaping Resolve, outer: Lookup? = nil, parameters: [SQLValue] = [],
         constant: @escaping (Expr) throws -> SQLValue) throws {
        var parameters = parameters
        // WITH's queries are read as derived tables: each name resolves to its SELECT, before any table's.
        var resolve = resolve
        for cte in q.with {
            let written = try SQLiteQuery(cte.select, resolve: resolve, outer: nil, parameters: parameters, constant: constant)
            parameters = written.parameters
            let table = try Self.derivedTable(cte.name, written.names)
            let earlier = resolve
            resolve = { name, alias in
                guard name.database == nil, name.name.lowercased() == cte.name.lowercased() else { return try earlier(name, alias) }
                return Source(database: "", table: table, alias: alias ?? cte.name, derived: written.sql)
            }
        }
        let first = try Self.core(q, resolve: resolve, outer: outer, parameters: &parameters, ordered: q.unions.isEmpty, constant: constant)
        var text = first.sql
        for part in q.unions {
            let next = try Self.core(part.select, resolve: resolve, outer: outer, parameters: &parameters, ordered: false, constant: constant)
            guard next.names.count == first.names.count else {
                throw StoreError(code: 1222, sqlState: "21000", message: "The used SELECT statements have a different number of columns")
            }
            text += (part.all ? " UNION ALL " : " UNION ") + next.sql
        }
        if !q.unions.isEmpty, !q.orderBy.isEmpty {
            // A UNION is ordered by its columns: a position, or a name of the first SELECT's list.
            var terms: [String] = []
            for o in q.orderBy {
                var position: Int?
                switch o.expr {
                case .literal(.int(let n)) where n >= 1 && n <= Int64(first.names.count): position = Int(n)
                case .column(nil, let name): position = first.names.firstIndex { $0.lowercased() == name.lowercased() }.map { $0 + 1 }
                default: break
                }
                guard let position else {
                    let shown: String
                    switch o.expr {
                    case .column(let t, let name): shown = t.map { "\($0).\(name)" } ?? name
                    case .literal(let v): shown = v.text ?? "NULL"
                    default: throw StoreError.notSupported("ORDER BY of an expression after UNION")
                    }
                    throw StoreError.unknownColumn(shown, in: "order clause")
                }
                terms.append("\(position) COLLATE \(MySQLSemantics.collation)" + (o.descending ? " DESC" : ""))
            }
            text += " ORDER BY " + terms.joined(separator: ", ")
        }
        if q.limit != nil || q.offset > 0 {
            // LIMIT 18446744073709551615 is "all rows": SQLite's -1.
            parameters.append(.int(q.limit.map { Int64(clamping: $0) } ?? -1))
            parameters.append(.int(Int64(clamping: max(0, q.offset))))
            text += " LIMIT ?\(parameters.count - 1) OFFSET ?\(parameters.count)"
        }
        self.sql = text
        self.parameters = parameters
        self.names = first.names
    }

    /// The columns of a table a query makes: its select list's names (MySQL's 1060 when one repeats).
    private static func derivedTable(_ name: String, _ names: [String]) throws -> Table {
        var seen: Set<String> = []
        for n in names where !seen.insert(n.lowercased()).inserted {
            throw StoreError(code: 1060, sqlState: "42S21", message: "Duplicate column name '\(n)'")
        }
        return Table(name: name, columns: names.map {
            Column(name: $0, kind: .text, notNull: false, defaultValue: nil, autoIncrement: false, primaryKey: false, unique: false)
        })
    }

    /// One SELECT without its LIMIT (and without ORDER BY unless `ordered`).
    private static func core(_ q: SelectStatement, resolve: @escaping Resolve, outer: Lookup?, parameters: inout [SQLValue],
                             ordered: Bool, constant: @escaping (Expr) throws -> SQLValue) throws -> (sql: String, names: [String]) {
        let quote = SQLiteConnection.quote
        var sources: [Source] = []
        /// A derived table is its SELECT, written first (its parameters numbered before the outer query's); a
        /// derived table sees no columns of the query around it (MySQL 8 without LATERAL).
        func derived(_ d: DerivedTable) throws -> Source {
            guard case .select(let inner, let alias) = d else { throw StoreError.notSupported("derived tables") }
            let written = try SQLiteQuery(inner, resolve: resolve, outer: nil, parameters: parameters, constant: constant)
            parameters = written.parameters
            return Source(database: "", table: try Self.derivedTable(alias, written.names), alias: alias, derived: written.sql)
        }
        if let d = q.fromDerived {
            sources.append(try derived(d))
        } else if let from = q.from {
            sources.append(try resolve(from, q.fromAlias))
        }
        if !sources.isEmpty {
            for j in q.joins { sources.append(try j.derived.map(derived) ?? resolve(j.table, j.alias)) }
        }
        let seen = Set(sources.map { $0.name.lowercased() })
        if seen.count < sources.count {
            let twice = sources.first { s in sources.filter { $0.name.lowercased() == s.name.lowercased() }.count > 1 }?.name ?? ""
            throw StoreError(code: 1066, sqlState: "42000", message: "Not unique table/alias: '\(twice)'")
        }
        var clause = "field list"
        /// USING's columns, by the index of the join's right-hand source: one name for both sides.
        var merged: [String: Int] = [:]
        for (i, j) in q.joins.enumerated() {
            for c in j.using { merged[c.lowercased()] = merged[c.lowercased()] ?? i + 1 }
        }
        func sourceColumn(_ table: String?, _ name: String) throws -> (sql: String, kind: ColumnKind?)? {
            func hit(_ s: Source) -> (sql: String, kind: ColumnKind?)? {
                s.table.columnIndex(name).map { (quote(s.name) + "." + quote(s.table.columns[$0].name), s.derived == nil ? s.table.columns[$0].kind : nil) }
            }
            if let table {
                // Once a table has an alias, only the alias names it (MySQL: Unknown column 't.c').
                guard let s = sources.first(where: { $0.name.lowercased() == table.lowercased() }) else {
                    if let outer, let found = try? outer(table, name) { return found }
                    throw StoreError.unknownColumn("\(table).\(name)", in: clause)
                }
                guard let found = hit(s) else { throw StoreError.unknownColumn("\(table).\(name)", in: clause) }
                return found
            }
            let found = sources.enumerated().compactMap { i, s in hit(s).map { (i, $0) } }
            if found.isEmpty, let outer, let inOuter = try? outer(nil, name) { return inOuter }
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
        expression.parameters = parameters
        expression.column = sourceColumn
        expression.subquery = { inner, sofar in
            let written = try SQLiteQuery(inner, resolve: resolve, outer: sourceColumn, parameters: sofar, constant: constant)
            return (written.sql, written.names, written.parameters)
        }
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
                            let name = sources.lazy.compactMap { s in s.table.columnIndex(c).map { s.table.columns[$0].name } }.first ?? c
                            items.append(SQLiteSchema.read(resolved.sql, resolved.kind) + " AS " + quote(name))
                            names.append(name)
                        }
                    }
                }
                for (i, s) in sources.enumerated() where chosen.contains(where: { $0.name == s.name }) {
                    for c in s.table.columns {
                        if table == nil, let right = merged[c.name.lowercased()], i <= right { continue }
                        items.append(SQLiteSchema.read(quote(s.name) + "." + quote(c.name), s.derived == nil ? c.kind : nil) + " AS " + quote(c.name))
                        names.append(c.name)
                    }
                }
            case .expr(let e):
                items.append(try expression.sql(e) + " AS " + quote(item.name))
                names.append(item.name)
            }
        }
        var text = "SELECT " + (q.distinct ? "DISTINCT " : "") + items.joined(separator: ", ")
        func table(_ s: Source) -> String {
            (s.derived.map { "(\($0))" } ?? "\(quote(s.database)).\(quote(s.table.name))") + " AS \(quote(s.name))"
        }
        if let first = sources.first {
            text += " FROM " + table(first)
            for (i, j) in q.joins.enumerated() {
                let s = sources[i + 1]
                // A comma or CROSS JOIN is an inner join without a condition (SQLite's CROSS JOIN would also fix
                // the order in which it reads the tables).
                let kind = [JoinClause.Kind.left: "LEFT JOIN", .right: "RIGHT JOIN"][j.kind] ?? "JOIN"
                text += " \(kind) " + table(s)
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
            if case .column(let t, let name) = resolved, let stored = try sourceColumn(t, name) {
                // A BIGINT UNSIGNED past 2^63 is kept as a tagged BLOB: ordered by its value.
                if stored.kind == .bigintUnsigned, clause == "order clause" { return "mysql_sortkey(\(stored.sql))" }
                return stored.sql
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
            let substituted = ExecutionContext.substitutingAliases(h, items: q.items, table: sources.isEmpty ? nil : all)
            text += " HAVING " + (try expression.condition(substituted))
        }
        if ordered, !q.orderBy.isEmpty {
            clause = "order clause"
            text += " ORDER BY " + (try q.orderBy.map { try term($0.expr, "order clause") + ($0.descending ? " DESC" : "") }.joined(separator: ", "))
        }
        parameters = expression.parameters
        return (text, names)
    }
}
