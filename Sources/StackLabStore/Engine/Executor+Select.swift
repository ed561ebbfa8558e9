extension ExecutionContext {
    func evaluator(_ table: Table?, _ session: Session, clause: String) -> Evaluator {
        Evaluator(table: table, session: session, engine: engine, state: state, clause: clause)
    }

    mutating func select(_ q: SelectStatement, session: inout Session) throws -> StoreResult {
        var table: Table?
        var dbName = ""
        if let from = q.from {
            let r = try self.table(from, session, privilege: "SELECT")
            table = r.table
            dbName = r.db
        }
        let fieldEval = evaluator(table, session, clause: "field list")
        // Prepare: every name must resolve before any row is read.
        for item in q.items {
            switch item.kind {
            case .star: if table == nil { throw StoreError(code: 1096, sqlState: "HY000", message: "No tables used") }
            case .expr(let e): try fieldEval.validate(e)
            }
        }
        let whereEval = evaluator(table, session, clause: "where clause")
        if let w = q.whereClause {
            if w.containsAggregate { throw StoreError(code: 1111, sqlState: "HY000", message: "Invalid use of group function") }
            try whereEval.validate(w)
        }
        var rows: [[SQLValue]] = []
        if let table {
            let condition = q.whereClause.map { whereEval.resolve($0) }
            if let hits = table.pointLookup(condition) {
                for r in hits {
                    if let w = condition, try whereEval.eval(w, row: table.rows[r]).truth != true { continue }
                    rows.append(table.rows[r])
                }
            } else {
                for row in table.rows {
                    if let w = condition, try whereEval.eval(w, row: row).truth != true { continue }
                    rows.append(row)
                }
            }
        } else if let w = q.whereClause {
            rows = try whereEval.eval(w, row: nil).truth == true ? [[]] : []
        } else {
            rows = [[]]
        }

        let aggregate = q.items.contains { if case .expr(let e) = $0.kind { return e.containsAggregate }; return false }
        var output: [[SQLValue]] = []
        let grouped = !q.groupBy.isEmpty || q.having != nil
        if q.groupBy.isEmpty && (aggregate || q.having?.containsAggregate == true) {
            for (n, item) in q.items.enumerated() {
                if case .expr(let e) = item.kind, !e.containsAggregate, Self.referencesColumn(e) {
                    throw StoreError(code: 1140, sqlState: "42000", message: "In aggregated query without GROUP BY, expression #\(n + 1) of SELECT list contains nonaggregated column '\(dbName).\(table?.name ?? "").\(Self.firstColumn(e) ?? "")'; this is incompatible with sql_mode=only_full_group_by")
                }
            }
        }
        if grouped {
            output = try groupedRows(q, rows: rows, table: table, dbName: dbName, session: session)
            if q.distinct { output = Self.distinctRows(output) }
            if q.offset > 0 { output = Array(output.dropFirst(q.offset)) }
            if let limit = q.limit { output = Array(output.prefix(max(0, limit))) }
        } else if aggregate {
            var line: [SQLValue] = []
            for item in q.items {
                if case .expr(let e) = item.kind { line.append(try fieldEval.eval(e, row: nil, group: table == nil ? [[]] : rows)) }
            }
            output = [line]
        } else {
            if !q.orderBy.isEmpty {
                let orderEval = evaluator(table, session, clause: "order clause")
                var keyed: [([SQLValue], [SQLValue])] = []
                var keyExprs: [Expr] = []
                for o in q.orderBy {
                    keyExprs.append(orderEval.resolve(try resolveOrder(o.expr, items: q.items, table: table, evaluator: orderEval)))
                }
                if keyExprs.count == 1, case .slot(let column) = keyExprs[0] {
                    // The app's "ORDER BY id DESC LIMIT 10": one column, compared in place, top-k when limited.
                    let desc = q.orderBy[0].descending
                    let before: ([SQLValue], [SQLValue]) -> Bool = { a, b in
                        let c = Self.sortCompare(a[column], b[column])
                        return desc ? c > 0 : c < 0
                    }
                    // Offset and limit each reach Int.max (LIMIT 18446744073709551615): their sum saturates.
                    let wanted = q.limit.map { limit in
                        let (sum, overflow) = q.offset.addingReportingOverflow(max(0, limit))
                        return overflow ? Int.max : sum
                    }
                    if let wanted, wanted < rows.count / 4 {
                        rows = Self.firstK(rows, wanted, by: before)
                    } else {
                        rows = Self.stableSorted(rows, by: before)
                    }
                } else {
                    for row in rows {
                        var k: [SQLValue] = []
                        for e in keyExprs { k.append(try orderEval.eval(e, row: row)) }
                        keyed.append((k, row))
                    }
                    rows = Self.sortedByKeys(keyed, descending: q.orderBy.map(\.descending)).map(\.1)
                }
            }
            // LIMIT before projection: only the rows returned are computed (with DISTINCT, after it).
            if !q.distinct {
                if q.offset > 0 { rows = Array(rows.dropFirst(q.offset)) }
                if let limit = q.limit { rows = Array(rows.prefix(max(0, limit))) }
            }
            let projected: [SelectItem.Kind] = q.items.map { item in
                if case .expr(let e) = item.kind { return .expr(fieldEval.resolve(e)) }
                return item.kind
            }
            // The answer is bounded as it is built: columns first, then each row.
            let width = projected.reduce(0) { n, item in if case .star = item { return n + (table?.columns.count ?? 0) }; return n + 1 }
            var spent = width * StatementMemory.perColumn
            for row in rows {
                var line: [SQLValue] = []
                for item in projected {
                    switch item {
                    case .star: line += row
                    case .expr(let e): line.append(try fieldEval.eval(e, row: row))
                    }
                }
                spent += StatementMemory.cost(line)
                if spent > StatementMemory.limit { throw StoreError.outOfMemory(needed: spent) }
                output.append(line)
            }
            if q.distinct {
                output = Self.distinctRows(output)
                if q.offset > 0 { output = Array(output.dropFirst(q.offset)) }
                if let limit = q.limit { output = Array(output.prefix(max(0, limit))) }
            }
        }
        if aggregate && !grouped {
            if q.offset > 0 { output = Array(output.dropFirst(q.offset)) }
            if let limit = q.limit { output = Array(output.prefix(max(0, limit))) }
        }

        // Column definitions: table columns carry their real types; expressions are typed from their values.
        var columns: [StoreColumn] = []
        var position = 0
        for item in q.items {
            switch item.kind {
            case .star:
                for c in table?.columns ?? [] {
                    columns.append(Self.columnDefinition(c, name: c.name, table: table?.name ?? "", db: dbName))
                    position += 1
                }
            case .expr(let e):
                if case .column(_, let name) = e, let table, let i = table.columnIndex(name) {
                    columns.append(Self.columnDefinition(table.columns[i], name: item.name, table: table.name, db: dbName))
                } else {
                    columns.append(Self.inferColumn(item.name, expr: e, values: output.map { position < $0.count ? $0[position] : .null }))
                }
                position += 1
            }
        }
        return StoreResult(columns: columns, rows: output.map { $0.map { Self.display($0) } })
    }

    static func display(_ v: SQLValue) -> String? { v.text }

    private func resolveOrder(_ e: Expr, items: [SelectItem], table: Table?, evaluator: Evaluator) throws -> Expr {
        let resolved = try Self.resolveItemReference(e, items: items, table: table, clause: "order clause")
        if resolved == e { try evaluator.validate(e) }
        return resolved
    }

    /// Rows in the order of their keys, each key ascending or descending; equal keys keep their order.
    static func sortedByKeys<T>(_ keyed: [([SQLValue], T)], descending: [Bool]) -> [([SQLValue], T)] {
        stableSorted(keyed) { a, b in
            for i in descending.indices where i < a.0.count && i < b.0.count {
                let c = sortCompare(a.0[i], b.0[i])
                if c != 0 { return descending[i] ? c > 0 : c < 0 }
            }
            return false
        }
    }

    static func referencesColumn(_ e: Expr) -> Bool { firstColumn(e) != nil }

    static func firstColumn(_ e: Expr) -> String? {
        switch e {
        case .column(_, let n): return n
        case .function(_, let args, _): return args.lazy.compactMap { firstColumn($0) }.first
        case .unary(_, let a), .isNull(let a, _): return firstColumn(a)
        case .binary(_, let a, let b), .like(let a, let b, _): return firstColumn(a) ?? firstColumn(b)
        case .inList(let a, let l, _): return firstColumn(a) ?? l.lazy.compactMap { firstColumn($0) }.first
        case .between(let a, let b, let c, _): return firstColumn(a) ?? firstColumn(b) ?? firstColumn(c)
        default: return nil
        }
    }

    /// NULLs sort first ascending, as in MySQL.
    static func sortCompare(_ a: SQLValue, _ b: SQLValue) -> Int {
        switch (a.isNull, b.isNull) {
        case (true, true): return 0
        case (true, false): return -1
        case (false, true): return 1
        default: return Evaluator.compare(a, b) ?? 0
        }
    }

    /// The first k items in sorted order, stable (earlier items win ties), in O(n·log k) comparisons.
    static func firstK<T>(_ items: [T], _ k: Int, by less: (T, T) -> Bool) -> [T] {
        guard k > 0 else { return [] }
        var best: [T] = []
        best.reserveCapacity(min(k, items.count) + 1)
        for item in items {
            if best.count == k, let last = best.last, !less(item, last) { continue }
            var lo = 0, hi = best.count
            while lo < hi {  // first position whose element is after `item`
                let mid = (lo + hi) / 2
                if less(item, best[mid]) { hi = mid } else { lo = mid + 1 }
            }
            best.insert(item, at: lo)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    static func stableSorted<T>(_ items: [T], by less: (T, T) -> Bool) -> [T] {
        items.enumerated().sorted { a, b in
            if less(a.element, b.element) { return true }
            if less(b.element, a.element) { return false }
            return a.offset < b.offset
        }.map(\.element)
    }

    static func columnDefinition(_ c: Column, name: String, table: String, db: String) -> StoreColumn {
        var flags: UInt16 = 0
        if c.notNull { flags |= ColumnFlag.notNull }
        if c.primaryKey { flags |= ColumnFlag.primaryKey | ColumnFlag.partKey }
        if c.unique { flags |= ColumnFlag.uniqueKey | ColumnFlag.partKey }
        if c.autoIncrement { flags |= ColumnFlag.autoIncrement }
        if c.kind == .text { flags |= ColumnFlag.blob }
        if c.kind.unsignedMax != nil { flags |= ColumnFlag.unsigned }
        if c.defaultValue == nil && c.notNull && !c.autoIncrement { flags |= ColumnFlag.noDefaultValue }
        var col = StoreColumn(name: name, type: c.wireType, length: c.wireLength, flags: flags, table: table, database: db, orgName: c.name,
                              decimals: c.kind == .double ? 31 : { if case .decimal(_, let s) = c.kind { return UInt8(clamping: s) }; return 0 }())
        col.orgTable = table
        return col
    }

    /// MySQL types literals and functions statically; the subset infers from the values and a few known functions.
    static func inferColumn(_ name: String, expr: Expr, values: [SQLValue]) -> StoreColumn {
        let notNull = !values.contains(.null) && !values.isEmpty
        let nn = notNull ? ColumnFlag.notNull : 0
        if case .function(let f, _, _) = expr {
            switch f {
            case "COUNT", "COUNT_DISTINCT": return StoreColumn(name: name, type: .longlong, length: 21, flags: ColumnFlag.notNull)
            case "NOW", "SYSDATE", "UTC_TIMESTAMP": return StoreColumn(name: name, type: .datetime, length: 19, flags: nn)
            case "CURDATE": return StoreColumn(name: name, type: .date, length: 10, flags: nn)
            default: break
            }
        }
        if case .literal(.null) = expr { return StoreColumn(name: name, type: .null, length: 0) }
        let nonNull = values.filter { !$0.isNull }
        let width = UInt32(clamping: max(nonNull.map { $0.text?.count ?? 1 }.max() ?? 1, 1))
        let scales = nonNull.compactMap { v -> Int? in if case .decimal(_, let scale) = v { return scale }; return nil }
        if !nonNull.isEmpty, scales.count == nonNull.count {
            return StoreColumn(name: name, type: .newDecimal, length: width, flags: nn, decimals: UInt8(clamping: scales.max() ?? 0))
        }
        if case .binary("/", _, _) = expr, nonNull.isEmpty {
            return StoreColumn(name: name, type: .newDecimal, length: 0, flags: nn, decimals: 4)
        }
        if !nonNull.isEmpty, nonNull.allSatisfy({ if case .int = $0 { return true }; return false }) {
            return StoreColumn(name: name, type: .longlong, length: width, flags: nn)
        }
        if !nonNull.isEmpty, nonNull.allSatisfy({ if case .uint = $0 { return true }; if case .int(let i) = $0 { return i >= 0 }; return false }) {
            return StoreColumn(name: name, type: .longlong, length: width, flags: nn | ColumnFlag.unsigned)
        }
        if !nonNull.isEmpty, nonNull.allSatisfy({ if case .double = $0 { return true }; return false }) {
            return StoreColumn(name: name, type: .double, length: 23, flags: nn, decimals: 31)
        }
        let characters = nonNull.map { $0.text?.count ?? 0 }.max() ?? 0
        return StoreColumn(name: name, type: .varString, length: UInt32(clamping: min(characters, Int(UInt32.max)) * 4), flags: nn)
    }
}
