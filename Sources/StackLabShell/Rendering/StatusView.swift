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

/// `status`: every process of the lab in one table, then anything unusual in words.
public struct StatusView: Sendable {
    public var rows: [StatusRow]
    public var checker: String?
    public var partitions: [(String, String)]

    public init(rows: [StatusRow], checker: String?, partitions: [(String, String)] = []) {
        self.rows = rows
        self.checker = checker
        self.partitions = partitions
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
        self.init(rows: rows, checker: lab.balancers.first?.serverName, partitions: lab.network.activePartitions)
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
        let checkHeader = checker.map { "CHECK BY \($0)" } ?? "CHECK"
        var table = TextTable(header: ["SERVER", "PROCESS", "PID", "STATE", "ADDRESS", checkHeader, "CONNS", "REQS", "ERRS"],
                              rightAligned: [2, 6, 7, 8])
        var previous = ""
        for row in rows {
            let healthy: Bool = row.state == .running
            let slow = if case .slow = row.state { true } else { false }
            table.rows.append([
                row.server == previous ? "" : row.server,
                row.process,
                row.state.isListening ? String(row.pid) : "-",
                style.state(row.state.description, healthy: healthy, warning: slow),
                row.address,
                row.check.isEmpty ? "-" : (row.checkIsUp ? style.green(row.check) : style.red(row.check)),
                String(row.connections), String(row.requests), String(row.errors),
            ])
            previous = row.server
        }
        var out = table.render(style: style)
        for (a, b) in partitions { out += style.red("partition:") + " \(a) and \(b) cannot reach each other (heal \(a) \(b))\n" }
        if let checker, rows.contains(where: { !$0.check.isEmpty }) {
            out += style.dim("CHECK: what \(checker)'s health checks see. UP 2/3 = failing, DOWN after 3 misses; "
                + "L7OK = /health answered, L4CON = connection refused, L4TOUT/L7TOUT = no answer in time.") + "\n"
        }
        return out
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
