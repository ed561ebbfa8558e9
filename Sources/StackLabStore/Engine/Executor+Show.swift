extension ExecutionContext {
    mutating func show(_ kind: ShowKind, session: Session) throws -> StoreResult {
        switch kind {
        case .databases(let like):
            var names = Catalog.systemDatabases.filter { $0 == "information_schema" || session.isSuper }
            names += catalog.databases.keys.filter { session.account.hasAny(on: $0) }
            names.sort()
            if let like { names = names.filter { Like.matches($0, pattern: like) } }
            let header = like.map { "Database (\($0))" } ?? "Database"
            return StoreResult(columns: [.text(header)], rows: names.map { [$0] })
        case .tables(let dbOpt, let full, let like):
            guard let db = dbOpt ?? session.database else { throw StoreError.noDatabaseSelected() }
            guard let database = catalog.databases[db] else {
                if Catalog.systemDatabases.contains(db.lowercased()) { return StoreResult(columns: [.text("Tables_in_\(db)")], rows: []) }
                throw StoreError.unknownDatabase(db)
            }
            var names = database.tables.keys.sorted()
            if let like { names = names.filter { Like.matches($0, pattern: like) } }
            var cols: [StoreColumn] = [.text("Tables_in_\(db)" + (like.map { " (\($0))" } ?? ""))]
            if full { cols.append(.text("Table_type")) }
            return StoreResult(columns: cols, rows: names.map { full ? [$0, "BASE TABLE"] : [$0] })
        case .columns(let t, let full):
            let (_, table) = try self.table(t, session, privilege: "SELECT")
            var cols: [StoreColumn] = [.text("Field"), .text("Type"), .text("Null", chars: 3), .text("Key", chars: 3), .text("Default", notNull: false), .text("Extra")]
            if full { cols.insert(.text("Collation", notNull: false), at: 2); cols += [.text("Privileges"), .text("Comment")] }
            let rows: [[String?]] = table.columns.enumerated().map { i, c in
                let key = c.primaryKey ? "PRI" : (table.indexes.contains { $0.columns.first == i && $0.name != "PRIMARY" } ? "UNI"
                    : ((table.plainIndexes ?? []).contains { $0.columns.first == i } ? "MUL" : ""))
                let def: String? = c.defaultIsNow ? "CURRENT_TIMESTAMP" : c.defaultValue?.text
                let extra = c.autoIncrement ? "auto_increment" : (c.defaultIsNow ? "DEFAULT_GENERATED" : "")
                var r: [String?] = [c.name, c.kind.sqlName, c.notNull ? "NO" : "YES", key, def, extra]
                if full {
                    r.insert(([.text].contains(c.kind) || { if case .varchar = c.kind { return true }; if case .char = c.kind { return true }; return false }()) ? "utf8mb4_0900_ai_ci" : nil, at: 2)
                    r += ["select,insert,update,references", ""]
                }
                return r
            }
            return StoreResult(columns: cols, rows: rows)
        case .indexes(let t):
            // MySQL 8's fifteen columns; every index here is a unique BTREE (PRIMARY KEY and UNIQUE).
            let (db, table) = try self.table(t, session, privilege: "SELECT")
            let cardinality = String(storedRowCount(db, table.name))
            let cols: [StoreColumn] = [.text("Table"), .number("Non_unique"), .text("Key_name", notNull: false), .number("Seq_in_index"),
                                       .text("Column_name", notNull: false), .text("Collation", notNull: false), .number("Cardinality", notNull: false),
                                       .number("Sub_part", notNull: false), .text("Packed", notNull: false), .text("Null"), .text("Index_type"),
                                       .text("Comment"), .text("Index_comment"), .text("Visible"), .text("Expression", notNull: false)]
            var rows: [[String?]] = []
            let all = table.indexes.map { ($0.name, $0.columns, "0") } + (table.plainIndexes ?? []).map { ($0.name, $0.columns, "1") }
            for index in all {
                for (seq, c) in index.1.enumerated() where c < table.columns.count {
                    let column = table.columns[c]
                    rows.append([table.name, index.2, index.0, String(seq + 1), column.name, "A", cardinality, nil, nil,
                                 column.notNull ? "" : "YES", "BTREE", "", "", "YES", nil])
                }
            }
            return StoreResult(columns: cols, rows: rows)
        case .createTable(let t):
            let (_, table) = try self.table(t, session, privilege: "SELECT")
            return StoreResult(columns: [.text("Table"), .text("Create Table", chars: 1024)], rows: [[table.name, Self.createTableText(table)]])
        case .createDatabase(let name):
            guard catalog.databases[name] != nil else { throw StoreError.unknownDatabase(name) }
            return StoreResult(columns: [.text("Database"), .text("Create Database", chars: 1024)], rows: [[name, "CREATE DATABASE `\(name)` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */"]])
        case .variables(let like):
            var rows: [[String?]] = []
            for name in SystemVariables.names where like.map({ Like.matches(name, pattern: $0) }) ?? true {
                guard let v = SystemVariables.value(name, engine: engine, state: state, session: session) else { continue }
                var text = v.text ?? ""
                if ["read_only", "super_read_only", "log_bin", "log_replica_updates", "rpl_semi_sync_source_enabled", "autocommit"].contains(name) {
                    text = text == "1" ? "ON" : "OFF"
                }
                rows.append([name, text])
            }
            return StoreResult(columns: [.text("Variable_name"), .text("Value", chars: 1024)], rows: rows)
        case .warnings, .errors:
            let list = kind == .errors ? session.lastWarnings.filter { $0.level == "Error" } : session.lastWarnings
            return StoreResult(columns: [.text("Level", chars: 7), StoreColumn(name: "Code", type: .long, length: 4, flags: ColumnFlag.notNull | ColumnFlag.unsigned), .text("Message", chars: 512)],
                               rows: list.map { [$0.level, String($0.code), $0.message] })
        case .binaryLogStatus:
            try requireSuper(session, "SUPER, REPLICATION CLIENT")
            let cols: [StoreColumn] = [.text("File"), .number("Position"), .text("Binlog_Do_DB"), .text("Binlog_Ignore_DB"), .text("Executed_Gtid_Set", chars: 1024)]
            guard let binlog = engine.binlog else { return StoreResult(columns: cols, rows: []) }
            let s = binlog.status
            return StoreResult(columns: cols, rows: [[s.file, String(s.position), "", "", settings.gtidMode ? state.gtidExecuted.description : ""]])
        case .binaryLogs:
            try requireSuper(session, "SUPER, REPLICATION CLIENT")
            guard let binlog = engine.binlog else {
                throw StoreError(code: 1381, sqlState: "HY000", message: "You are not using binary logging")
            }
            return StoreResult(columns: [.text("Log_name"), .number("File_size"), .text("Encrypted", chars: 3)],
                               rows: binlog.fileList.map { [$0.name, String($0.size), "No"] })
        case .grants(let spec):
            let name = spec?.name ?? session.account.name
            let host = spec?.host ?? session.account.host
            guard let acct = catalog.accounts.first(where: { $0.name == name && $0.host.lowercased() == host.lowercased() }) ?? (spec == nil ? session.account : nil) else {
                throw StoreError(code: 1141, sqlState: "42000", message: "There is no such grant defined for user '\(name)' on host '\(host)'")
            }
            var lines = [acct.isSuper ? "GRANT ALL PRIVILEGES ON *.* TO `\(name)`@`\(host)` WITH GRANT OPTION" : "GRANT USAGE ON *.* TO `\(name)`@`\(host)`"]
            for g in acct.grants {
                let privs = g.privileges.contains("ALL") ? "ALL PRIVILEGES" : g.privileges.sorted().joined(separator: ", ")
                let on = g.database == "*" ? "*.*" : "`\(g.database)`.\(g.table == "*" ? "*" : "`\(g.table)`")"
                lines.append("GRANT \(privs) ON \(on) TO `\(name)`@`\(host)`")
            }
            return StoreResult(columns: [.text("Grants for \(name)@\(host)", chars: 1024)], rows: lines.map { [$0] })
        case .engines:
            return StoreResult(columns: [.text("Engine"), .text("Support", chars: 8), .text("Comment", chars: 80), .text("Transactions", chars: 3, notNull: false), .text("XA", chars: 3, notNull: false), .text("Savepoints", chars: 3, notNull: false)],
                               rows: [["InnoDB", "DEFAULT", "Supports transactions, row-level locking, and foreign keys", "YES", "YES", "YES"]])
        case .charset:
            return StoreResult(columns: [.text("Charset", chars: 32), .text("Description", chars: 2048), .text("Default collation", chars: 64), .number("Maxlen", length: 3)],
                               rows: [["utf8mb4", "UTF-8 Unicode", "utf8mb4_0900_ai_ci", "4"]])
        case .collation:
            return StoreResult(columns: [.text("Collation"), .text("Charset"), .number("Id"), .text("Default"), .text("Compiled"), .number("Sortlen"), .text("Pad_attribute")],
                               rows: [["utf8mb4_0900_ai_ci", "utf8mb4", "255", "Yes", "Yes", "0", "NO PAD"]])
        case .status, .replicaStatus, .replicas, .processlist:
            throw StoreError.notSupported("SHOW outside the store")
        }
    }

    static func createTableText(_ t: Table) -> String {
        var lines: [String] = []
        for c in t.columns {
            var s = "  `\(c.name)` \(c.kind.sqlName)"
            if c.notNull { s += " NOT NULL" }
            if c.autoIncrement { s += " AUTO_INCREMENT" } else if c.defaultIsNow { s += " DEFAULT CURRENT_TIMESTAMP" } else if let d = c.defaultValue {
                if case .int(let i) = d { s += " DEFAULT '\(i)'" } else { s += " DEFAULT '\(d.text ?? "")'" }
            } else if !c.notNull && c.kind != .text { s += " DEFAULT NULL" }
            lines.append(s)
        }
        for idx in t.indexes {
            let cols = idx.columns.filter { $0 < t.columns.count }.map { "`\(t.columns[$0].name)`" }.joined(separator: ",")
            lines.append(idx.name == "PRIMARY" ? "  PRIMARY KEY (\(cols))" : "  UNIQUE KEY `\(idx.name)` (\(cols))")
        }
        for idx in t.plainIndexes ?? [] {
            lines.append("  KEY `\(idx.name)` (" + idx.columns.filter { $0 < t.columns.count }.map { "`\(t.columns[$0].name)`" }.joined(separator: ",") + ")")
        }
        let auto = t.autoIncrementColumn != nil && t.autoIncrement > 1 ? " AUTO_INCREMENT=\(t.autoIncrement)" : ""
        return "CREATE TABLE `\(t.name)` (\n" + lines.joined(separator: ",\n") + "\n) ENGINE=InnoDB\(auto) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"
    }

    static let globalOnly: Set<String> = ["read_only", "super_read_only", "rpl_semi_sync_source_enabled", "rpl_semi_sync_source_timeout",
                                          "rpl_semi_sync_master_enabled", "rpl_semi_sync_master_timeout", "server_id", "gtid_mode",
                                          "replica_net_timeout", "slave_net_timeout", "max_connections", "connect_timeout"]
    /// Global, and read-only for a session (MySQL 8: ER_VARIABLE_IS_READONLY on SET SESSION).
    static let readOnlyForSession: Set<String> = ["max_allowed_packet"]
    static let sessionSettable: Set<String> = [
        "autocommit", "sql_mode", "time_zone", "names", "character_set_client", "character_set_results",
        "character_set_connection", "collation_connection", "transaction_isolation", "tx_isolation",
        "session_track_schema", "session_track_system_variables", "session_track_state_change", "session_track_gtids",
        "session_track_transaction_info", "net_write_timeout", "net_read_timeout", "wait_timeout", "interactive_timeout",
        "sql_select_limit", "foreign_key_checks", "unique_checks", "sql_log_bin", "sql_safe_updates", "max_execution_time",
        "transaction_read_only", "tx_read_only", "group_concat_max_len", "sql_auto_is_null", "sql_notes",
        "sql_quote_show_create", "innodb_lock_wait_timeout", "lock_wait_timeout", "timestamp", "insert_id",
        "last_insert_id", "profiling", "sql_big_selects", "character_set_server", "collation_server",
        "default_storage_engine", "big_tables", "sql_warnings", "pseudo_thread_id", "explicit_defaults_for_timestamp",
        "transaction_write_set_extraction", "rpl_semi_sync_replica_enabled", "rpl_semi_sync_slave_enabled",
    ]

    mutating func set(_ assignments: [(global: Bool, name: String, value: Expr)], session: inout Session) throws -> StoreResult {
        var warnings: [StoreWarning] = []
        for a in assignments {
            let ev = evaluator(nil, session, clause: "field list")
            if a.name.hasPrefix("@") {
                session.userVariables[String(a.name.dropFirst())] = try ev.eval(a.value, row: nil)
                continue
            }
            let raw = try ev.eval(a.value, row: nil)
            if a.global || Self.globalOnly.contains(a.name) || Self.readOnlyForSession.contains(a.name) {
                guard Self.globalOnly.contains(a.name) || Self.sessionSettable.contains(a.name) || Self.readOnlyForSession.contains(a.name) else {
                    throw StoreError.unknownSystemVariable(a.name)
                }
                if !a.global, Self.readOnlyForSession.contains(a.name) {
                    throw StoreError(code: 1621, sqlState: "HY000", message: "SESSION variable '\(a.name)' is read-only. Use SET GLOBAL to assign the value")
                }
                if !a.global { throw StoreError.globalVariable(a.name) }
                try requireSuper(session, "SUPER or SYSTEM_VARIABLES_ADMIN")
                if let w = try setGlobal(a.name, raw) { warnings.append(w) }
            } else if !Self.sessionSettable.contains(a.name) {
                throw StoreError.unknownSystemVariable(a.name)
            } else if a.name == "autocommit" {
                session.autocommit = try Self.boolean(a.name, raw)
            } else if a.name == "innodb_lock_wait_timeout" {
                let (seconds, warning) = try Self.bounded(a.name, raw, 1...1_073_741_824)
                session.lockWaitTimeout = seconds
                if let warning { warnings.append(warning) }
            } else if a.name == "wait_timeout", let limit = Self.connectionLimits[a.name] {
                let (seconds, warning) = try Self.bounded(a.name, raw, limit.range)
                session.waitTimeout = seconds
                if let warning { warnings.append(warning) }
            }
        }
        var r = StoreResult(affectedRows: 0)
        r.warningList = warnings
        return r
    }

    /// A numeric variable out of its range is set to the nearest bound with warning 1292, as mysqld does.
    static func bounded(_ name: String, _ v: SQLValue, _ range: ClosedRange<Int>) throws -> (Int, StoreWarning?) {
        guard case .int(let n) = v else { throw StoreError(code: 1232, sqlState: "42000", message: "Incorrect argument type to variable '\(name)'") }
        let clamped = Int(min(max(n, Int64(range.lowerBound)), Int64(range.upperBound)))
        guard Int64(clamped) != n else { return (clamped, nil) }
        return (clamped, StoreWarning(level: "Warning", code: 1292, message: "Truncated incorrect \(name) value: '\(n)'"))
    }

    private static func boolean(_ name: String, _ v: SQLValue) throws -> Bool {
        switch v {
        case .int(let i) where i == 0 || i == 1: return i == 1
        case .string(let s):
            switch s.uppercased() {
            case "ON", "TRUE", "1": return true
            case "OFF", "FALSE", "0": return false
            default: throw StoreError.wrongValue(name, s)
            }
        default: throw StoreError.wrongValue(name, v.text ?? "NULL")
        }
    }

    /// The connection limits: mysqld's range for each, and where the server keeps it.
    static let connectionLimits: [String: (range: ClosedRange<Int>, variable: any WritableKeyPath<ServerVariables, Int> & Sendable)] = [
        "max_connections": (1...100_000, \.maxConnections),
        "connect_timeout": (2...31_536_000, \.connectTimeout),
        "wait_timeout": (1...31_536_000, \.waitTimeout),
        "interactive_timeout": (1...31_536_000, \.interactiveTimeout),
    ]

    private mutating func setGlobal(_ name: String, _ v: SQLValue) throws -> StoreWarning? {
        if let limit = Self.connectionLimits[name] {
            let (n, w) = try Self.bounded(name, v, limit.range)
            state.variables[keyPath: limit.variable] = n
            return w
        }
        switch name {
        case "max_allowed_packet":
            // A multiple of 1024 (the block size), from 1 KB to 1 GB; new connections get it.
            let (n, w) = try Self.bounded(name, v, 1024...1_073_741_824)
            state.variables.maxAllowedPacket = n / 1024 * 1024
            return w ?? (n % 1024 == 0 ? nil : StoreWarning(level: "Warning", code: 1292, message: "Truncated incorrect max_allowed_packet value: '\(n)'"))
        case "innodb_lock_wait_timeout":
            let (n, w) = try Self.bounded(name, v, 1...1_073_741_824)
            state.variables.lockWaitTimeout = n
            return w
        case "read_only":
            let on = try Self.boolean(name, v)
            state.variables.readOnly = on
            if !on { state.variables.superReadOnly = false }  // read_only=OFF clears super_read_only
        case "super_read_only":
            let on = try Self.boolean(name, v)
            state.variables.superReadOnly = on
            if on { state.variables.readOnly = true }  // super_read_only=ON implies read_only
        case "rpl_semi_sync_source_enabled", "rpl_semi_sync_master_enabled":
            state.variables.semiSyncSourceEnabled = try Self.boolean(name, v)
        case "rpl_semi_sync_source_timeout", "rpl_semi_sync_master_timeout":
            guard case .int(let ms) = v, ms >= 0 else { throw StoreError(code: 1232, sqlState: "42000", message: "Incorrect argument type to variable '\(name)'") }
            // MySQL's maximum; larger values are truncated to it.
            state.variables.semiSyncSourceTimeout = Int(min(ms, 4_294_967_295))
        case "replica_net_timeout", "slave_net_timeout":
            guard case .int(let n) = v, n >= 1 else { throw StoreError.wrongValue(name, v.text ?? "NULL") }
            state.variables.replicaNetTimeout = Int(min(n, 31_536_000))
        case "server_id", "gtid_mode":
            throw StoreError(code: 1238, sqlState: "HY000", message: "Variable '\(name)' is a read only variable")
        default:
            break  // accepted session-style globals (sql_mode …) change nothing in the miniature
        }
        return nil
    }
}
