/// Reads my.cnf: INI groups, `key = value` or a bare `key` (a boolean switched on), dashes and underscores alike,
/// `#` and `;` comments, and the `loose-` prefix. An option given twice keeps its last value, as in mysqld.
///
/// ```swift
/// let config = try MySQLConfigParser.parse("[mysqld]\nserver-id = 2\nread_only = ON\n", file: "web-02/my.cnf")
/// config.readOnly   // true
/// ```
///
/// Only `[mysqld]` (and `[server]`, which mysqld also reads) configures the store. `[client]`, `[mysql]` and the other
/// client programs' groups are accepted and skipped: they configure programs stacklab does not run (the learner's
/// own `mysql` client reads them on a real machine).
public enum MySQLConfigParser {
    public static func parse(_ text: String, file: String) throws -> MySQLConfig {
        var config = MySQLConfig()
        let text = ConfigText.unixLines(text)
        var group: String?
        var sawLogBin = false
        var semiSyncPlugins: Set<String> = []
        var semiSyncUses: [(key: String, line: Int, plugin: String)] = []
        var gtidLine = 0
        var enforceGTID = false
        // MySQL 8 names a bare log-bin's files after the host: the server's folder stands for the host name here.
        let host = file.split(separator: "/").dropLast().last.map(String.init) ?? "mysql"

        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = raw.trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            func fail(_ key: String, _ reason: String) -> ConfigError { ConfigError(file: file, line: number, directive: key, reason: reason) }
            if line.hasPrefix("!") {
                throw fail(String(line.split(separator: " ").first ?? ""), "!include and !includedir are not supported: keep the settings in this file")
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw fail(line, "a group name is written [mysqld]") }
                let name = String(line.dropFirst().dropLast()).trimmingSpaces.lowercased()
                if serverGroups.contains(name) || clientGroups.contains(name) {
                    group = name
                } else {
                    let hint = ConfigText.nearest(name, in: serverGroups + clientGroups).map { " — did you mean [\($0)]?" } ?? " (the store reads [mysqld])"
                    throw fail("[\(name)]", "unknown group" + hint)
                }
                continue
            }
            guard let group else { throw fail(line, "found option without preceding group: put it under [mysqld]") }
            guard serverGroups.contains(group) else { continue }   // a client program's group: not the store's business

            var key: String
            var value: String?
            if let eq = line.firstIndex(of: "=") {
                key = String(line[..<eq]).trimmingSpaces
                value = unquote(stripComment(String(line[line.index(after: eq)...])).trimmingSpaces)
            } else {
                key = stripComment(line).trimmingSpaces
            }
            let written = key
            key = key.replacingDashes.lowercased()
            if key.hasPrefix("loose_") { key = String(key.dropFirst("loose_".count)) }
            key = aliases[key] ?? key

            func boolean() throws -> Bool {
                guard let value else { return true }   // a bare key switches it on
                switch value.uppercased() {
                case "ON", "1", "TRUE": return true
                case "OFF", "0", "FALSE": return false
                default: throw fail(written, "\"\(value)\" is not ON or OFF")
                }
            }
            func required() throws -> String {
                guard let value, !value.isEmpty else { throw fail(written, "needs a value: \(written) = …") }
                return value
            }
            func integer(_ range: ClosedRange<Int>) throws -> Int {
                let text = try required()
                guard let n = Int(text), range.contains(n) else { throw fail(written, "\"\(text)\" must be a whole number from \(range.lowerBound) to \(range.upperBound)") }
                return n
            }
            // A byte count as mysqld reads one: digits with an optional K, M or G (1024, 1024², 1024³).
            func bytes(_ range: ClosedRange<Int>, example: String) throws -> Int {
                let text = try required()
                let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
                var digits = Substring(text)
                var unit = 1
                if let last = text.last, let u = units[Character(last.uppercased())] { digits = digits.dropLast(); unit = u }
                guard digits.allSatisfy(\.isNumber), let n = Int(digits), case let (value, false) = n.multipliedReportingOverflow(by: unit),
                      range.contains(value) else {
                    throw fail(written, "\"\(text)\" must be a size from 1K to 1G, e.g. \(written) = \(example)")
                }
                return value
            }

            switch key {
            case "server_id": config.serverID = try integer(0...4_294_967_295)
            case "bind_address":
                let address = try required()
                if address.contains(",") { throw fail(written, "stacklab's store listens on one address: bind-address = 127.0.1.11") }
                if address == "*" || address == ConfigText.everyAddress || address == "::" { config.bindAddress = ConfigText.everyAddress }
                else if address == "localhost" { config.bindAddress = "127.0.0.1" }
                else if ConfigText.isIPv4(address) { config.bindAddress = address }
                else { throw fail(written, "\"\(address)\" is not an IPv4 address, e.g. bind-address = 127.0.1.11") }
            case "port": config.port = try integer(1...65535)
            case "datadir": config.dataDirectory = try required()
            case "log_bin":
                sawLogBin = true
                let base = value ?? ""
                config.logBin = base.isEmpty ? "\(host)-bin" : base   // MySQL 8: log-bin without a name is host_name-bin
            case "skip_log_bin", "disable_log_bin":
                guard try boolean() else { continue }
                sawLogBin = true
                config.logBin = nil
            case "relay_log": config.relayLog = try required()
            case "read_only": config.readOnly = try boolean()
            case "super_read_only": config.superReadOnly = try boolean()
            case "gtid_mode":
                let mode = try required().uppercased()
                switch mode {
                case "ON": config.gtidMode = true
                case "OFF": config.gtidMode = false
                case "ON_PERMISSIVE", "OFF_PERMISSIVE": throw fail(written, "\(mode) is not supported by stacklab's store: ON or OFF")
                default: throw fail(written, "\"\(mode)\" is not a GTID mode: ON or OFF")
                }
                gtidLine = number
            case "enforce_gtid_consistency":
                if value?.uppercased() == "WARN" { throw fail(written, "WARN is not supported by stacklab's store: ON or OFF") }
                enforceGTID = try boolean()
            case "init_file": config.initFile = try required()
            case "rpl_semi_sync_source_enabled":
                config.semiSyncSourceEnabled = try boolean()
                semiSyncUses.append((written, number, "semisync_source.so"))
            case "rpl_semi_sync_source_timeout":
                config.semiSyncSourceTimeout = try integer(0...Int(UInt32.max))
                semiSyncUses.append((written, number, "semisync_source.so"))
            case "rpl_semi_sync_replica_enabled":
                config.semiSyncReplicaEnabled = try boolean()
                semiSyncUses.append((written, number, "semisync_replica.so"))
            case "plugin_load_add", "plugin_load":
                for plugin in try required().split(separator: ";") {
                    // "semisync_source.so" or "rpl_semi_sync_source=semisync_source.so"
                    let library = plugin.split(separator: "=").last.map { String($0).trimmingSpaces } ?? ""
                    guard let canonical = semiSyncLibraries[library] else {
                        throw fail(written, "stacklab's store loads only the semi-sync plugins (semisync_source.so, semisync_replica.so), not \"\(library)\"")
                    }
                    semiSyncPlugins.insert(canonical)
                }
            // The connection limits, with mysqld's ranges.
            case "max_connections": config.maxConnections = try integer(1...100_000)
            case "max_allowed_packet":
                // mysqld rounds down to its block size, 1024.
                config.maxAllowedPacket = try bytes(1024...1_073_741_824, example: "64M") / 1024 * 1024
            case "connect_timeout": config.connectTimeout = try integer(2...31_536_000)
            case "wait_timeout": config.waitTimeout = try integer(1...31_536_000)
            case "interactive_timeout": config.interactiveTimeout = try integer(1...31_536_000)
            case "skip_name_resolve":
                // Accepted: the store never looks up host names; accounts are matched by address, as with this option.
                _ = try boolean()
            default:
                throw fail(written, ConfigText.unknownReason(key, kind: "option", supported: supported, realButUnsupported: realOptions, tool: "mysqld"))
            }
        }
        // MySQL 8: binary logging is on by default, with files named binlog.000001, …
        if !sawLogBin { config.logBin = "binlog" }
        for use in semiSyncUses where !semiSyncPlugins.contains(use.plugin) {
            // mysqld refuses to start on an option whose plugin is not loaded ("unknown variable").
            throw ConfigError(file: file, line: use.line, directive: use.key, reason: "unknown variable until its plugin is loaded: add plugin-load-add = \(use.plugin)")
        }
        if config.gtidMode, !enforceGTID {
            throw ConfigError(file: file, line: gtidLine, directive: "gtid_mode", reason: "GTID_MODE = ON requires ENFORCE_GTID_CONSISTENCY = ON: add enforce_gtid_consistency = ON")
        }
        return config
    }

    static let serverGroups = ["mysqld", "server", "mysqld-8.0", "mysqld-8.4"]
    static let clientGroups = ["client", "mysql", "mysqldump", "mysqladmin", "mysqlcheck", "mysqlimport", "mysqlshow", "mysqld_safe",
                               "mysqlbinlog", "mysqlpump", "mysqlslap", "client-server", "mariadb-client", "mysql_upgrade"]

    /// MySQL 8.0's new names and the old ones mean the same setting.
    static let aliases = [
        "rpl_semi_sync_master_enabled": "rpl_semi_sync_source_enabled",
        "rpl_semi_sync_master_timeout": "rpl_semi_sync_source_timeout",
        "rpl_semi_sync_slave_enabled": "rpl_semi_sync_replica_enabled",
        "log_bin_basename": "log_bin",
    ]

    static let semiSyncLibraries = [
        "semisync_source.so": "semisync_source.so", "semisync_master.so": "semisync_source.so",
        "semisync_replica.so": "semisync_replica.so", "semisync_slave.so": "semisync_replica.so",
    ]

    static let supported = ["server_id", "bind_address", "port", "datadir", "log_bin", "skip_log_bin", "relay_log", "read_only",
                            "super_read_only", "gtid_mode", "enforce_gtid_consistency", "init_file", "rpl_semi_sync_source_enabled",
                            "rpl_semi_sync_source_timeout", "rpl_semi_sync_replica_enabled", "plugin_load_add", "skip_name_resolve",
                            "max_connections", "max_allowed_packet", "connect_timeout", "wait_timeout", "interactive_timeout"]

    /// Real mysqld options outside the subset: named plainly rather than guessed at as typos.
    static let realOptions: Set<String> = [
        "innodb_buffer_pool_size", "character_set_server", "collation_server", "sql_mode",
        "default_authentication_plugin", "socket", "pid_file", "log_error", "slow_query_log", "slow_query_log_file", "long_query_time",
        "general_log", "general_log_file", "binlog_format", "sync_binlog", "expire_logs_days", "binlog_expire_logs_seconds",
        "innodb_flush_log_at_trx_commit", "user", "basedir", "tmpdir", "lc_messages_dir", "symbolic_links", "key_buffer_size",
        "thread_stack", "thread_cache_size", "query_cache_size", "log_slave_updates", "log_replica_updates",
        "replicate_do_db", "replicate_ignore_db", "skip_replica_start", "skip_slave_start", "relay_log_recovery", "binlog_do_db",
        "binlog_ignore_db", "default_storage_engine", "mysqlx", "report_host", "report_port", "innodb_log_file_size", "table_open_cache",
        "open_files_limit", "skip_networking", "local_infile", "secure_file_priv",
        "explicit_defaults_for_timestamp", "default_time_zone", "lower_case_table_names", "rpl_semi_sync_source_wait_point",
        "rpl_semi_sync_master_wait_point", "rpl_semi_sync_source_wait_for_replica_count", "replica_parallel_workers",
        "slave_parallel_workers", "relay_log_index", "log_bin_index", "binlog_row_image", "server_uuid", "auto_increment_increment",
        "auto_increment_offset", "ssl_ca", "ssl_cert", "ssl_key", "require_secure_transport", "tls_version",
    ]

    static func stripComment(_ value: String) -> String {
        var quote: Character?
        var result = ""
        for c in value {
            if let q = quote { if c == q { quote = nil } }
            else if c == "#" { break }
            else if c == "\"" || c == "'" { quote = c }
            result.append(c)
        }
        return result
    }

    static func unquote(_ value: String) -> String {
        if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
            return String(value.dropFirst().dropLast())
        }
        return value
    }
}

extension String {
    var replacingDashes: String { String(map { $0 == "-" ? "_" : $0 }) }
}
