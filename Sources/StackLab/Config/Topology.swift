/// lab.conf: the servers of a lab, their loopback addresses and the processes that run on each.
///
/// ```
/// lab foobar
/// server lb-01   127.0.1.1   haproxy
/// server web-01  127.0.1.11  nginx gunicorn mysql
/// ```
public struct Topology: Sendable, Equatable {
    public enum ProcessKind: String, Sendable, Equatable, CaseIterable {
        case haproxy, nginx, gunicorn, mysql, keepalived

        /// The config file each process reads, in its server's folder.
        public var configFile: String {
            switch self {
            case .haproxy: "haproxy.cfg"
            case .nginx: "nginx.conf"
            case .gunicorn: "gunicorn.conf.py"
            case .mysql: "my.cnf"
            case .keepalived: "keepalived.conf"
            }
        }
    }

    public struct Server: Sendable, Equatable {
        public var name: String
        public var address: String
        public var processes: [ProcessKind]
        public var line: Int
        public init(name: String, address: String, processes: [ProcessKind], line: Int = 0) {
            self.name = name
            self.address = address
            self.processes = processes
            self.line = line
        }
    }

    public var name: String
    public var servers: [Server]

    public init(name: String, servers: [Server]) {
        self.name = name
        self.servers = servers
    }

    public func server(named name: String) -> Server? { servers.first { $0.name == name } }
}
