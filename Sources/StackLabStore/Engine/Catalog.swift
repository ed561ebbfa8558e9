import Foundation

/// A column as the engine stores it.
struct Column: Sendable, Codable, Equatable {
    var name: String
    var kind: ColumnKind
    var notNull: Bool
    var defaultValue: SQLValue?      // nil = no DEFAULT clause
    var defaultIsNow: Bool = false   // DEFAULT CURRENT_TIMESTAMP
    var autoIncrement: Bool
    var primaryKey: Bool
    var unique: Bool

    var wireType: MySQLType {
        switch kind {
        case .int, .intUnsigned: return .long
        case .bigint, .bigintUnsigned: return .longlong
        case .tinyint, .tinyintUnsigned: return .tiny
        case .smallint, .smallintUnsigned: return .short
        case .varchar: return .varString
        case .char: return .string
        case .text: return .blob
        case .datetime: return .datetime
        case .timestamp: return .timestamp
        case .date: return .date
        case .double: return .double
        case .decimal: return .newDecimal
        }
    }

    /// The largest value AUTO_INCREMENT generates for this column: the type's maximum (InnoDB's
    /// innobase_get_int_col_max_value; 2^53 for DOUBLE). At the maximum the counter stays there, so the next
    /// generated row repeats it and meets the unique key (MySQL 8's innodb-autoinc test: ER_DUP_ENTRY for signed
    /// types; ER_AUTOINC_READ_FAILED 1467 is BIGINT UNSIGNED's answer, and the miniature has no unsigned types).
    var autoIncrementMax: Int64 {
        switch kind {
        case .tinyint: return 127
        case .smallint: return 32767
        case .int: return 2_147_483_647
        case .tinyintUnsigned: return 255
        case .smallintUnsigned: return 65_535
        case .intUnsigned: return 4_294_967_295
        case .double: return 9_007_199_254_740_992
        default: return Int64.max
        }
    }

    /// Display length as MySQL 8 reports it in column definitions (characters × 4 for utf8mb4).
    var wireLength: UInt32 {
        switch kind {
        case .int: return 11
        case .bigint, .bigintUnsigned: return 20
        case .tinyint: return 4
        case .smallint: return 6
        case .intUnsigned: return 10
        case .tinyintUnsigned: return 3
        case .smallintUnsigned: return 5
        case .varchar(let n), .char(let n): return UInt32(clamping: min(max(0, n), 1 << 30) * 4)
        case .text: return 262_140
        case .datetime, .timestamp: return 19
        case .date: return 10
        case .double: return 22
        case .decimal(let p, let s): return UInt32(p + (s > 0 ? 2 : 1))   // digits, the sign and the point
        }
    }
}

/// A plain (non-unique) index: a name and its columns. It orders nothing and speeds nothing up here; SHOW INDEX,
/// SHOW CREATE TABLE and information_schema show it as MySQL would.
struct PlainIndex: Sendable, Codable, Equatable {
    var name: String
    var columns: [Int]
}

/// A unique index: the primary key is the one named PRIMARY.
struct UniqueIndex: Sendable, Codable, Equatable {
    var name: String
    var columns: [Int]
}

struct Table: Sendable, Codable {
    var name: String
    var columns: [Column]
    /// The rows of a table the store makes when a statement reads it (information_schema, mysql.user); a stored
    /// table's rows are in SQLite and this stays empty.
    var rows: [[SQLValue]] = []
    var indexes: [UniqueIndex] = []
    var autoIncrement: Int64 = 1
    /// Non-unique indexes (nil in data directories from before they existed).
    var plainIndexes: [PlainIndex]?

    private enum CodingKeys: String, CodingKey { case name, columns, rows, indexes, autoIncrement, plainIndexes }

    func columnIndex(_ name: String) -> Int? {
        let lower = name.lowercased()
        return columns.firstIndex { $0.name.lowercased() == lower }
    }

    var autoIncrementColumn: Int? { columns.firstIndex { $0.autoIncrement } }

    /// The counter once `value` is used: one more, or the column's maximum once there (InnoDB's
    /// innobase_next_autoinc saturates the same way).
    static func autoIncrement(after value: Int64, max: Int64) -> Int64 { value < max ? value + 1 : max }

    func keyDisplay(_ row: [SQLValue], _ index: UniqueIndex) -> String {
        index.columns.map { $0 < row.count ? (row[$0].text ?? "NULL") : "" }.joined(separator: "-")
    }

    /// A table read back from a data directory: every row as wide as the columns and every index naming existing
    /// columns, so nothing later indexes past a row (the file may have been edited by hand).
    mutating func normalize() {
        let width = columns.count
        rows = rows.map { row in
            row.count == width ? row : Array((row + [SQLValue](repeating: .null, count: max(0, width - row.count))).prefix(width))
        }
        indexes = indexes.map { UniqueIndex(name: $0.name, columns: $0.columns.filter { (0..<width).contains($0) }) }.filter { !$0.columns.isEmpty }
        plainIndexes = plainIndexes?.map { PlainIndex(name: $0.name, columns: $0.columns.filter { (0..<width).contains($0) }) }.filter { !$0.columns.isEmpty }
    }
}

struct Database: Sendable, Codable {
    var name: String
    var tables: [String: Table] = [:]
}

struct Grant: Sendable, Codable, Equatable {
    var privileges: Set<String>
    var database: String  // "*" for all
    var table: String
}

struct Account: Sendable, Codable, Equatable {
    var name: String
    var host: String
    var password: String
    var isSuper: Bool = false
    var grants: [Grant] = []

    var display: String { "'\(name)'@'\(host)'" }

    func has(_ privilege: String, database: String?) -> Bool {
        if isSuper { return true }
        return grants.contains { g in
            (g.database == "*" || g.database == database) && (g.privileges.contains(privilege) || g.privileges.contains("ALL") || g.privileges.contains("ALL PRIVILEGES"))
        }
    }

    func hasAny(on database: String) -> Bool {
        if isSuper { return true }
        return grants.contains { g in (g.database == "*" || g.database == database) && !g.privileges.isEmpty && g.privileges != ["USAGE"] }
    }
}

/// The dictionary: every database's tables with their MySQL definitions, and the accounts. The rows are SQLite's.
struct Catalog: Sendable, Codable {
    var databases: [String: Database] = [:]
    var accounts: [Account] = []

    /// Databases MySQL always shows; they hold no user tables here.
    static let systemDatabases = ["information_schema", "mysql", "performance_schema", "sys"]

    /// The account a login matches, most specific host first (MySQL sorts the user table the same way).
    /// `server` is the store's own address: a client there is on the same machine.
    func account(named name: String, from address: String, server: String? = nil) -> Account? {
        let candidates = accounts.filter { $0.name == name && HostPattern.matches($0.host, address, server: server) }
        return candidates.sorted { HostPattern.specificity($0.host) > HostPattern.specificity($1.host) }.first
    }
}

enum HostPattern {
    /// 'localhost' is the server's own machine: the shell's `sql` (the mysql client on the server's socket) and a
    /// client connecting from the server's own address. Every lab server has its own loopback address, so a client
    /// on another server, or on the "internet" side (127.0.0.1), is not localhost: 'root'@'localhost' is a root that
    /// only the server itself can use, as on a real install.
    static func matches(_ pattern: String, _ address: String, server: String? = nil) -> Bool {
        let p = pattern.lowercased()
        if p == "%" || p.isEmpty { return true }
        if p == "localhost" { return address == "localhost" || (server != nil && address == server) }
        if let slash = p.firstIndex(of: "/") {
            let net = String(p[..<slash]), mask = String(p[p.index(after: slash)...])
            guard let n = ipv4(net), let m = ipv4(mask), let a = ipv4(address) else { return false }
            return a & m == n & m
        }
        return Like.matches(address, pattern: p)
    }

    static func specificity(_ pattern: String) -> Int {
        if pattern == "%" || pattern.isEmpty { return 0 }
        if pattern.contains("%") || pattern.contains("_") || pattern.contains("/") { return 1 }
        return 2
    }

    static func ipv4(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".")
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard let b = UInt8(p) else { return nil }
            v = v << 8 | UInt32(b)
        }
        return v
    }
}

/// SQL LIKE with % and _ (and \ escapes), case-insensitive as MySQL's default collation. Iterative (the classic
/// wildcard matcher with one backtrack point), so a long text or pattern cannot exhaust the stack.
enum Like {
    private enum Piece: Equatable { case any, one, char(Character) }

    static func matches(_ text: String, pattern: String) -> Bool {
        let t = Array(text.lowercased())
        var p: [Piece] = []
        var chars = Array(pattern.lowercased())[...]
        while let c = chars.popFirst() {
            switch c {
            case "%": if p.last != .any { p.append(.any) }
            case "_": p.append(.one)
            case "\\": p.append(.char(chars.popFirst() ?? "\\"))
            default: p.append(.char(c))
            }
        }
        var i = 0, j = 0
        var starJ = -1, starI = 0
        while i < t.count {
            if j < p.count, p[j] == .one || p[j] == .char(t[i]) {
                i += 1
                j += 1
            } else if j < p.count, p[j] == .any {
                starJ = j
                starI = i
                j += 1
            } else if starJ >= 0 {
                j = starJ + 1
                starI += 1
                i = starI
            } else {
                return false
            }
        }
        while j < p.count, p[j] == .any { j += 1 }
        return j == p.count
    }
}

extension SQLValue: Codable {
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let i = try? c.decode(Int64.self) { self = .int(i) } else if let d = try? c.decode(Double.self) { self = .double(d) } else if let exact = try? c.decode(ExactText.self) { self = exact.value } else { self = .string(try c.decode(String.self)) }
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .uint(let u): try c.encode(ExactText(digits: String(u), scale: nil))
        case .decimal(let d, let scale): try c.encode(ExactText(digits: SQLValue.format(d, scale: scale), scale: scale))
        }
    }
}

/// A BIGINT UNSIGNED or DECIMAL in snapshot.json: its digits as text (a JSON number would pass through a double).
private struct ExactText: Codable {
    var digits: String
    /// nil for BIGINT UNSIGNED.
    var scale: Int?

    var value: SQLValue {
        if let scale, let d = Decimal(string: digits, locale: Locale(identifier: "en_US_POSIX")) { return .decimal(d, scale: scale) }
        if let u = UInt64(digits) { return .uint(u) }
        return .string(digits)
    }
}

extension ColumnKind: Codable {
    init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        switch s {
        case "int": self = .int
        case "bigint": self = .bigint
        case "tinyint": self = .tinyint
        case "smallint": self = .smallint
        case "text": self = .text
        case "datetime": self = .datetime
        case "timestamp": self = .timestamp
        case "date": self = .date
        case "double": self = .double
        case "int unsigned": self = .intUnsigned
        case "bigint unsigned": self = .bigintUnsigned
        case "tinyint unsigned": self = .tinyintUnsigned
        case "smallint unsigned": self = .smallintUnsigned
        case _ where s.hasPrefix("decimal("):
            let numbers = s.dropFirst(8).dropLast().split(separator: ",").compactMap { Int($0) }
            self = .decimal(precision: numbers.first ?? 10, scale: numbers.count > 1 ? numbers[1] : 0)
        default:
            let digits = Int(s.filter(\.isNumber)) ?? 255
            self = s.hasPrefix("char") ? .char(digits) : .varchar(digits)
        }
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(sqlName)
    }
}

/// Time formatting shared by NOW(), logs and binlog timestamps.
enum Clock {
    static func datetime(_ date: Date, utc: Bool = false) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = utc ? TimeZone(identifier: "UTC") ?? .current : .current
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func p(_ v: Int?, _ w: Int = 2) -> String {
            let s = String(v ?? 0)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(p(c.year, 4))-\(p(c.month))-\(p(c.day)) \(p(c.hour)):\(p(c.minute)):\(p(c.second))"
    }

    /// MySQL 8 error-log timestamp: 2026-11-24T13:55:36.123456Z (UTC, microseconds).
    static func errorLogStamp(_ date: Date = Date()) -> String {
        let base = datetime(date, utc: true).replacingOccurrences(of: " ", with: "T")
        let micros = Int((date.timeIntervalSince1970 - floor(date.timeIntervalSince1970)) * 1_000_000)
        let m = String(micros)
        return base + "." + String(repeating: "0", count: max(0, 6 - m.count)) + m + "Z"
    }
}
