import Foundation

/// MySQL's semantics where SQLite's differ, registered on a connection as SQL functions and a collation. Each one
/// asks the store's own evaluator, so an expression means the same whether the store or SQLite computes it:
///
/// - `mysql_op(op, a, b)`: a binary operator or LIKE (`/` is DECIMAL, `DIV` integer, comparisons convert as MySQL does,
///   BIGINT overflow is ERROR 1690).
/// - `mysql_fn(name, args…)`: a MySQL function by name (CONCAT with NULL, IF, ROUND, date functions, NOW() …).
/// - `mysql_decimal(v, scale)`: a DECIMAL column's stored scaled integer as the DECIMAL it stands for.
/// - `mysql_sortkey(v)`: a value SQLite orders as MySQL does (a DECIMAL by its value, not its bytes).
/// - `mysql_scalar(rows, v)`: a scalar subquery's value, ERROR 1242 when it had more than one row.
/// - `mysql_truth(v)`: the value of a condition: 1, 0 or NULL.
/// - `mysql_agg_sum`, `mysql_agg_avg`, `mysql_agg_min`, `mysql_agg_max`, `mysql_agg_count_distinct`: aggregates with
///   MySQL's types (SUM of DECIMALs exact, AVG with four more digits).
/// - the collation `utf8mb4_0900_ai_ci`: text compared case- and accent-insensitively, trailing spaces significant
///   (MySQL 8's default collation is NO PAD).
enum MySQLSemantics {
    static let collation = "utf8mb4_0900_ai_ci"

    /// Evaluates one expression whose operands are literals; `group` holds the rows of an aggregate's group.
    typealias Evaluate = (Expr, [[SQLValue]]?) throws -> SQLValue

    static func register(on connection: SQLiteConnection, evaluate: @escaping Evaluate) throws {
        try connection.createCollation(collation, compareText)
        try connection.createFunction("mysql_op", arguments: 3) { args in
            guard let op = args[0].text else { return .null }
            if op == "LIKE" { return try evaluate(.like(.literal(args[1]), .literal(args[2]), negated: false), nil) }
            return try evaluate(.binary(op, .literal(args[1]), .literal(args[2])), nil)
        }
        try connection.createFunction("mysql_unary", arguments: 2) { args in
            guard let op = args[0].text else { return .null }
            return try evaluate(.unary(op, .literal(args[1])), nil)
        }
        try connection.createFunction("mysql_decimal", arguments: 2) { args in
            guard case .int(let scale) = args[1] else { return args[0] }
            return SQLiteSchema.decimal(fromStored: args[0], scale: Int(clamping: scale))
        }
        try connection.createFunction("mysql_sortkey", arguments: 1) { args in
            switch args[0] {
            case .decimal, .uint: return args[0].number.map { .double($0) } ?? .null
            default: return args[0]
            }
        }
        try connection.createFunction("mysql_scalar", arguments: 2) { args in
            guard case .int(let rows) = args[0], rows <= 1 else {
                throw StoreError(code: 1242, sqlState: "21000", message: "Subquery returns more than 1 row")
            }
            return args[1]
        }
        try connection.createFunction("mysql_truth", arguments: 1) { args in
            args[0].truth.map { .int($0 ? 1 : 0) } ?? .null
        }
        // Not deterministic: NOW(), RAND(), UUID(), DATABASE() and LAST_INSERT_ID() change between calls.
        try connection.createFunction("mysql_fn", arguments: -1, deterministic: false) { args in
            guard let name = args.first?.text else { return .null }
            return try evaluate(.function(name: name, args: args.dropFirst().map { .literal($0) }, star: false), nil)
        }
        for name in ["SUM", "AVG", "MIN", "MAX", "COUNT_DISTINCT"] {
            try connection.createAggregate("mysql_agg_" + name.lowercased()) {
                GroupValues { values in try evaluate(.function(name: name, args: [.slot(0)], star: false), values.map { [$0] }) }
            }
        }
    }

    /// utf8mb4_0900_ai_ci as far as the miniature goes: letters compare without case and accents ('a' = 'Á'), and
    /// 'a' < 'a ' (NO PAD). Text that is plain ASCII takes a fast path.
    static func compareText(_ a: String, _ b: String) -> Int {
        if let ascii = compareASCII(a, b) { return ascii }
        let x = fold(a), y = fold(b)
        return x == y ? 0 : (x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : 1)
    }

    static func fold(_ s: String) -> String {
        s.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
    }

    private static func compareASCII(_ a: String, _ b: String) -> Int? {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y -> Int? in
                let n = min(x.count, y.count)
                for i in 0..<n {
                    let p = x[i], q = y[i]
                    guard p < 0x80, q < 0x80 else { return nil }
                    let l = p >= 0x41 && p <= 0x5A ? p | 0x20 : p
                    let r = q >= 0x41 && q <= 0x5A ? q | 0x20 : q
                    if l != r { return l < r ? -1 : 1 }
                }
                if x[n...].contains(where: { $0 >= 0x80 }) || y[n...].contains(where: { $0 >= 0x80 }) { return nil }
                return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
            }
        }
    }
}

/// An aggregate's group: its non-NULL values, handed to the evaluator at the end.
private final class GroupValues: SQLiteAggregate {
    private var values: [SQLValue] = []
    private let finish: ([SQLValue]) throws -> SQLValue

    init(_ finish: @escaping ([SQLValue]) throws -> SQLValue) { self.finish = finish }

    func step(_ arguments: [SQLValue]) throws {
        if let v = arguments.first, !v.isNull { values.append(v) }
    }

    func final() throws -> SQLValue { try finish(values) }
}
