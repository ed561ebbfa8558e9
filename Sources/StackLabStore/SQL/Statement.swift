import Foundation

/// A value in a row or an expression: MySQL's types collapse to these for the subset.
enum SQLValue: Sendable, Equatable, Hashable {
    case null
    case int(Int64)
    /// BIGINT UNSIGNED: an integer literal past 9223372036854775807, and arithmetic on one.
    case uint(UInt64)
    /// DECIMAL: a literal with a point (`0.1`) or past BIGINT UNSIGNED, exact arithmetic on one, `/`, `AVG`. `scale`
    /// is how many digits follow the point when it is shown (`1.50` has 2).
    case decimal(Decimal, scale: Int)
    case double(Double)
    case string(String)

    var text: String? {
        switch self {
        case .null: return nil
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .decimal(let d, let scale): return Self.format(d, scale: scale)
        case .double(let d): return Self.format(d)
        case .string(let s): return s
        }
    }

    /// MySQL's literal types: BIGINT, BIGINT UNSIGNED past 9223372036854775807, DECIMAL with a point or past
    /// 18446744073709551615, DOUBLE with an exponent. A DECIMAL longer than the miniature's 38 digits is a DOUBLE.
    static func numericLiteral(_ s: String) -> SQLValue? {
        if let v = Int64(s) { return .int(v) }
        if s.contains("e") || s.contains("E") {
            guard let d = Double(s), d.isFinite else { return nil }
            return .double(d)
        }
        if let u = UInt64(s) { return .uint(u) }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) else { return nil }
        let scale = parts.count == 2 ? parts[1].count : 0
        let significant = s.filter(\.isNumber).drop { $0 == "0" }.count
        if significant <= SQLValue.decimalDigits, scale <= SQLValue.maxScale, let d = Decimal(string: s, locale: Locale(identifier: "en_US_POSIX")) {
            return .decimal(d, scale: scale)
        }
        guard let d = Double(s), d.isFinite else { return nil }
        return .double(d)
    }

    /// The most digits a DECIMAL holds here (Foundation's Decimal: 38; MySQL's DECIMAL: 65) and the most after the
    /// point (MySQL's 30).
    static let decimalDigits = 38
    static let maxScale = 30

    /// `2.50`: rounded half away from zero to `scale` digits after the point, as MySQL shows a DECIMAL.
    static func format(_ value: Decimal, scale: Int) -> String {
        var input = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &input, scale, .plain)
        var text = NSDecimalNumber(decimal: rounded).stringValue
        if text == "-0" { text = "0" }
        guard scale > 0 else { return text }
        let parts = text.split(separator: ".", maxSplits: 1)
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        return String(parts[0]) + "." + fraction + String(repeating: "0", count: max(0, scale - fraction.count))
    }

    /// A DOUBLE as MySQL shows it: the shortest digits that read back the same, written out while the point falls
    /// within 15 places of the first digit (`100000000000000`, `0.000000000000001`) and in scientific notation past
    /// that (`1e15`, `1.5e-16`, `3.333333333333333e19`); at 16 places, whichever is shorter (`1234567890123456.8`).
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return d.isNaN ? "NaN" : (d < 0 ? "-inf" : "inf") }
        if d == 0 { return "0" }
        // Swift's description holds the shortest round-trip digits: "123.45", "1e+16", "1.5e-07".
        let described = "\(abs(d))"
        let halves = described.split(separator: "e", maxSplits: 1)
        let exponent = halves.count > 1 ? Int(halves[1]) ?? 0 : 0
        let mantissa = halves[0].split(separator: ".", maxSplits: 1)
        let whole = String(mantissa[0]), fraction = mantissa.count > 1 ? String(mantissa[1]) : ""
        var digits = whole + fraction
        // value = 0.digits × 10^point
        var point = whole.count + exponent
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); point -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let sign = d < 0 ? "-" : ""
        let plain: String
        if point <= 0 {
            plain = "0." + String(repeating: "0", count: -point) + digits
        } else if point >= digits.count {
            plain = digits + String(repeating: "0", count: point - digits.count)
        } else {
            plain = String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
        }
        let scientific = String(digits.prefix(1)) + (digits.count > 1 ? "." + String(digits.dropFirst()) : "") + "e\(point - 1)"
        if point > -15 && point <= 15 { return sign + plain }
        if point == 16 && plain.count <= scientific.count { return sign + plain }
        return sign + scientific
    }

    var isNull: Bool { self == .null }

    /// MySQL's numeric conversion of a string: the longest numeric prefix, 0 if none.
    var number: Double? {
        switch self {
        case .null: return nil
        case .int(let i): return Double(i)
        case .uint(let u): return Double(u)
        case .decimal(let d, _): return NSDecimalNumber(decimal: d).doubleValue
        case .double(let d): return d
        case .string(let s):
            let trimmed = s.drop(while: { $0 == " " })
            var prefix = ""
            for ch in trimmed {
                if ch.isNumber || (prefix.isEmpty && (ch == "-" || ch == "+")) || (ch == "." && !prefix.contains(".")) { prefix.append(ch) } else { break }
            }
            return Double(prefix) ?? 0
        }
    }

    var truth: Bool? {
        guard let n = number else { return nil }
        return n != 0
    }
}

struct TableName: Sendable, Equatable {
    var database: String?
    var name: String
}

indirect enum Expr: Sendable, Equatable {
    case literal(SQLValue)
    case column(table: String?, name: String)
    case systemVariable(String)
    case userVariable(String)
    case function(name: String, args: [Expr], star: Bool)
    case unary(String, Expr)
    case binary(String, Expr, Expr)
    case isNull(Expr, negated: Bool)
    case inList(Expr, [Expr], negated: Bool)
    case like(Expr, Expr, negated: Bool)
    case between(Expr, Expr, Expr, negated: Bool)
    /// A column already resolved to its position in the row (made by `Evaluator.resolve`, never by the parser).
    case slot(Int)
    /// `(SELECT …)` as a value: one column, at most one row.
    case subquery(SelectStatement)
    case exists(SelectStatement)
    /// `x [NOT] IN (SELECT …)`.
    case inSubquery(Expr, SelectStatement, negated: Bool)
    /// `f(…) OVER ([PARTITION BY …] [ORDER BY …])`.
    case window(name: String, args: [Expr], star: Bool, partition: [Expr], order: [OrderItem])

    var containsAggregate: Bool {
        switch self {
        case .function(let name, let args, _):
            return ["COUNT", "COUNT_DISTINCT", "MAX", "MIN", "SUM", "AVG"].contains(name) || args.contains { $0.containsAggregate }
        case .unary(_, let e), .isNull(let e, _): return e.containsAggregate
        case .binary(_, let a, let b), .like(let a, let b, _): return a.containsAggregate || b.containsAggregate
        case .inList(let e, let l, _): return e.containsAggregate || l.contains { $0.containsAggregate }
        case .between(let a, let b, let c, _): return a.containsAggregate || b.containsAggregate || c.containsAggregate
        // A subquery's aggregates are its own.
        case .inSubquery(let e, _, _): return e.containsAggregate
        default: return false
        }
    }

    /// MySQL's "not supported" for the first subquery or window function in the expression, for the store's own
    /// evaluator (which has neither); nil when there is none.
    var refusal: StoreError? {
        switch self {
        case .window: return StoreError.notSupported("window functions")
        case .subquery, .exists: return StoreError.notSupported("subqueries")
        case .inSubquery: return StoreError.notSupported("LIMIT & IN/ALL/ANY/SOME subquery")
        case .function(_, let args, _): return args.lazy.compactMap(\.refusal).first
        case .unary(_, let e), .isNull(let e, _): return e.refusal
        case .binary(_, let a, let b), .like(let a, let b, _): return a.refusal ?? b.refusal
        case .inList(let e, let l, _): return e.refusal ?? l.lazy.compactMap(\.refusal).first
        case .between(let a, let b, let c, _): return a.refusal ?? b.refusal ?? c.refusal
        default: return nil
        }
    }
}

struct SelectItem: Sendable, Equatable {
    enum Kind: Sendable, Equatable { case star(table: String?), expr(Expr) }
    var kind: Kind
    var name: String
}

struct OrderItem: Sendable, Equatable {
    var expr: Expr
    var descending: Bool
}

/// `(SELECT …) AS name` in FROM or a JOIN: a table made by a query.
indirect enum DerivedTable: Sendable, Equatable {
    case select(SelectStatement, alias: String)
}

/// A table joined to FROM's first: `, t` and CROSS JOIN are `.cross`; ON or USING say which rows pair.
struct JoinClause: Sendable, Equatable {
    enum Kind: Sendable, Equatable { case inner, cross, left, right }
    var kind: Kind
    var table: TableName
    var alias: String?
    var on: Expr?
    var using: [String] = []
    /// A derived table (then `table` is its alias).
    var derived: DerivedTable? = nil
}

/// `WITH name AS (SELECT …)`: a named query the SELECT after it reads as a table.
struct CommonTable: Sendable, Equatable {
    var name: String
    var select: SelectStatement
}

/// `UNION [ALL|DISTINCT] SELECT …` after a SELECT.
struct UnionPart: Sendable, Equatable {
    var all: Bool
    var select: SelectStatement
}

struct SelectStatement: Sendable, Equatable {
    var items: [SelectItem]
    var from: TableName?
    /// `FROM posts p`: the name the other clauses use for FROM's table.
    var fromAlias: String? = nil
    /// `FROM (SELECT …) AS d` (then `from` is nil).
    var fromDerived: DerivedTable? = nil
    var joins: [JoinClause] = []
    var whereClause: Expr?
    var orderBy: [OrderItem]
    var limit: Int?
    var offset: Int
    var distinct = false
    var groupBy: [Expr] = []
    var having: Expr?
    /// The SELECTs united with this one; ORDER BY and LIMIT above then order and cut the whole.
    var unions: [UnionPart] = []
    /// WITH's named queries, in order (each may read the ones before it).
    var with: [CommonTable] = []

    /// What the store's own engine refuses in this SELECT: JOIN, UNION, then subqueries (MySQL's texts).
    var refusal: StoreError? {
        if !with.isEmpty { return StoreError.notSupported("WITH") }
        if fromDerived != nil { return StoreError.notSupported("derived tables") }
        if !joins.isEmpty { return StoreError.notSupported(joins.contains { $0.derived != nil } ? "derived tables" : "JOIN") }
        if !unions.isEmpty { return StoreError.notSupported("UNION") }
        var exprs: [Expr] = items.compactMap { if case .expr(let e) = $0.kind { return e } else { return nil } }
        exprs += [whereClause, having].compactMap { $0 } + groupBy + orderBy.map(\.expr) + joins.compactMap(\.on)
        return exprs.lazy.compactMap(\.refusal).first
    }
}

enum ColumnKind: Sendable, Equatable {
    case int, bigint, tinyint, smallint
    case intUnsigned, bigintUnsigned, tinyintUnsigned, smallintUnsigned
    case varchar(Int), char(Int)
    case text
    case datetime, timestamp, date
    case double
    /// DECIMAL(precision, scale): exact, rounded to `scale` digits when stored.
    case decimal(precision: Int, scale: Int)

    var isInteger: Bool { [.int, .bigint, .tinyint, .smallint].contains(self) || unsignedMax != nil }

    /// The largest value of an UNSIGNED integer type; nil for every other type.
    var unsignedMax: UInt64? {
        switch self {
        case .tinyintUnsigned: return 255
        case .smallintUnsigned: return 65_535
        case .intUnsigned: return 4_294_967_295
        case .bigintUnsigned: return UInt64.max
        default: return nil
        }
    }

    /// `INT UNSIGNED` for `INT`; other types have no unsigned form here.
    var unsigned: ColumnKind {
        switch self {
        case .int: return .intUnsigned
        case .bigint: return .bigintUnsigned
        case .tinyint: return .tinyintUnsigned
        case .smallint: return .smallintUnsigned
        default: return self
        }
    }

    var sqlName: String {
        switch self {
        case .int: return "int"
        case .bigint: return "bigint"
        case .tinyint: return "tinyint"
        case .smallint: return "smallint"
        case .intUnsigned: return "int unsigned"
        case .bigintUnsigned: return "bigint unsigned"
        case .tinyintUnsigned: return "tinyint unsigned"
        case .smallintUnsigned: return "smallint unsigned"
        case .varchar(let n): return "varchar(\(n))"
        case .char(let n): return "char(\(n))"
        case .text: return "text"
        case .datetime: return "datetime"
        case .timestamp: return "timestamp"
        case .date: return "date"
        case .double: return "double"
        case .decimal(let p, let s): return "decimal(\(p),\(s))"
        }
    }
}

struct ColumnDefinition: Sendable, Equatable {
    var name: String
    var kind: ColumnKind
    var notNull: Bool = false
    var defaultValue: Expr?
    var autoIncrement: Bool = false
    var primaryKey: Bool = false
    var unique: Bool = false
}

struct UserSpec: Sendable, Equatable {
    var name: String
    var host: String
    var password: String?
}

enum ReplicaThreads: Sendable, Equatable { case both, io, sql }

enum ShowKind: Sendable, Equatable {
    case databases(like: String?)
    case tables(database: String?, full: Bool, like: String?)
    case columns(TableName, full: Bool)
    case indexes(TableName)
    case createTable(TableName)
    case createDatabase(String)
    case variables(like: String?)
    case status(like: String?)
    case warnings, errors
    case replicaStatus(legacy: Bool)
    case binaryLogStatus
    case binaryLogs
    case processlist
    case grants(UserSpec?)
    case replicas(legacy: Bool)
    case engines
    case charset, collation
}

enum Statement: Sendable, Equatable {
    case select(SelectStatement)
    case insert(table: TableName, columns: [String]?, rows: [[Expr]], ignore: Bool)
    case update(table: TableName, assignments: [(String, Expr)], whereClause: Expr?, limit: Int?, orderBy: [OrderItem] = [])
    case delete(table: TableName, whereClause: Expr?, limit: Int?, orderBy: [OrderItem] = [])
    case createDatabase(String, ifNotExists: Bool)
    case dropDatabase(String, ifExists: Bool)
    /// `indexes`: the table's plain (non-unique) keys, as ALTER TABLE … ADD INDEX adds them.
    case createTable(TableName, ifNotExists: Bool, columns: [ColumnDefinition], primaryKey: [String], unique: [(String, [String])],
                     indexes: [AlterSpec] = [])
    case dropTable([TableName], ifExists: Bool)
    case alterTable(TableName, [AlterSpec])
    case truncate(TableName)
    case use(String)
    case show(ShowKind)
    case set([(global: Bool, name: String, value: Expr)])
    case setNames
    case begin(readOnly: Bool)
    case commit, rollback
    case savepoint(String)
    case rollbackToSavepoint(String)
    case releaseSavepoint(String)
    case createUser([UserSpec], ifNotExists: Bool)
    case dropUser([UserSpec], ifExists: Bool)
    case alterUser(UserSpec)
    case grant(privileges: [String], database: String, table: String, user: UserSpec)
    case revoke
    case flush
    case startReplica(ReplicaThreads)
    case stopReplica(ReplicaThreads)
    case resetReplica(all: Bool)
    case changeSource([(String, SQLValue)])
    case resetBinaryLogs
    case doNothing  // statements MySQL accepts that change nothing here (e.g. ANALYZE-like no-ops)

    /// Statements that end an open transaction with an implicit COMMIT before they run, as in MySQL: DDL and
    /// account statements.
    var causesImplicitCommit: Bool {
        switch self {
        case .createDatabase, .dropDatabase, .createTable, .dropTable, .alterTable, .truncate, .createUser, .dropUser,
             .alterUser, .grant, .revoke:
            return true
        default: return false
        }
    }

    /// Statements that read or change rows: inside a transaction they see its snapshot and its own changes.
    var isDataStatement: Bool {
        switch self {
        case .select(let q): return q.from != nil
        case .insert, .update, .delete: return true
        default: return false
        }
    }

    static func == (lhs: Statement, rhs: Statement) -> Bool { String(describing: lhs) == String(describing: rhs) }

    /// What the store's own engine refuses in this statement before it runs (JOIN, UNION, subqueries), with
    /// MySQL's "not supported" text.
    var refusal: StoreError? {
        switch self {
        case .select(let q): return q.refusal
        case .insert(_, _, let rows, _): return rows.joined().lazy.compactMap(\.refusal).first
        case .update(_, let assignments, let w, _, let order):
            return (assignments.map(\.1) + [w].compactMap { $0 } + order.map(\.expr)).lazy.compactMap(\.refusal).first
        case .delete(_, let w, _, let order):
            return ([w].compactMap { $0 } + order.map(\.expr)).lazy.compactMap(\.refusal).first
        case .set(let assignments): return assignments.lazy.compactMap(\.value.refusal).first
        default: return nil
        }
    }

    /// Statements that change data or schema, refused under read_only and written to the binlog.
    var isWrite: Bool {
        switch self {
        case .insert, .update, .delete, .createDatabase, .dropDatabase, .createTable, .dropTable, .alterTable, .truncate,
             .createUser, .dropUser, .alterUser, .grant, .revoke:
            return true
        default: return false
        }
    }
}

/// One statement of a query text with the source it came from (for the binlog, which logs statements as typed).
struct ParsedStatement: Sendable {
    var statement: Statement
    var text: String
}

/// Where ALTER TABLE … ADD COLUMN puts the column.
enum ColumnPosition: Sendable, Equatable {
    case last, first
    case after(String)
}

/// One change of an ALTER TABLE.
enum AlterSpec: Sendable, Equatable {
    case addColumn(ColumnDefinition, ColumnPosition)
    case dropColumn(String)
    case renameColumn(String, String)
    case renameTable(TableName)
    case addIndex(name: String?, columns: [String], unique: Bool)
    case dropIndex(String)
}
