/// An expression of the MySQL dialect written as SQLite SQL: operators and functions whose meaning differs become
/// calls of the functions `MySQLSemantics` registers, literals become bound parameters (so no text from a client is
/// ever spliced into SQL), and column names are quoted identifiers.
///
/// AND, OR, NOT and IS [NOT] NULL stay SQLite's own: their three-valued logic is MySQL's once each operand is
/// reduced to 1, 0 or NULL by `mysql_truth`.
struct SQLiteExpression {
    /// The values bound to the `?1`, `?2` … placeholders of `sql`.
    var parameters: [SQLValue] = []
    /// Gives the value of what SQLite cannot see: @@system and @user variables.
    var constant: (Expr) throws -> SQLValue

    /// Resolves a column reference to how SQL reads it and its type in the store's dictionary (nil for a column of
    /// a derived table, whose values SQLite already holds as the store's); a nil result writes the bare quoted name.
    var column: ((String?, String) throws -> (sql: String, kind: ColumnKind?)?)?

    /// Writes a nested SELECT whose parameters continue the given ones: its SQL, its column names and every
    /// parameter so far. Nil refuses subqueries.
    var subquery: ((SelectStatement, [SQLValue]) throws -> (sql: String, names: [String], parameters: [SQLValue]))?

    init(constant: @escaping (Expr) throws -> SQLValue,
         column: ((String?, String) throws -> (sql: String, kind: ColumnKind?)?)? = nil) {
        self.constant = constant
        self.column = column
    }

    /// The stored column behind `e` when it names one: comparisons with a literal of the column's own kind are
    /// left to SQLite, so its indexes serve them.
    private func stored(_ e: Expr) throws -> (sql: String, kind: ColumnKind?)? {
        guard case .column(let t, let name) = e, let column else { return nil }
        return try column(t, name)
    }

    private mutating func nativeComparison(_ op: String, _ a: Expr, _ b: Expr) throws -> String? {
        let native = ["=": "=", "!=": "<>", "<>": "<>", "<": "<", ">": ">", "<=": "<=", ">=": ">="]
        guard let sqlOp = native[op] else { return nil }
        func fits(_ kind: ColumnKind?, _ v: SQLValue) -> Bool {
            guard let kind else { return false }
            switch (kind, v) {
            case (.varchar, .string), (.char, .string), (.text, .string): return true
            case (.int, .int), (.bigint, .int), (.tinyint, .int), (.smallint, .int), (.intUnsigned, .int),
                 (.tinyintUnsigned, .int), (.smallintUnsigned, .int): return true
            default: return false
            }
        }
        if let c = try stored(a), case .literal(let v) = b, fits(c.kind, v) { return "(\(c.sql) \(sqlOp) \(bind(v)))" }
        if let c = try stored(b), case .literal(let v) = a, fits(c.kind, v) { return "(\(bind(v)) \(sqlOp) \(c.sql))" }
        return nil
    }

    /// How deep an expression may nest before it is refused rather than recursed into (MySQL's parser stops deep
    /// nesting with ERROR 1436; SQLite's own limit is 1000).
    static let maxDepth = 200

    mutating func sql(_ e: Expr) throws -> String {
        // A deep expression of constants (MySQL evaluates them once per statement too) is its value: SQLite's
        // parser stops at a depth of 1000, well before MySQL's.
        if e.constantDepth > Self.foldDepth { return bind(try constant(e)) }
        return try sql(e, depth: 0)
    }

    /// How deep an expression of constants goes before it is evaluated by the store rather than written out.
    static let foldDepth = 40

    /// A WHERE, ON or HAVING condition: left bare when it already is 1, 0 or NULL (so SQLite can match a
    /// comparison with an index), else reduced by `mysql_truth`.
    mutating func condition(_ e: Expr) throws -> String {
        Self.isCondition(e) ? try sql(e) : "mysql_truth(\(try sql(e)))"
    }

    /// A subquery that must give one column (MySQL's 1241 otherwise): its SQL and that column, as `"sub"."name"`.
    private mutating func nested(_ q: SelectStatement) throws -> (sql: String, column: String) {
        guard let subquery else { throw StoreError.notSupported("subqueries") }
        let written = try subquery(q, parameters)
        guard written.names.count == 1 else {
            throw StoreError(code: 1241, sqlState: "21000", message: "Operand should contain 1 column(s)")
        }
        parameters = written.parameters
        return (written.sql, "\"sub\"." + SQLiteConnection.quote(written.names[0]))
    }

    /// Whether `e` is always 1, 0 or NULL: a comparison, a logical operator, IS NULL, LIKE, IN, BETWEEN.
    static func isCondition(_ e: Expr) -> Bool {
        switch e {
        case .binary(let op, _, _):
            return ["AND", "OR", "XOR", "=", "!=", "<>", "<", ">", "<=", ">=", "<=>"].contains(op)
        case .unary("NOT", _), .isNull, .like, .between, .inList, .exists, .inSubquery: return true
        default: return false
        }
    }

    /// A numbered placeholder: an operand written twice (BETWEEN, IN) names the same parameter both times.
    private mutating func bind(_ v: SQLValue) -> String {
        parameters.append(v)
        return "?\(parameters.count)"
    }

    private mutating func sql(_ e: Expr, depth: Int) throws -> String {
        guard depth < Self.maxDepth else {
            throw StoreError(code: 1436, sqlState: "HY000", message: "Thread stack overrun: expression nested too deeply")
        }
        func sub(_ x: Expr) throws -> String { try sql(x, depth: depth + 1) }
        func truth(_ x: Expr) throws -> String { Self.isCondition(x) ? try sub(x) : "mysql_truth(\(try sub(x)))" }
        switch e {
        case .literal(let v):
            return bind(v)
        case .column(let table, let name):
            if let resolved = try column?(table, name) { return SQLiteSchema.read(resolved.sql, resolved.kind) }
            return (table.map { SQLiteConnection.quote($0) + "." } ?? "") + SQLiteConnection.quote(name)
        case .systemVariable, .userVariable:
            return bind(try constant(e))
        case .slot(let i):
            // Resolved slots belong to the store's own row evaluation, never to SQL.
            throw StoreError(code: 1054, sqlState: "42S22", message: "Unknown column '#\(i)' in 'field list'")
        case .unary(let op, let a):
            if op == "NOT" { return "(NOT \(try truth(a)))" }
            return "mysql_unary(\(bind(.string(op))), \(try sub(a)))"
        case .binary(let op, let a, let b):
            switch op {
            case "AND", "OR": return "(\(try truth(a)) \(op) \(try truth(b)))"
            default:
                if let native = try nativeComparison(op, a, b) { return native }
                return "mysql_op(\(bind(.string(op))), \(try sub(a)), \(try sub(b)))"
            }
        case .isNull(let a, let negated):
            return "(\(try sub(a)) IS \(negated ? "NOT " : "")NULL)"
        case .like(let a, let p, let negated):
            let like = "mysql_op(\(bind(.string("LIKE"))), \(try sub(a)), \(try sub(p)))"
            return negated ? "(NOT \(like))" : like
        case .between(let a, let lo, let hi, let negated):
            let x = try sub(a)
            let between = "(mysql_truth(mysql_op(\(bind(.string(">="))), \(x), \(try sub(lo)))) AND mysql_truth(mysql_op(\(bind(.string("<="))), \(x), \(try sub(hi)))))"
            return negated ? "(NOT \(between))" : between
        case .inList(let a, let list, let negated):
            // x IN (a, b) is x = a OR x = b in three-valued logic: 1 on a match, else NULL if any side was NULL.
            guard !list.isEmpty else { return bind(.int(negated ? 1 : 0)) }
            let x = try sub(a)
            var terms: [String] = []
            for item in list { terms.append("mysql_truth(mysql_op(\(bind(.string("="))), \(x), \(try sub(item))))") }
            let any = "(" + terms.joined(separator: " OR ") + ")"
            return negated ? "(NOT \(any))" : any
        case .subquery(let q):
            // A scalar subquery is one value: SQLite would take the first of several rows, MySQL refuses (1242).
            let (inner, column) = try nested(q)
            return "(SELECT mysql_scalar(count(*), min(\(column))) FROM (\(inner)) AS \"sub\")"
        case .exists(let q):
            guard let subquery else { throw StoreError.notSupported("subqueries") }
            let written = try subquery(q, parameters)
            parameters = written.parameters
            return "EXISTS (\(written.sql))"
        case .inSubquery(let a, let q, let negated):
            // x IN (SELECT v …) as MySQL compares: 1 when some v equals x; else NULL when a v is NULL or x is NULL
            // (and there are rows); else 0.
            let x = try sub(a)
            let (inner, column) = try nested(q)
            let found = "EXISTS (SELECT 1 FROM (\(inner)) AS \"sub\" WHERE mysql_op(\(bind(.string("="))), \(x), \(column)) = 1)"
            let unknown = "EXISTS (SELECT 1 FROM (\(inner)) AS \"sub\" WHERE \(column) IS NULL OR \(x) IS NULL)"
            let test = "(CASE WHEN \(found) THEN 1 WHEN \(unknown) THEN NULL ELSE 0 END)"
            return negated ? "(NOT \(test))" : test
        case .window(let name, let args, let star, let partition, let order):
            // The ranking functions and COUNT are SQLite's own, with MySQL's answers; other aggregates over a
            // window would lose MySQL's types (SUM's DECIMAL, AVG's four digits).
            let call: String
            switch (name, args.count, star) {
            case ("ROW_NUMBER", 0, false), ("RANK", 0, false), ("DENSE_RANK", 0, false): call = name.lowercased() + "()"
            case ("COUNT", 0, true): call = "count(*)"
            case ("COUNT", 1, false): call = "count(\(try sub(args[0])))"
            default: throw StoreError.notSupported("\(name)() as a window function")
            }
            var over: [String] = []
            if !partition.isEmpty {
                over.append("PARTITION BY " + (try partition.map { "mysql_sortkey(\(try sub($0))) COLLATE \(MySQLSemantics.collation)" }.joined(separator: ", ")))
            }
            if !order.isEmpty {
                over.append("ORDER BY " + (try order.map { "mysql_sortkey(\(try sub($0.expr))) COLLATE \(MySQLSemantics.collation)" + ($0.descending ? " DESC" : "") }.joined(separator: ", ")))
            }
            return "\(call) OVER (\(over.joined(separator: " ")))"
        case .function(let name, let args, let star):
            switch name {
            case "COUNT":
                if star { return "count(*)" }
                guard args.count == 1 else { break }
                return "count(\(try sub(args[0])))"
            case "SUM", "AVG", "MIN", "MAX", "COUNT_DISTINCT":
                guard args.count == 1 else { break }
                return "mysql_agg_\(name.lowercased())(\(try sub(args[0])))"
            default: break
            }
            var parts = [bind(.string(name))]
            for a in args { parts.append(try sub(a)) }
            return "mysql_fn(" + parts.joined(separator: ", ") + ")"
        }
    }
}

extension Expr {
    /// Functions whose value changes from row to row although no column is named.
    private static let volatileFunctions: Set<String> = ["RAND", "UUID", "UUID_SHORT", "SLEEP", "LAST_INSERT_ID"]

    /// How deep the expression nests when it names no column, aggregate, subquery, window or per-row function;
    /// 0 when it names one (it cannot be evaluated once for the statement).
    var constantDepth: Int {
        func depth(_ e: Expr, _ level: Int) -> Int? {
            guard level < 10_000 else { return nil }
            switch e {
            case .literal, .systemVariable, .userVariable: return 1
            case .column, .slot, .subquery, .exists, .inSubquery, .window: return nil
            case .function(let name, let args, _):
                if Self.volatileFunctions.contains(name.uppercased()) || e.containsAggregate { return nil }
                var deepest = 0
                for a in args { guard let d = depth(a, level + 1) else { return nil }; deepest = max(deepest, d) }
                return deepest + 1
            case .unary(_, let a), .isNull(let a, _):
                return depth(a, level + 1).map { $0 + 1 }
            case .binary(_, let a, let b), .like(let a, let b, _):
                guard let x = depth(a, level + 1), let y = depth(b, level + 1) else { return nil }
                return max(x, y) + 1
            case .between(let a, let b, let c, _):
                guard let x = depth(a, level + 1), let y = depth(b, level + 1), let z = depth(c, level + 1) else { return nil }
                return max(x, y, z) + 1
            case .inList(let a, let list, _):
                guard var deepest = depth(a, level + 1) else { return nil }
                for l in list { guard let d = depth(l, level + 1) else { return nil }; deepest = max(deepest, d) }
                return deepest + 1
            }
        }
        return depth(self, 0) ?? 0
    }
}
