/// A column of a result set, with what the wire needs for the client to align and label it.
public struct StoreColumn: Sendable, Equatable {
    public var name: String
    public var table: String
    public var orgTable: String
    public var database: String
    public var orgName: String
    public var type: MySQLType
    public var length: UInt32
    public var flags: UInt16
    public var decimals: UInt8
    public var charset: UInt16

    public init(name: String, type: MySQLType, length: UInt32, flags: UInt16 = 0, table: String = "", database: String = "",
                orgName: String? = nil, decimals: UInt8? = nil) {
        self.name = name
        self.table = table
        self.orgTable = table
        self.database = database
        self.orgName = orgName ?? (table.isEmpty ? "" : name)
        self.type = type
        self.length = length
        self.flags = flags
        switch type {
        case .varString, .string, .varchar, .blob: self.charset = Collation.utf8mb4
        default: self.charset = Collation.binary
        }
        // 0x1f: "not a fixed-decimal value" for strings and computed doubles, as MySQL sends.
        self.decimals = decimals ?? (type.isNumeric || type == .datetime ? 0 : 0x1F)
        if type.isNumeric { self.flags |= ColumnFlag.num }
        if self.charset == Collation.binary, type != .null { self.flags |= ColumnFlag.binary }
    }

    /// A text column of an information result (SHOW …): VARCHAR in utf8mb4, 4 bytes per character.
    public static func text(_ name: String, chars: UInt32 = 64, notNull: Bool = true) -> StoreColumn {
        StoreColumn(name: name, type: .varString, length: chars * 4, flags: notNull ? ColumnFlag.notNull : 0)
    }
    public static func number(_ name: String, notNull: Bool = true, length: UInt32 = 21) -> StoreColumn {
        StoreColumn(name: name, type: .longlong, length: length, flags: (notNull ? ColumnFlag.notNull : 0) | ColumnFlag.unsigned)
    }
}

/// A row of SHOW WARNINGS: `| Note | 1007 | Can't create database 'foobar'; database exists |`.
public struct StoreWarning: Sendable, Equatable {
    public var level: String  // Note, Warning, Error
    public var code: Int
    public var message: String
    public init(level: String, code: Int, message: String) {
        self.level = level
        self.code = code
        self.message = message
    }
    static func note(_ e: StoreError) -> StoreWarning { StoreWarning(level: "Note", code: e.code, message: e.message) }
}

/// What a statement returned: a result set (columns and rows) or an OK (affected rows, insert id, info).
public struct StoreResult: Sendable, Equatable {
    /// Column names; setting them makes plain text columns.
    public var columns: [String] {
        get { columnInfo.map(\.name) }
        set { columnInfo = newValue.map { StoreColumn.text($0) } }
    }
    public var columnInfo: [StoreColumn]
    public var rows: [[String?]]
    public var affectedRows: Int
    public var lastInsertID: Int
    public var info: String?
    public var warnings: Int
    /// What SHOW WARNINGS lists after this statement.
    public var warningList: [StoreWarning] = [] {
        didSet { warnings = warningList.count }
    }
    /// True when this is a result set (even an empty one), false for an OK.
    public var isResultSet: Bool

    public init(columns: [StoreColumn], rows: [[String?]]) {
        self.columnInfo = columns
        self.rows = rows
        self.affectedRows = 0
        self.lastInsertID = 0
        self.info = nil
        self.warnings = 0
        self.isResultSet = true
    }

    /// A result set of text columns (for callers that build results themselves, e.g. the shell's own tables).
    public init(columns: [String], rows: [[String?]], affectedRows: Int = 0, lastInsertID: Int = 0, info: String? = nil) {
        self.init(columns: columns.map { StoreColumn.text($0) }, rows: rows)
        self.affectedRows = affectedRows
        self.lastInsertID = lastInsertID
        self.info = info
    }

    public init(affectedRows: Int, lastInsertID: Int = 0, info: String? = nil, warnings: Int = 0) {
        self.columnInfo = []
        self.rows = []
        self.affectedRows = affectedRows
        self.lastInsertID = lastInsertID
        self.info = info
        self.warnings = warnings
        self.isResultSet = false
    }

    /// The value of a column in the first row, by name (case-insensitive), for status checks and tests.
    public func value(_ column: String, row: Int = 0) -> String? {
        guard row < rows.count, let i = columns.firstIndex(where: { $0.caseInsensitiveCompare(column) }), i < rows[row].count else { return nil }
        return rows[row][i]
    }

    /// The mysql client's table layout:
    /// ```
    /// +----+--------+
    /// | id | author |
    /// +----+--------+
    /// |  1 | alice  |
    /// +----+--------+
    /// 1 row in set (0.00 sec)
    /// ```
    public func renderTable(seconds: Double = 0) -> String {
        guard isResultSet else { return renderOK(seconds: seconds) }
        if rows.isEmpty { return "Empty set (\(Self.elapsed(seconds)))\n" }
        var widths = columnInfo.map { $0.name.count }
        for row in rows {
            for (i, v) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], (v ?? "NULL").count)
            }
        }
        // The client reserves room for "NULL" in nullable columns.
        for (i, c) in columnInfo.enumerated() where c.flags & ColumnFlag.notNull == 0 { widths[i] = max(widths[i], 4) }
        let border = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+\n"
        var out = border
        out += "|" + columnInfo.enumerated().map { " " + Self.pad($1.name, widths[$0], right: false) + " " }.joined(separator: "|") + "|\n"
        out += border
        for row in rows {
            out += "|" + columnInfo.enumerated().map { i, c in
                let v = i < row.count ? row[i] : nil
                return " " + Self.pad(v ?? "NULL", widths[i], right: c.type.isNumeric) + " "
            }.joined(separator: "|") + "|\n"
        }
        out += border
        out += "\(rows.count) \(rows.count == 1 ? "row" : "rows") in set (\(Self.elapsed(seconds)))\n"
        return out
    }

    /// The `\G` layout: one block per row, names right-aligned.
    public func renderVertical(seconds: Double = 0) -> String {
        guard isResultSet else { return renderOK(seconds: seconds) }
        if rows.isEmpty { return "Empty set (\(Self.elapsed(seconds)))\n" }
        let width = columnInfo.map { $0.name.count }.max() ?? 0
        var out = ""
        for (n, row) in rows.enumerated() {
            out += "*************************** \(n + 1). row ***************************\n"
            for (i, c) in columnInfo.enumerated() {
                out += Self.pad(c.name, width, right: true) + ": " + ((i < row.count ? row[i] : nil) ?? "NULL") + "\n"
            }
        }
        out += "\(rows.count) \(rows.count == 1 ? "row" : "rows") in set (\(Self.elapsed(seconds)))\n"
        return out
    }

    /// `Query OK, 1 row affected (0.00 sec)` and the info line the client prints under it.
    public func renderOK(seconds: Double = 0) -> String {
        var out = "Query OK, \(affectedRows) \(affectedRows == 1 ? "row" : "rows") affected"
        if warnings > 0 { out += ", \(warnings) warning\(warnings == 1 ? "" : "s")" }
        out += " (\(Self.elapsed(seconds)))\n"
        if let info, !info.isEmpty { out += info + "\n" }
        return out
    }

    static func elapsed(_ seconds: Double) -> String {
        let hundredths = Int((min(max(0, seconds.isNaN ? 0 : seconds), 1e9) * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100) sec"
    }

    static func pad(_ s: String, _ width: Int, right: Bool) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}

extension String {
    func caseInsensitiveCompare(_ other: String) -> Bool { self.lowercased() == other.lowercased() }
}

/// How much memory one query may use for its tokens and results. mysqld streams rows to the client as it finds
/// them; the miniature builds a query's whole answer first, so it bounds that, and past the bound it answers as
/// mysqld does when a statement cannot have the memory it needs (ERROR 1037, ER_OUTOFMEMORY). The costs are
/// estimates of what the miniature allocates (measured: a 100,000-column SELECT uses about 0.7 KB per column).
enum StatementMemory {
    static let limit = 64 * 1024 * 1024
    /// A column definition and its packet.
    static let perColumn = 512
    /// A value, its text and its share of a row packet (plus the text's own bytes).
    static let perValue = 64
    /// A token of the query text, and its copy in the statement it belongs to.
    static let perToken = 128

    static func cost(_ row: [SQLValue]) -> Int {
        var bytes = 0
        for v in row {
            bytes += perValue
            if case .string(let s) = v { bytes += s.utf8.count }
        }
        return bytes
    }
}

extension StoreResult {
    /// What this result holds, by StatementMemory's estimates.
    var estimatedBytes: Int {
        var bytes = columnInfo.count * StatementMemory.perColumn
        for row in rows {
            for v in row { bytes += StatementMemory.perValue + (v?.utf8.count ?? 0) }
        }
        return bytes
    }
}
