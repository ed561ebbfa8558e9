import Foundation

/// How a table of the store's dictionary (MySQL's column types, keys and indexes) is laid out in SQLite.
///
/// - A single integer primary key is SQLite's INTEGER PRIMARY KEY (the rowid): rows are kept in key order, as
///   InnoDB's clustered index keeps them, and a lookup by key is one B-tree descent.
/// - Any other primary key makes a WITHOUT ROWID table clustered on that key; a table without one is a rowid table
///   in insertion order (InnoDB's hidden row id).
/// - Text columns compare under `utf8mb4_0900_ai_ci`, so unique keys, indexes, ORDER BY and GROUP BY follow it.
/// - A DECIMAL(M,D) with M ≤ 18 is an integer scaled by 10^D: exact, ordered and indexed as a number, read back as
///   a DECIMAL through `mysql_decimal(column, D)`. A wider one is a tagged BLOB (exact, not ordered by value).
/// - SQLite index names are per database, MySQL's per table: index `name` of table `t` is `t/name` in SQLite.
enum SQLiteSchema {
    static func declaredType(_ kind: ColumnKind) -> String {
        switch kind {
        case .int, .bigint, .tinyint, .smallint, .intUnsigned, .bigintUnsigned, .tinyintUnsigned, .smallintUnsigned:
            return "INTEGER"
        case .varchar, .char, .text: return "TEXT COLLATE \(MySQLSemantics.collation)"
        case .datetime, .timestamp, .date: return "TEXT"
        case .double: return "REAL"
        case .decimal(let p, _): return p <= scaledDecimalDigits ? "INTEGER" : "BLOB"
        }
    }

    /// The widest DECIMAL kept as a scaled 64-bit integer.
    static let scaledDecimalDigits = 18

    static func indexName(_ table: String, _ index: String) -> String { table + "/" + index }

    /// The column that is SQLite's rowid: a primary key of one integer column.
    static func rowidKey(_ table: Table) -> Int? {
        let pk = table.indexes.first { $0.name == "PRIMARY" }
        return pk.flatMap { $0.columns.count == 1 ? $0.columns[0] : nil }.flatMap { c in
            // BIGINT UNSIGNED reaches past SQLite's 64-bit signed rowid.
            c < table.columns.count && table.columns[c].kind.isInteger && table.columns[c].kind != .bigintUnsigned ? c : nil
        }
    }

    /// Whether the table is clustered on a primary key other than a rowid (SQLite's WITHOUT ROWID).
    static func isWithoutRowID(_ table: Table) -> Bool {
        table.indexes.contains { $0.name == "PRIMARY" } && rowidKey(table) == nil
    }

    /// CREATE TABLE and CREATE INDEX statements for `table` in the attached database `schema`.
    static func create(_ table: Table, schema: String) -> [String] {
        let q = SQLiteConnection.quote
        let pk = table.indexes.first { $0.name == "PRIMARY" }
        let rowidKey = rowidKey(table)
        var parts: [String] = []
        for (i, c) in table.columns.enumerated() {
            var d = q(c.name) + " " + declaredType(c.kind)
            if i == rowidKey {
                d = q(c.name) + " INTEGER PRIMARY KEY"
            } else if c.notNull {
                d += " NOT NULL"
            }
            parts.append(d)
        }
        if let pk, rowidKey == nil {
            parts.append("PRIMARY KEY (" + pk.columns.compactMap { $0 < table.columns.count ? q(table.columns[$0].name) : nil }.joined(separator: ", ") + ")")
        }
        var statements = ["CREATE TABLE \(q(schema)).\(q(table.name)) (" + parts.joined(separator: ", ") + ")"
                          + (pk != nil && rowidKey == nil ? " WITHOUT ROWID" : "")]
        func index(_ name: String, _ columns: [Int], unique: Bool) -> String {
            let list = columns.compactMap { $0 < table.columns.count ? q(table.columns[$0].name) : nil }.joined(separator: ", ")
            return "CREATE \(unique ? "UNIQUE " : "")INDEX \(q(schema)).\(q(indexName(table.name, name))) ON \(q(table.name)) (\(list))"
        }
        for u in table.indexes where u.name != "PRIMARY" { statements.append(index(u.name, u.columns, unique: true)) }
        for p in table.plainIndexes ?? [] { statements.append(index(p.name, p.columns, unique: false)) }
        return statements
    }

    /// A value of a column of `kind` as SQLite stores it (already checked and converted by the store's strict mode).
    static func stored(_ value: SQLValue, _ kind: ColumnKind) -> SQLValue {
        guard case .decimal(let p, let scale) = kind, p <= scaledDecimalDigits else { return value }
        switch value {
        case .decimal(let d, _):
            var scaled = Decimal(), input = d
            _ = NSDecimalMultiplyByPowerOf10(&scaled, &input, Int16(scale), .plain)
            var rounded = Decimal()
            NSDecimalRound(&rounded, &scaled, 0, .plain)
            return .int(NSDecimalNumber(decimal: rounded).int64Value)
        case .int(let i):
            let (v, overflow) = i.multipliedReportingOverflow(by: power(scale))
            return overflow ? value : .int(v)
        default: return value
        }
    }

    /// What `mysql_decimal(v, scale)` gives for a stored scaled integer: the DECIMAL it stands for.
    static func decimal(fromStored value: SQLValue, scale: Int) -> SQLValue {
        guard case .int(let i) = value else { return value }
        var input = Decimal(i), result = Decimal()
        _ = NSDecimalMultiplyByPowerOf10(&result, &input, Int16(-scale), .plain)
        return .decimal(result, scale: scale)
    }

    private static func power(_ n: Int) -> Int64 {
        var v: Int64 = 1
        for _ in 0..<min(max(0, n), 18) { v *= 10 }
        return v
    }

    /// How a column is read in SQL: DECIMAL columns through `mysql_decimal`, every other column as it is.
    static func read(_ columnSQL: String, _ kind: ColumnKind?) -> String {
        guard case .decimal(let p, let scale)? = kind, p <= scaledDecimalDigits else { return columnSQL }
        return "mysql_decimal(\(columnSQL), \(scale))"
    }
}
