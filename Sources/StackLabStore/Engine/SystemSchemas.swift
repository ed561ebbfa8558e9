import Foundation

/// information_schema's SCHEMATA, TABLES, COLUMNS and STATISTICS and mysql.user, made from the catalog when a
/// statement reads them, so SELECT with WHERE, GROUP BY and ORDER BY works on them like on any table.
extension ExecutionContext {
    /// The system table `db.name` for `session`, or nil when `db` is not a system schema.
    func systemTable(_ db: String, _ name: String, session: Session, privilege: String) throws -> Table? {
        let schema = db.lowercased()
        guard schema == "information_schema" || schema == "mysql" else { return nil }
        if schema == "information_schema" {
            // Nobody writes information_schema (mysqld: ER_DBACCESS_DENIED_ERROR, even for root).
            guard privilege == "SELECT" else { throw StoreError.databaseDenied(user: session.user, host: session.host, db: db) }
            switch name.uppercased() {
            case "SCHEMATA": return schemata(session)
            case "TABLES": return tables(session)
            case "COLUMNS": return columns(session)
            case "STATISTICS": return statistics(session)
            default: throw StoreError.notSupported("information_schema.\(name.uppercased())")
            }
        }
        guard name.lowercased() == "user" else {
            throw StoreError.notSupported("mysql.\(name)")
        }
        if session.replay == nil, !session.isSuper {
            throw StoreError.commandDenied(privilege, user: session.user, host: session.host, table: name)
        }
        guard privilege == "SELECT" else { throw StoreError.notSupported("changing mysql.user directly (CREATE USER, ALTER USER and GRANT do)") }
        return users()
    }

    private static func table(_ name: String, _ columns: [(String, ColumnKind)], _ rows: [[SQLValue]]) -> Table {
        var t = Table(name: name, columns: columns.map {
            Column(name: $0.0, kind: $0.1, notNull: false, defaultValue: nil, autoIncrement: false, primaryKey: false, unique: false)
        })
        t.rows = rows
        return t
    }

    private static func text(_ s: String?) -> SQLValue { s.map { .string($0) } ?? .null }
    private static func int(_ n: Int?) -> SQLValue { n.map { .int(Int64($0)) } ?? .null }

    /// The databases a session may see, system schemas first as MySQL lists them.
    private func visibleDatabases(_ session: Session) -> [Database] {
        catalog.databases.values.filter { session.replay != nil || session.account.hasAny(on: $0.name) }.sorted { $0.name < $1.name }
    }

    private func schemata(_ session: Session) -> Table {
        var names = ["information_schema"]
        if session.isSuper { names += ["mysql", "performance_schema", "sys"] }
        names += visibleDatabases(session).map(\.name)
        return Self.table("SCHEMATA", [("CATALOG_NAME", .varchar(64)), ("SCHEMA_NAME", .varchar(64)), ("DEFAULT_CHARACTER_SET_NAME", .varchar(64)),
                                       ("DEFAULT_COLLATION_NAME", .varchar(64)), ("SQL_PATH", .varchar(512)), ("DEFAULT_ENCRYPTION", .varchar(3))],
                          names.map { [.string("def"), .string($0), .string("utf8mb4"), .string("utf8mb4_0900_ai_ci"), .null, .string("NO")] })
    }

    private func tables(_ session: Session) -> Table {
        var rows: [[SQLValue]] = []
        for db in visibleDatabases(session) {
            for t in db.tables.values.sorted(by: { $0.name < $1.name }) {
                let auto: SQLValue = t.autoIncrementColumn == nil ? .null : .int(t.autoIncrement)
                rows.append([.string("def"), .string(db.name), .string(t.name), .string("BASE TABLE"), .string("InnoDB"), .int(10),
                             .string("Dynamic"), .int(storedRowCount(db.name, t.name)), .int(0), .int(16384), .int(0), .int(0), .int(0), auto,
                             .null, .null, .null, .string("utf8mb4_0900_ai_ci"), .null, .string(""), .string("")])
            }
        }
        let names = ["TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE", "ENGINE", "VERSION", "ROW_FORMAT", "TABLE_ROWS",
                     "AVG_ROW_LENGTH", "DATA_LENGTH", "MAX_DATA_LENGTH", "INDEX_LENGTH", "DATA_FREE", "AUTO_INCREMENT", "CREATE_TIME",
                     "UPDATE_TIME", "CHECK_TIME", "TABLE_COLLATION", "CHECKSUM", "CREATE_OPTIONS", "TABLE_COMMENT"]
        let numeric: Set<String> = ["VERSION", "TABLE_ROWS", "AVG_ROW_LENGTH", "DATA_LENGTH", "MAX_DATA_LENGTH", "INDEX_LENGTH", "DATA_FREE",
                                    "AUTO_INCREMENT", "CHECKSUM"]
        return Self.table("TABLES", names.map { ($0, numeric.contains($0) ? .bigint : .varchar(64)) }, rows)
    }

    /// What information_schema.COLUMNS says of a column's type: DATA_TYPE, the character and numeric lengths.
    private static func typeFacts(_ kind: ColumnKind) -> (dataType: String, chars: Int?, octets: Int?, precision: Int?, scale: Int?, datetime: Int?) {
        switch kind {
        case .varchar(let n): return ("varchar", n, n * 4, nil, nil, nil)
        case .char(let n): return ("char", n, n * 4, nil, nil, nil)
        case .text: return ("text", 65535, 65535, nil, nil, nil)
        case .int, .intUnsigned: return ("int", nil, nil, 10, 0, nil)
        case .bigint: return ("bigint", nil, nil, 19, 0, nil)
        case .bigintUnsigned: return ("bigint", nil, nil, 20, 0, nil)
        case .tinyint, .tinyintUnsigned: return ("tinyint", nil, nil, 3, 0, nil)
        case .smallint, .smallintUnsigned: return ("smallint", nil, nil, 5, 0, nil)
        case .decimal(let p, let s): return ("decimal", nil, nil, p, s, nil)
        case .double: return ("double", nil, nil, 22, nil, nil)
        case .datetime: return ("datetime", nil, nil, nil, nil, 0)
        case .timestamp: return ("timestamp", nil, nil, nil, nil, 0)
        case .date: return ("date", nil, nil, nil, nil, nil)
        }
    }

    private func columns(_ session: Session) -> Table {
        var rows: [[SQLValue]] = []
        for db in visibleDatabases(session) {
            for t in db.tables.values.sorted(by: { $0.name < $1.name }) {
                for (i, c) in t.columns.enumerated() {
                    let f = Self.typeFacts(c.kind)
                    let isText = f.chars != nil
                    let key = c.primaryKey ? "PRI" : (t.indexes.contains { $0.columns.first == i && $0.name != "PRIMARY" } ? "UNI"
                        : ((t.plainIndexes ?? []).contains { $0.columns.first == i } ? "MUL" : ""))
                    let extra = c.autoIncrement ? "auto_increment" : (c.defaultIsNow ? "DEFAULT_GENERATED" : "")
                    let def: SQLValue = c.defaultIsNow ? .string("CURRENT_TIMESTAMP") : Self.text(c.defaultValue?.text)
                    rows.append([.string("def"), .string(db.name), .string(t.name), .string(c.name), .int(Int64(i + 1)), def,
                                 .string(c.notNull ? "NO" : "YES"), .string(f.dataType), Self.int(f.chars), Self.int(f.octets),
                                 Self.int(f.precision), Self.int(f.scale), Self.int(f.datetime),
                                 isText ? .string("utf8mb4") : .null, isText ? .string("utf8mb4_0900_ai_ci") : .null,
                                 .string(c.kind.sqlName), .string(key), .string(extra), .string("select,insert,update,references"),
                                 .string(""), .string(""), .null])
                }
            }
        }
        let names = ["TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "ORDINAL_POSITION", "COLUMN_DEFAULT", "IS_NULLABLE",
                     "DATA_TYPE", "CHARACTER_MAXIMUM_LENGTH", "CHARACTER_OCTET_LENGTH", "NUMERIC_PRECISION", "NUMERIC_SCALE",
                     "DATETIME_PRECISION", "CHARACTER_SET_NAME", "COLLATION_NAME", "COLUMN_TYPE", "COLUMN_KEY", "EXTRA", "PRIVILEGES",
                     "COLUMN_COMMENT", "GENERATION_EXPRESSION", "SRS_ID"]
        let numeric: Set<String> = ["ORDINAL_POSITION", "CHARACTER_MAXIMUM_LENGTH", "CHARACTER_OCTET_LENGTH", "NUMERIC_PRECISION",
                                    "NUMERIC_SCALE", "DATETIME_PRECISION", "SRS_ID"]
        return Self.table("COLUMNS", names.map { ($0, numeric.contains($0) ? .bigint : ($0 == "COLUMN_DEFAULT" || $0 == "COLUMN_TYPE" ? .text : .varchar(64))) }, rows)
    }

    private func statistics(_ session: Session) -> Table {
        var rows: [[SQLValue]] = []
        for db in visibleDatabases(session) {
            for t in db.tables.values.sorted(by: { $0.name < $1.name }) {
                let all = t.indexes.map { ($0.name, $0.columns, Int64(0)) } + (t.plainIndexes ?? []).map { ($0.name, $0.columns, Int64(1)) }
                for index in all {
                    for (seq, c) in index.1.enumerated() where c < t.columns.count {
                        rows.append([.string("def"), .string(db.name), .string(t.name), .int(index.2), .string(db.name), .string(index.0),
                                     .int(Int64(seq + 1)), .string(t.columns[c].name), .string("A"), .int(storedRowCount(db.name, t.name)), .null, .null,
                                     .string(t.columns[c].notNull ? "" : "YES"), .string("BTREE"), .string(""), .string(""), .string("YES"), .null])
                    }
                }
            }
        }
        let names = ["TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "NON_UNIQUE", "INDEX_SCHEMA", "INDEX_NAME", "SEQ_IN_INDEX", "COLUMN_NAME",
                     "COLLATION", "CARDINALITY", "SUB_PART", "PACKED", "NULLABLE", "INDEX_TYPE", "COMMENT", "INDEX_COMMENT", "IS_VISIBLE",
                     "EXPRESSION"]
        let numeric: Set<String> = ["NON_UNIQUE", "SEQ_IN_INDEX", "CARDINALITY", "SUB_PART"]
        return Self.table("STATISTICS", names.map { ($0, numeric.contains($0) ? .bigint : .varchar(64)) }, rows)
    }

    /// mysql.user: who may log in from where, with which plugin and hash (MySQL's first columns and the account
    /// ones; the miniature's accounts use mysql_native_password).
    private func users() -> Table {
        let rows: [[SQLValue]] = catalog.accounts.sorted { ($0.host, $0.name) < ($1.host, $1.name) }.map { a in
            let all = a.isSuper ? "Y" : "N"
            let granted = { (p: String) -> SQLValue in .string(a.isSuper || a.grants.contains { $0.database == "*" && ($0.privileges.contains(p) || $0.privileges.contains("ALL")) } ? "Y" : "N") }
            return [.string(a.host), .string(a.name), granted("SELECT"), granted("INSERT"), granted("UPDATE"), granted("DELETE"),
                    granted("CREATE"), granted("DROP"), .string(all), granted("REPLICATION SLAVE"), .string("mysql_native_password"),
                    .string(Self.nativeHash(a.password)), .string("N"), .string("N")]
        }
        return Self.table("user", [("Host", .char(255)), ("User", .char(32)), ("Select_priv", .char(1)), ("Insert_priv", .char(1)),
                                   ("Update_priv", .char(1)), ("Delete_priv", .char(1)), ("Create_priv", .char(1)), ("Drop_priv", .char(1)),
                                   ("Super_priv", .char(1)), ("Repl_slave_priv", .char(1)), ("plugin", .char(64)),
                                   ("authentication_string", .text), ("password_expired", .char(1)), ("account_locked", .char(1))], rows)
    }

    /// mysql_native_password's stored form: '*' and SHA1(SHA1(password)) in upper-case hex; empty for no password.
    static func nativeHash(_ password: String) -> String {
        guard !password.isEmpty else { return "" }
        let twice = SHA1.hash(SHA1.hash(Array(password.utf8)))
        return "*" + twice.map { String(format: "%02X", $0) }.joined()
    }
}
