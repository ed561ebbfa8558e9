/// An account the store knows at start (in addition to root).
public struct StoreUser: Sendable, Equatable {
    public var name: String
    public var host: String
    public var password: String
    public init(name: String, host: String, password: String) {
        self.name = name
        self.host = host
        self.password = password
    }
}

/// The my.cnf subset the lab hands to a store.
///
/// ```swift
/// var settings = StoreSettings(serverName: "web-01", serverID: 1, host: "127.0.1.11", port: 3306,
///                              dataDirectory: "/tmp/lab/web-01/mysql")
/// settings.logBin = "mysql-bin"
/// ```
public struct StoreSettings: Sendable {
    public var serverName: String
    public var serverID: Int
    public var host: String
    public var port: Int
    public var logBin: String?
    public var relayLog: String
    public var readOnly: Bool
    public var superReadOnly: Bool
    public var gtidMode: Bool
    public var semiSyncSourceEnabled: Bool
    public var semiSyncSourceTimeoutMilliseconds: Int
    public var dataDirectory: String
    public var initStatements: [String]
    public var rootPassword: String
    public var connectRetrySeconds: Int
    /// replica_net_timeout: a replica that hears nothing (not even a heartbeat) for this long reconnects.
    /// The source sends heartbeats every half of it unless SOURCE_HEARTBEAT_PERIOD says otherwise.
    public var replicaNetTimeoutSeconds: Int
    /// skip-replica-start: do not restart replication that was running when the server stopped.
    public var skipReplicaStart: Bool
    /// Extra accounts created on first start of an empty data directory (like init_file's CREATE USER).
    public var users: [StoreUser]
    /// fsync the binlog and data log before acknowledging (sync_binlog=1 + innodb_flush_log_at_trx_commit=1 on
    /// real disks). Off by default: a crash of the miniature is a crash of the process, not of the machine, so a
    /// write() that returned is already safe.
    public var fsyncOnCommit: Bool
    /// max_connections: this many clients at once, plus one more for a SUPER account; past that a connection
    /// hears ERROR 1040 "Too many connections" instead of a greeting.
    public var maxConnections: Int
    /// max_allowed_packet, in bytes: a larger packet is ERROR 1153 and the connection closes.
    public var maxAllowedPacket: Int
    /// connect_timeout: seconds a client has to log in before it is dropped.
    public var connectTimeoutSeconds: Int
    /// wait_timeout and interactive_timeout: seconds a logged-in client may sit idle (interactive ones, such as
    /// the mysql client, get the second) before the server disconnects it with ERROR 4031.
    public var waitTimeoutSeconds: Int
    public var interactiveTimeoutSeconds: Int

    /// MySQL 8's defaults for the connection limits.
    public static let defaultMaxConnections = 151
    public static let defaultMaxAllowedPacket = 67_108_864
    public static let defaultConnectTimeout = 10
    public static let defaultWaitTimeout = 28_800

    public init(serverName: String, serverID: Int, host: String, port: Int, dataDirectory: String) {
        self.serverName = serverName
        self.serverID = serverID
        self.host = host
        self.port = port
        self.logBin = "mysql-bin"  // MySQL 8 enables the binlog by default
        self.relayLog = "relay-bin"
        self.readOnly = false
        self.superReadOnly = false
        self.gtidMode = true
        self.semiSyncSourceEnabled = false
        self.semiSyncSourceTimeoutMilliseconds = 10000  // rpl_semi_sync_source_timeout default
        self.dataDirectory = dataDirectory
        self.initStatements = []
        self.rootPassword = ""
        self.connectRetrySeconds = 60  // SOURCE_CONNECT_RETRY default
        self.replicaNetTimeoutSeconds = 60  // replica_net_timeout default
        self.skipReplicaStart = false
        self.users = []
        self.fsyncOnCommit = false
        self.maxConnections = Self.defaultMaxConnections
        self.maxAllowedPacket = Self.defaultMaxAllowedPacket
        self.connectTimeoutSeconds = Self.defaultConnectTimeout
        self.waitTimeoutSeconds = Self.defaultWaitTimeout
        self.interactiveTimeoutSeconds = Self.defaultWaitTimeout
    }
}
