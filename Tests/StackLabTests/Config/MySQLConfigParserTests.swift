import Testing
@testable import StackLab

@Suite struct MySQLConfigParserTests {
    let file = "web-02/my.cnf"

    func parse(_ text: String) throws -> MySQLConfig { try MySQLConfigParser.parse(text, file: file) }

    @Test func builtInPrimaryAndReplicaParse() throws {
        let primary = try MySQLConfigParser.parse(try builtInFile("web-01/my.cnf"), file: "web-01/my.cnf")
        #expect(primary.serverID == 1)
        #expect(primary.bindAddress == "127.0.1.11")
        #expect(primary.port == 3306)
        #expect(primary.logBin == "mysql-bin")
        #expect(primary.gtidMode)
        #expect(!primary.readOnly)
        #expect(primary.initFile == "init.sql")
        let replica = try parse(try builtInFile("web-02/my.cnf"))
        #expect(replica.serverID == 2)
        #expect(replica.readOnly && replica.superReadOnly)
        #expect(replica.relayLog == "relay-bin")
        #expect(replica.dataDirectory == "data")
    }

    @Test func defaultsFollowMySQL8() throws {
        let config = try parse("[mysqld]\n")
        #expect(config.serverID == 1)
        #expect(config.port == 3306)
        #expect(config.logBin == "binlog")   // MySQL 8 logs binary by default, base name "binlog"
        #expect(config.semiSyncSourceTimeout == 10_000)
        #expect(!config.readOnly && !config.gtidMode)
    }

    @Test func bareLogBinIsNamedAfterTheHost() throws {
        #expect(try parse("[mysqld]\nlog-bin\n").logBin == "web-02-bin")
        #expect(try parse("[mysqld]\nskip-log-bin\n").logBin == nil)
    }

    @Test func dashesAndUnderscoresAreTheSameAndBareKeysAreOn() throws {
        let config = try parse("""
            [mysqld]
            server_id = 7
            bind_address = 127.0.1.12
            read-only
            super-read-only = 1
            skip-name-resolve
            """)
        #expect(config.serverID == 7 && config.bindAddress == "127.0.1.12")
        #expect(config.readOnly && config.superReadOnly)
    }

    @Test(arguments: ["ON", "on", "1", "TRUE", "true"])
    func booleanOnSpellings(value: String) throws {
        #expect(try parse("[mysqld]\nread_only = \(value)").readOnly)
    }

    @Test(arguments: ["OFF", "0", "FALSE"])
    func booleanOffSpellings(value: String) throws {
        #expect(try !parse("[mysqld]\nread_only = \(value)").readOnly)
    }

    @Test func semiSyncParsesInBothSpellingsWithItsPlugins() throws {
        let source = try parse("""
            [mysqld]
            plugin-load-add = semisync_source.so
            rpl_semi_sync_source_enabled = ON
            rpl_semi_sync_source_timeout = 2000
            """)
        #expect(source.semiSyncSourceEnabled && source.semiSyncSourceTimeout == 2000)
        let old = try parse("""
            [mysqld]
            plugin-load-add = "rpl_semi_sync_master=semisync_master.so;rpl_semi_sync_slave=semisync_slave.so"
            loose-rpl_semi_sync_master_enabled = 1
            rpl_semi_sync_slave_enabled = 1
            """)
        #expect(old.semiSyncSourceEnabled && old.semiSyncReplicaEnabled)
    }

    @Test func semiSyncWithoutItsPluginIsMySQLsUnknownVariable() throws {
        let error = configError { _ = try parse("[mysqld]\nrpl_semi_sync_source_enabled = ON\n") }
        #expect(error?.line == 2)
        #expect(error?.reason.contains("plugin-load-add = semisync_source.so") == true)
    }

    @Test func otherGroupsAreSkippedAndCommentsIgnored() throws {
        let config = try parse("""
            # the store
            [client]
            port = 3307
            user = whoever
            [mysql]
            prompt = "\\u> "
            [mysqld]
            ; a comment
            port = 3308   # trailing comment
            """)
        #expect(config.port == 3308)
    }

    @Test func gtidModeOnNeedsEnforceGTIDConsistency() throws {
        let error = configError { _ = try parse("[mysqld]\n\ngtid_mode = ON\n") }
        #expect(error?.line == 3)
        #expect(error?.reason.contains("ENFORCE_GTID_CONSISTENCY") == true)
    }

    @Test func unknownKeyIsAnErrorWithTheNearestSuggestion() throws {
        let error = configError { _ = try parse("[mysqld]\nserver-di = 2\n") }
        #expect(error?.description == "web-02/my.cnf:2: \"server-di\": unknown option — did you mean \"server_id\"?")
    }

    @Test func realOptionOutsideTheSubsetSaysNotSupported() throws {
        let error = configError { _ = try parse("[mysqld]\ninnodb_buffer_pool_size = 1G\n") }
        #expect(error?.reason.hasPrefix("not supported by stacklab's mysqld") == true)
    }

    @Test func connectionLimitsHaveMySQL8sDefaults() throws {
        let config = try parse("[mysqld]\n")
        #expect(config.maxConnections == 151 && config.maxAllowedPacket == 67_108_864)
        #expect(config.connectTimeout == 10 && config.waitTimeout == 28_800 && config.interactiveTimeout == 28_800)
    }

    @Test func connectionLimitsAreSetAsInMySQL() throws {
        let config = try parse("""
            [mysqld]
            max_connections = 20
            max-allowed-packet = 16M
            connect_timeout = 5
            wait_timeout = 600
            interactive_timeout = 3600
            """)
        #expect(config.maxConnections == 20 && config.maxAllowedPacket == 16_777_216)
        #expect(config.connectTimeout == 5 && config.waitTimeout == 600 && config.interactiveTimeout == 3600)
        #expect(try parse("[mysqld]\nmax_allowed_packet = 1g").maxAllowedPacket == 1_073_741_824)
        #expect(try parse("[mysqld]\nmax_allowed_packet = 4000").maxAllowedPacket == 3072)  // a multiple of 1024, as mysqld keeps
    }

    @Test(arguments: ["max_connections = 0", "max_connections = 100001", "max_allowed_packet = 2G", "max_allowed_packet = 10",
                      "max_allowed_packet = 64MB", "max_allowed_packet = 99999999999999999999K", "connect_timeout = 1",
                      "wait_timeout = 0", "interactive_timeout = forever"])
    func connectionLimitsOutOfRangeAreAnErrorOnTheirLine(text: String) throws {
        let error = configError { _ = try parse("[mysqld]\n" + text) }
        #expect(error?.line == 2)
    }

    @Test func misspeltGroupIsAnErrorNotASilentSkip() throws {
        let error = configError { _ = try parse("[mysqd]\nserver-id = 2\n") }
        #expect(error?.line == 1)
        #expect(error?.reason == "unknown group — did you mean [mysqld]?")
    }

    @Test(arguments: [
        "server-id = two",
        "port = 0",
        "read_only = maybe",
        "bind-address = db.local",
        "gtid_mode = ON_PERMISSIVE",
        "plugin-load-add = auth_socket.so",
        "datadir",
    ])
    func badValueIsAnErrorOnItsLine(text: String) throws {
        let error = configError { _ = try parse("[mysqld]\n" + text) }
        #expect(error.map { (2...3).contains($0.line) } == true)
    }

    @Test func optionGivenTwiceKeepsTheLastValueAsInMySQL() throws {
        #expect(try parse("[mysqld]\nport = 3306\nport = 3307\n").port == 3307)
    }

    @Test func optionBeforeAnyGroupIsAnError() throws {
        let error = configError { _ = try parse("server-id = 2\n[mysqld]\n") }
        #expect(error?.line == 1)
        #expect(error?.reason.contains("without preceding group") == true)
    }
}
