/// my.cnf, `[mysqld]` section: the store's settings as MySQL spells them (dashes and underscores are the same).
public struct MySQLConfig: Sendable, Equatable {
    public var serverID: Int               // server-id, MySQL 8 default 1
    public var bindAddress: String         // bind-address
    public var port: Int                   // port, default 3306
    public var logBin: String?             // log-bin base name ("mysql-bin"); nil = no binary log
    public var relayLog: String            // relay-log, default "relay-bin"
    public var readOnly: Bool              // read_only
    public var superReadOnly: Bool         // super_read_only
    public var gtidMode: Bool              // gtid_mode = ON
    public var dataDirectory: String       // datadir, relative to the server's folder; default "data"
    /// init_file: SQL run at first start (users, schema; on a replica the CHANGE REPLICATION SOURCE TO … set-up).
    public var initFile: String?
    public var semiSyncSourceEnabled: Bool        // rpl_semi_sync_source_enabled
    public var semiSyncSourceTimeout: Int         // rpl_semi_sync_source_timeout, ms, default 10000
    public var semiSyncReplicaEnabled: Bool       // rpl_semi_sync_replica_enabled
    public var maxConnections: Int                // max_connections, default 151
    public var maxAllowedPacket: Int              // max_allowed_packet, bytes, default 64M
    public var connectTimeout: Int                // connect_timeout, seconds, default 10
    public var waitTimeout: Int                   // wait_timeout, seconds, default 28800
    public var interactiveTimeout: Int            // interactive_timeout, seconds, default 28800

    public init(serverID: Int = 1, bindAddress: String = "127.0.0.1", port: Int = 3306, logBin: String? = nil, relayLog: String = "relay-bin",
                readOnly: Bool = false, superReadOnly: Bool = false, gtidMode: Bool = false, dataDirectory: String = "data",
                initFile: String? = nil, semiSyncSourceEnabled: Bool = false, semiSyncSourceTimeout: Int = 10_000,
                semiSyncReplicaEnabled: Bool = false, maxConnections: Int = 151, maxAllowedPacket: Int = 67_108_864,
                connectTimeout: Int = 10, waitTimeout: Int = 28_800, interactiveTimeout: Int = 28_800) {
        self.serverID = serverID
        self.bindAddress = bindAddress
        self.port = port
        self.logBin = logBin
        self.relayLog = relayLog
        self.readOnly = readOnly
        self.superReadOnly = superReadOnly
        self.gtidMode = gtidMode
        self.dataDirectory = dataDirectory
        self.initFile = initFile
        self.semiSyncSourceEnabled = semiSyncSourceEnabled
        self.semiSyncSourceTimeout = semiSyncSourceTimeout
        self.semiSyncReplicaEnabled = semiSyncReplicaEnabled
        self.maxConnections = maxConnections
        self.maxAllowedPacket = maxAllowedPacket
        self.connectTimeout = connectTimeout
        self.waitTimeout = waitTimeout
        self.interactiveTimeout = interactiveTimeout
    }
}
