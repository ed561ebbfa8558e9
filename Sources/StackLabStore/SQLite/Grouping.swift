import Foundation

/// GROUP BY, HAVING and ORDER BY of a grouped SELECT as MySQL 8 checks them under ONLY_FULL_GROUP_BY, before SQLite
/// runs the query: 1111 for an aggregate in GROUP BY, 1056 for grouping on one, 1055 for a column that is neither
/// grouped nor functionally dependent on the grouped ones, 1054 for a column HAVING cannot see.
extension ExecutionContext {
    /// The checks for a SELECT of one stored table.
    static func checkGrouping(_ q: SelectStatement, table: Table, dbName: String) throws {
        guard !q.groupBy.isEmpty || q.having != nil else { return }
        var keys: [Expr] = []
        for g in q.groupBy {
            if g.containsAggregate { throw StoreError(code: 1111, sqlState: "HY000", message: "Invalid use of group function") }
            let e = try resolveItemReference(g, items: q.items, table: table, clause: "group statement")
            if e.containsAggregate {
                // GROUP BY an alias of COUNT(*), or its position.
                let shown: String
                if case .column(_, let name) = g { shown = name } else { shown = q.items.first { $0.kind == .expr(e) }?.name ?? "" }
                throw StoreError(code: 1056, sqlState: "42000", message: "Can't group on '\(shown)'")
            }
            keys.append(e)
        }
        try checkFullGroupBy(q.items, keys: keys, table: table, dbName: dbName)
        if let h = q.having {
            let e = substitutingAliases(h, items: q.items, table: table)
            // Outside an aggregate, HAVING reads only what the groups have: the grouped columns and the select list.
            let visible = Set(keys.compactMap { k -> String? in if case .column(_, let n) = k { return n.lowercased() }; return nil }
                              + q.items.flatMap { item -> [String] in
                                  switch item.kind {
                                  case .star: return table.columns.map { $0.name.lowercased() }
                                  case .expr(let x): return nonAggregatedColumns(x).map { $0.lowercased() }
                                  }
                              })
            if !primaryKeyIsGrouped(keys, table: table), let unknown = nonAggregatedColumns(e).first(where: { !visible.contains($0.lowercased()) }) {
                throw StoreError.unknownColumn(unknown, in: "having clause")
            }
        }
        let grouped = Set(keys.compactMap { k -> String? in if case .column(_, let n) = k { return n.lowercased() }; return nil })
        let dependent = primaryKeyIsGrouped(keys, table: table)
        for (n, o) in q.orderBy.enumerated() {
            let e = try resolveItemReference(o.expr, items: q.items, table: table, clause: "order clause")
            if !keys.isEmpty, !dependent, !keys.contains(e),
               let column = nonAggregatedColumns(e).first(where: { !grouped.contains($0.lowercased()) }) {
                throw StoreError(code: 1055, sqlState: "42000", message: "Expression #\(n + 1) of ORDER BY clause is not in GROUP BY clause and contains nonaggregated column '\(dbName).\(table.name).\(column)' which is not functionally dependent on columns in GROUP BY clause; this is incompatible with sql_mode=only_full_group_by")
            }
        }
    }

    /// Equal values get equal keys: 'abc' and 'ABC', 1 and 1.0.
    static func groupKey(_ v: SQLValue) -> String {
        switch v {
        case .null: return "N"
        case .string(let s): return "s" + s.lowercased()
        case .double(let d): return ExactArithmetic.exact(d).map { "n" + NSDecimalNumber(decimal: $0).stringValue } ?? "d\(d)"
        default: return ExactArithmetic.operand(v).map { "n" + NSDecimalNumber(decimal: $0.value).stringValue } ?? "?"
        }
    }

    /// A position (`GROUP BY 1`) or a select alias (`ORDER BY n`) stands for its item's expression.
    static func resolveItemReference(_ e: Expr, items: [SelectItem], table: Table?, clause: String) throws -> Expr {
        if case .literal(.int(let n)) = e {
            var exprs: [Expr] = []
            for item in items {
                switch item.kind {
                case .star: exprs += (table?.columns ?? []).map { Expr.column(table: nil, name: $0.name) }
                case .expr(let x): exprs.append(x)
                }
            }
            guard n >= 1, n <= Int64(exprs.count) else { throw StoreError.unknownColumn(String(n), in: clause) }
            return exprs[Int(n) - 1]
        }
        if case .column(nil, let name) = e, table?.columnIndex(name) == nil,
           let item = items.first(where: { $0.name.lowercased() == name.lowercased() }), case .expr(let x) = item.kind {
            return x
        }
        return e
    }

    /// HAVING may name a select alias (`HAVING n > 1` for `COUNT(*) AS n`).
    static func substitutingAliases(_ e: Expr, items: [SelectItem], table: Table?) -> Expr {
        func walk(_ e: Expr) -> Expr {
            switch e {
            case .column(nil, let name) where table?.columnIndex(name) == nil:
                if let item = items.first(where: { $0.name.lowercased() == name.lowercased() }), case .expr(let x) = item.kind { return x }
                return e
            case .function(let n, let args, let star): return .function(name: n, args: args.map(walk), star: star)
            case .unary(let op, let a): return .unary(op, walk(a))
            case .binary(let op, let a, let b): return .binary(op, walk(a), walk(b))
            case .isNull(let a, let n): return .isNull(walk(a), negated: n)
            case .inList(let a, let l, let n): return .inList(walk(a), l.map(walk), negated: n)
            case .like(let a, let b, let n): return .like(walk(a), walk(b), negated: n)
            case .between(let a, let b, let c, let n): return .between(walk(a), walk(b), walk(c), negated: n)
            default: return e
            }
        }
        return walk(e)
    }

    /// ONLY_FULL_GROUP_BY: a column outside an aggregate must be grouped on, unless the primary key is.
    static func checkFullGroupBy(_ items: [SelectItem], keys: [Expr], table: Table?, dbName: String) throws {
        guard let table, !keys.isEmpty, !primaryKeyIsGrouped(keys, table: table) else { return }
        let grouped = Set(keys.compactMap { k -> String? in if case .column(_, let n) = k { return n.lowercased() }; return nil })
        for (n, item) in items.enumerated() {
            let loose: [String]
            switch item.kind {
            case .star: loose = table.columns.map(\.name)
            case .expr(let e):
                if keys.contains(e) { continue }
                loose = nonAggregatedColumns(e)
            }
            if let column = loose.first(where: { !grouped.contains($0.lowercased()) }) {
                throw StoreError(code: 1055, sqlState: "42000", message: "Expression #\(n + 1) of SELECT list is not in GROUP BY clause and contains nonaggregated column '\(dbName).\(table.name).\(column)' which is not functionally dependent on columns in GROUP BY clause; this is incompatible with sql_mode=only_full_group_by")
            }
        }
    }

    /// Grouped on the whole primary key: every column is the same within a group (functionally dependent).
    static func primaryKeyIsGrouped(_ keys: [Expr], table: Table) -> Bool {
        let grouped = Set(keys.compactMap { k -> String? in if case .column(_, let n) = k { return n.lowercased() }; return nil })
        let primary = table.indexes.first { $0.name == "PRIMARY" }.map { $0.columns.compactMap { i in
            i < table.columns.count ? table.columns[i].name.lowercased() : nil } } ?? []
        return !primary.isEmpty && primary.allSatisfy(grouped.contains)
    }

    /// The columns an expression reads outside COUNT(), SUM() and the other aggregates.
    static func nonAggregatedColumns(_ e: Expr) -> [String] {
        switch e {
        case .column(_, let n): return [n]
        case .function(let name, let args, _):
            if ["COUNT", "COUNT_DISTINCT", "SUM", "MIN", "MAX", "AVG"].contains(name) { return [] }
            return args.flatMap(nonAggregatedColumns)
        case .unary(_, let a), .isNull(let a, _): return nonAggregatedColumns(a)
        case .binary(_, let a, let b), .like(let a, let b, _): return nonAggregatedColumns(a) + nonAggregatedColumns(b)
        case .inList(let a, let l, _): return nonAggregatedColumns(a) + l.flatMap(nonAggregatedColumns)
        case .between(let a, let b, let c, _): return nonAggregatedColumns(a) + nonAggregatedColumns(b) + nonAggregatedColumns(c)
        default: return []
        }
    }
}
