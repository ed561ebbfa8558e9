import Foundation
import StackLab

/// One row of `status`: a process and what the balancer's health checks say about it.
public struct StatusRow: Sendable, Equatable {
    public var server: String
    public var process: String
    public var pid: Int
    public var state: ProcessState
    public var address: String
    /// `UP (L7OK)`, `DOWN (L4CON)`; empty when no balancer checks this process.
    public var check: String
    public var checkIsUp: Bool
    public var connections: Int
    public var requests: Int
    public var errors: Int

    public init(server: String, process: String, pid: Int, state: ProcessState, address: String, check: String = "",
                checkIsUp: Bool = true, connections: Int = 0, requests: Int = 0, errors: Int = 0) {
        self.server = server
        self.process = process
        self.pid = pid
        self.state = state
        self.address = address
        self.check = check
        self.checkIsUp = checkIsUp
        self.connections = connections
        self.requests = requests
        self.errors = errors
    }
}

/// `status`: every process of the lab in one table, then anything unusual in words. Wide terminals get full
/// addresses; narrower ones (80 columns) a layout that fits: ports on the server's own address, short headings.
public struct StatusView: Sendable {
    public var rows: [StatusRow]
    public var checker: String?
    public var partitions: [(String, String)]
    /// Each server's address (`web-01` → `127.0.1.11`), for the narrow layout's ports.
    public var serverAddresses: [String: String]
    /// The checker's `fall` and `rise` (HAProxy defaults 3 and 2), for the legend.
    public var fall: Int
    public var rise: Int

    public init(rows: [StatusRow], checker: String?, partitions: [(String, String)] = [], serverAddresses: [String: String] = [:],
                fall: Int = 3, rise: Int = 2) {
        self.rows = rows
        self.checker = checker
        self.partitions = partitions
        self.serverAddresses = serverAddresses
        self.fall = fall
        self.rise = rise
    }

    /// Reads the live lab.
    public init(lab: Lab) {
        // The balancer checks a configured address; find the process configured to listen there (also when it is
        // down and has no open port).
        var checks: [String: BackendServerStatus] = [:]
        for balancer in lab.balancers {
            for server in balancer.serverStatuses { checks[server.address] = server }
        }
        var rows: [StatusRow] = []
        for server in lab.topology.servers {
            for process in lab.processes(on: server.name) {
                let addresses = process.runtime.addresses
                let check = Self.configuredPorts(of: process, in: lab.definition).lazy
                    .compactMap { checks["\(server.address):\($0)"] }.first
                rows.append(StatusRow(
                    server: server.name, process: process.kind.rawValue, pid: process.runtime.pid, state: process.state,
                    address: addresses.isEmpty ? "-" : addresses.joined(separator: " "),
                    check: check.map { "\($0.status) (\($0.health.lastResult.rawValue))" } ?? "",
                    checkIsUp: check.map { $0.status == "UP" } ?? true,
                    connections: process.runtime.openConnections,
                    requests: process.runtime.requests.load(ordering: .relaxed),
                    errors: process.runtime.errors.load(ordering: .relaxed)))
            }
        }
        let checked = lab.balancers.first?.config.backends.first?.servers.first
        self.init(rows: rows, checker: lab.balancers.first?.serverName, partitions: lab.network.activePartitions,
                  serverAddresses: Dictionary(lab.topology.servers.map { ($0.name, $0.address) }, uniquingKeysWith: { a, _ in a }),
                  fall: checked?.fall ?? 3, rise: checked?.rise ?? 2)
    }

    /// The ports a process is configured to listen on (before the port plan).
    static func configuredPorts(of process: any LabProcess, in definition: LabDefinition) -> [Int] {
        let server = process.serverName
        switch process.kind {
        case .haproxy: return definition.haproxy[server]?.frontends.flatMap { $0.binds.map(\.port) } ?? []
        case .nginx: return definition.nginx[server]?.servers.flatMap { $0.listens.map(\.port) } ?? []
        case .gunicorn: return definition.gunicorn[server].map { [$0.bindPort] } ?? []
        case .mysql: return definition.mysql[server].map { [$0.port] } ?? []
        case .keepalived: return []
        }
    }

    public func render(style: Style) -> String {
        let width = style.width
        var out = table(narrow: false, style: style)
        let wide = out.split(separator: "\n").map { visibleWidth(String($0)) }.max() ?? 0
        let narrow = wide > width
        if narrow { out = table(narrow: true, style: style) }
        for (a, b) in partitions {
            out += TerminalText.wrapStyled(style.red("partition:") + " \(a) and \(b) cannot reach each other (heal \(a) \(b))",
                                           width: width, indent: "  ") + "\n"
        }
        var legend: [String] = []
        if narrow {
            let addresses = serverAddresses.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            legend.append("PORTS: on the server's own address (\(addresses)).")
        }
        if let checker, rows.contains(where: { !$0.check.isEmpty }) {
            legend.append("CHECK: what \(checker)'s health checks see. UP \(max(1, fall - 1))/\(fall) = failing, DOWN after "
                + "\(fall) misses in a row; DOWN 1/\(rise) = answering again, UP after \(rise). L7OK = /health answered, "
                + "L4CON = connection refused, L4TOUT/L7TOUT = no answer in time.")
        }
        for line in legend { out += style.dim(TerminalText.wrapStyled(line, width: width)) + "\n" }
        return out
    }

    /// The table; `narrow`: ports instead of addresses, the check's words without brackets, short headings.
    func table(narrow: Bool, style: Style) -> String {
        let checkHeader = checker.map { "CHECK BY \($0)" } ?? "CHECK"
        let header = narrow ? ["SERVER", "PROCESS", "PID", "STATE", "PORTS", checkHeader, "CONN", "REQ", "ERR"]
            : ["SERVER", "PROCESS", "PID", "STATE", "ADDRESS", checkHeader, "CONNS", "REQS", "ERRS"]
        var table = TextTable(header: header, rightAligned: [2, 6, 7, 8], tight: narrow ? [7, 8] : [])
        var previous = ""
        for row in rows {
            let healthy: Bool = row.state == .running
            let slow = if case .slow = row.state { true } else { false }
            var address = row.address
            var check = row.check
            var state = row.state.description
            if narrow {
                address = Self.ports(row.address, on: serverAddresses[row.server])
                check = check.replacingOccurrences(of: " (", with: " ").replacingOccurrences(of: ")", with: "")
                if slow { state = state.replacingOccurrences(of: "slow +", with: "slow ") }
            }
            table.rows.append([
                row.server == previous ? "" : row.server,
                row.process,
                row.state.isListening ? String(row.pid) : "-",
                style.state(state, healthy: healthy, warning: slow),
                address,
                check.isEmpty ? "-" : (row.checkIsUp ? style.green(check) : style.red(check)),
                String(row.connections), String(row.requests), String(row.errors),
            ])
            previous = row.server
        }
        return table.render(style: style)
    }

    /// `127.0.1.11:8080 127.0.1.11:9113` on web-01 (127.0.1.11) → `8080 9113`; other hosts keep their address.
    static func ports(_ addresses: String, on host: String?) -> String {
        guard let host else { return addresses }
        return addresses.split(separator: " ").map { address in
            address.hasPrefix(host + ":") ? String(address.dropFirst(host.count + 1)) : String(address)
        }.joined(separator: " ")
    }
}

/// Where lb-01 sent its last requests, read from its own log (HAProxy's `backend/server` field).
public enum RecentRoutes {
    /// Server names of the last `limit` requests, oldest first (`<NOSRV>` when no server was available).
    public static func servers(inLog lines: [String], limit: Int = 8) -> [String] {
        var found: [String] = []
        for line in lines.reversed() {
            // `… ] www web/web-01 0/0/1/2/3 200 …`
            guard let close = line.firstIndex(of: "]") else { continue }
            let fields = line[line.index(after: close)...].split(separator: " ")
            guard fields.count > 3 else { continue }
            let route = fields[1].split(separator: "/")
            guard route.count == 2, fields[2].split(separator: "/").count == 5 else { continue }
            found.append(String(route[1]))
            if found.count == limit { break }
        }
        return found.reversed()
    }
}
