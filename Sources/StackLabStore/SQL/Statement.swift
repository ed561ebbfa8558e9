/// A value in a row or an expression: MySQL's types collapse to these for the subset.
enum SQLValue: Sendable, Equatable, Hashable {
    case null
    case int(Int64)
    case double(Double)
    case string(String)

    var text: String? {
        switch self {
        case .null: return nil
        case .int(let i): return String(i)
        case .double(let d):
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return String(d)
        case .string(let s): return s
        }
    }

    var isNull: Bool { self == .null }

    /// MySQL's numeric conversion of a string: the longest numeric prefix, 0 if none.
    var number: Double? {
        switch self {
        case .null: return nil
        case .int(let i): return Double(i)
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

    var containsAggregate: Bool {
        switch self {
        case .function(let name, let args, _):
            return ["COUNT", "MAX", "MIN", "SUM", "AVG"].contains(name) || args.contains { $0.containsAggregate }
        case .unary(_, let e), .isNull(let e, _): return e.containsAggregate
        case .binary(_, let a, let b), .like(let a, let b, _): return a.containsAggregate || b.containsAggregate
        case .inList(let e, let l, _): return e.containsAggregate || l.contains { $0.containsAggregate }
        case .between(let a, let b, let c, _): return a.containsAggregate || b.containsAggregate || c.containsAggregate
        default: return false
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

struct SelectStatement: Sendable, Equatable {
    var items: [SelectItem]
    var from: TableName?
    var whereClause: Expr?
    var orderBy: [OrderItem]
    var limit: Int?
    var offset: Int
}

enum ColumnKind: Sendable, Equatable {
    case int, bigint, tinyint, smallint
    case varchar(Int), char(Int)
    case text
    case datetime, timestamp, date
    case double

    var isInteger: Bool { [.int, .bigint, .tinyint, .smallint].contains(self) }

    var sqlName: String {
        switch self {
        case .int: return "int"
        case .bigint: return "bigint"
        case .tinyint: return "tinyint"
        case .smallint: return "smallint"
        case .varchar(let n): return "varchar(\(n))"
        case .char(let n): return "char(\(n))"
        case .text: return "text"
        case .datetime: return "datetime"
        case .timestamp: return "timestamp"
        case .date: return "date"
        case .double: return "double"
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
    case update(table: TableName, assignments: [(String, Expr)], whereClause: Expr?, limit: Int?)
    case delete(table: TableName, whereClause: Expr?, limit: Int?)
    case createDatabase(String, ifNotExists: Bool)
    case dropDatabase(String, ifExists: Bool)
    case createTable(TableName, ifNotExists: Bool, columns: [ColumnDefinition], primaryKey: [String], unique: [(String, [String])])
    case dropTable([TableName], ifExists: Bool)
    case truncate(TableName)
    case use(String)
    case show(ShowKind)
    case set([(global: Bool, name: String, value: Expr)])
    case setNames
    case begin, commit, rollback
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

    static func == (lhs: Statement, rhs: Statement) -> Bool { String(describing: lhs) == String(describing: rhs) }

    /// Statements that change data or schema, refused under read_only and written to the binlog.
    var isWrite: Bool {
        switch self {
        case .insert, .update, .delete, .createDatabase, .dropDatabase, .createTable, .dropTable, .truncate,
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
