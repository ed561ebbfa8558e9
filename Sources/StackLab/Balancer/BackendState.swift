import Foundation
import NIOConcurrencyHelpers

/// What lb-01 knows of one backend server right now: health, counters (the columns of HAProxy's `show stat`).
public struct BackendServerStatus: Sendable, Equatable {
    public var backend: String
    public var name: String
    public var address: String
    public var weight: Int
    public var backup: Bool
    public var checked: Bool
    public var health: HealthState
    /// `UP`, `UP 2/3`, `DOWN`, `DOWN 1/2`, or `no check`.
    public var status: String { checked ? health.statusWord : "no check" }
    public var isUp: Bool { !checked || health.isUp }
    public var currentSessions: Int = 0
    public var totalSessions: Int = 0
    public var connectionErrors: Int = 0      // econ
    public var responseErrors: Int = 0        // eresp
    public var retries: Int = 0               // wretr
    public var redispatches: Int = 0          // wredis
    public var checkFailures: Int = 0         // chkfail
    public var downTransitions: Int = 0       // chkdown
    public var lastChange: Date = Date()
    public var lastCheckDuration: Int = 0

    public init(backend: String, name: String, address: String, weight: Int, backup: Bool, checked: Bool, health: HealthState) {
        self.backend = backend
        self.name = name
        self.address = address
        self.weight = weight
        self.backup = backup
        self.checked = checked
        self.health = health
    }
}

/// One backend's live state, shared by the request path and the health checker.
final class BackendState: Sendable {
    let config: HAProxyConfig.Backend
    private let box: NIOLockedValueBox<Box>

    private struct Box {
        var servers: [BackendServerStatus]
        var picker: ServerPicker
        var responses: [Int: Int] = [:]      // status class (2, 3, 4, 5) → count
        var totalSessions = 0
    }

    init(config: HAProxyConfig.Backend) {
        self.config = config
        let servers = config.servers.map {
            BackendServerStatus(backend: config.name, name: $0.name, address: "\($0.host):\($0.port)", weight: $0.weight,
                                backup: $0.backup, checked: $0.check, health: HealthState(rise: $0.rise, fall: $0.fall))
        }
        box = NIOLockedValueBox(Box(servers: servers, picker: ServerPicker(balance: config.balance, serverCount: servers.count)))
    }

    var servers: [BackendServerStatus] { box.withLockedValue { $0.servers } }
    var responsesByClass: [Int: Int] { box.withLockedValue { $0.responses } }

    /// One server's sessions in progress (HAProxy's `srv_conn`), without copying every server's status.
    func currentSessions(_ index: Int) -> Int {
        box.withLockedValue { $0.servers.indices.contains(index) ? $0.servers[index].currentSessions : 0 }
    }

    /// Picks a server and counts the session on it.
    func pick(excluding: Set<Int>, clientAddress: String) -> Int? {
        box.withLockedValue { box in
            let candidates = box.servers.enumerated().map { index, server in
                ServerPicker.Candidate(index: index, weight: server.weight, backup: server.backup, usable: server.isUp,
                                       activeConnections: server.currentSessions)
            }
            guard let index = box.picker.pick(candidates, excluding: excluding, clientAddress: clientAddress) else { return nil }
            box.servers[index].currentSessions += 1
            box.servers[index].totalSessions += 1
            return index
        }
    }

    func finish(_ index: Int) {
        box.withLockedValue { box in
            guard index < box.servers.count else { return }
            box.servers[index].currentSessions = max(0, box.servers[index].currentSessions - 1)
        }
    }

    func update(_ index: Int, _ change: (inout BackendServerStatus) -> Void) {
        box.withLockedValue { box in
            guard index < box.servers.count else { return }
            change(&box.servers[index])
        }
    }

    func countResponse(status: Int) {
        box.withLockedValue { box in
            box.responses[status / 100, default: 0] += 1
            box.totalSessions += 1
        }
    }

    /// Records a check result; returns the transition and the server's status after it.
    func record(_ result: CheckResult, server index: Int, duration: Int) -> (HealthState.Transition?, BackendServerStatus, Int, Int) {
        box.withLockedValue { box in
            var server = box.servers[index]
            let transition = server.health.record(result)
            server.lastCheckDuration = duration
            if !result.passed { server.checkFailures += 1 }
            if transition != nil { server.lastChange = Date() }
            if transition == .wentDown { server.downTransitions += 1 }
            box.servers[index] = server
            let active = box.servers.filter { !$0.backup && $0.isUp }.count
            let backup = box.servers.filter { $0.backup && $0.isUp }.count
            return (transition, server, active, backup)
        }
    }

    /// Back to the start: every server `UP 1/3` awaiting its first check, counters kept.
    func resetHealth() {
        box.withLockedValue { box in
            for index in box.servers.indices {
                let server = config.servers[index]
                box.servers[index].health = HealthState(rise: server.rise, fall: server.fall)
                box.servers[index].currentSessions = 0
            }
        }
    }
}
