/// A lab, parsed: its folder, topology and every process's config. (Loaded by `LabDefinition.load(directory:)`.)
public struct LabDefinition: Sendable {
    public var directory: String
    public var topology: Topology
    public var haproxy: [String: HAProxyConfig]
    public var nginx: [String: NginxConfig]
    public var gunicorn: [String: GunicornConfig]
    public var mysql: [String: MySQLConfig]
    public var mysqlInitStatements: [String: [String]]

    public init(directory: String, topology: Topology, haproxy: [String: HAProxyConfig] = [:], nginx: [String: NginxConfig] = [:],
                gunicorn: [String: GunicornConfig] = [:], mysql: [String: MySQLConfig] = [:], mysqlInitStatements: [String: [String]] = [:]) {
        self.directory = directory
        self.topology = topology
        self.haproxy = haproxy
        self.nginx = nginx
        self.gunicorn = gunicorn
        self.mysql = mysql
        self.mysqlInitStatements = mysqlInitStatements
    }
}
