import Foundation
import NIOConcurrencyHelpers
import StackLabStore

/// Everything one frame of `top` shows, read from the lab (and its monitor) at one moment. A value, so frames can be
/// rendered and tested without a lab.
public struct TopSnapshot: Sendable, Equatable {
    public struct Process: Sendable, Equatable {
        public var kind: String
        /// `running`, `crashed`, `hung`, `slow +200ms` …
        public var state: String
        public var healthy: Bool
        public var requestsPerSecond: Double?
        public var errorsPerSecond: Double?
        /// A store's role and replication in short words (`primary`, `replica lag 0s`).
        public var note: String?

        public init(kind: String, state: String, healthy: Bool, requestsPerSecond: Double? = nil, errorsPerSecond: Double? = nil,
                    note: String? = nil) {
            self.kind = kind
            self.state = state
            self.healthy = healthy
            self.requestsPerSecond = requestsPerSecond
            self.errorsPerSecond = errorsPerSecond
            self.note = note
        }
    }

    public struct Server: Sendable, Equatable {
        public var name: String
        public var address: String
        public var processes: [Process]
        /// Whether this server balances the others (drawn on top).
        public var isBalancer: Bool
        /// How the balancer sees it (`UP`, `DOWN`, `UP 2/3`), nil when no balancer has it as a backend server.
        public var balancerStatus: String?
        /// Its share of the balanced traffic over the last interval, 0…1; nil before there is a rate.
        public var share: Double?
        /// Requests and errors per second at its front door (its first process).
        public var requestsPerSecond: Double?
        public var errorsPerSecond: Double?

        public init(name: String, address: String, processes: [Process], isBalancer: Bool = false, balancerStatus: String? = nil,
                    share: Double? = nil, requestsPerSecond: Double? = nil, errorsPerSecond: Double? = nil) {
            self.name = name
            self.address = address
            self.processes = processes
            self.isBalancer = isBalancer
            self.balancerStatus = balancerStatus
            self.share = share
            self.requestsPerSecond = requestsPerSecond
            self.errorsPerSecond = errorsPerSecond
        }

        /// Down when every process is down, or the balancer has taken it out.
        public var isDown: Bool {
            processes.allSatisfy { !$0.healthy } || (balancerStatus.map { $0.hasPrefix("DOWN") } ?? false)
        }
    }

    public struct Replication: Sendable, Equatable {
        public var replica: String
        public var source: String
        public var lagSeconds: Int?
        public var ioRunning: String
        public var sqlRunning: Bool

        public init(replica: String, source: String, lagSeconds: Int?, ioRunning: String, sqlRunning: Bool) {
            self.replica = replica
            self.source = source
            self.lagSeconds = lagSeconds
            self.ioRunning = ioRunning
            self.sqlRunning = sqlRunning
        }
    }

    public struct Event: Sendable, Equatable {
        public var time: Date
        public var text: String
        public var bad: Bool
        public init(time: Date, text: String, bad: Bool) {
            self.time = time
            self.text = text
            self.bad = bad
        }
    }

    public var labName: String
    public var time: Date
    public var servers: [Server]
    public var replication: [Replication]
    /// nil when no monitor runs (the default lab: nobody is watching).
    public var alerts: [Alert]?
    public var events: [Event]

    public init(labName: String, time: Date, servers: [Server], replication: [Replication] = [], alerts: [Alert]? = nil,
                events: [Event] = []) {
        self.labName = labName
        self.time = time
        self.servers = servers
        self.replication = replication
        self.alerts = alerts
        self.events = events
    }
}

/// Takes `TopSnapshot`s of a running lab, one per frame: rates come from the counters' change since the previous
/// frame, events from the states' change (`web-02/nginx crashed`, `lb-01 sees web-02 DOWN`) and the monitor's alerts.
public final class TopSampler: Sendable {
    private let lab: Lab
    private let monitor: Monitor?
    private let box = NIOLockedValueBox(Previous())

    private struct Previous {
        var time: Date?
        var requests: [String: Int] = [:]
        var errors: [String: Int] = [:]
        var sessions: [String: Int] = [:]
        var states: [String: String] = [:]
        var balancerStatus: [String: String] = [:]
        var lastAlertTime: Date?
        var events: [TopSnapshot.Event] = []
    }

    public init(lab: Lab, monitor: Monitor? = nil) {
        self.lab = lab
        self.monitor = monitor
    }

    /// Reads the lab now.
    public func snapshot(at now: Date = Date()) -> TopSnapshot {
        let balancedStatus = Dictionary(lab.balancers.flatMap(\.serverStatuses).map { ($0.name, $0.status) }, uniquingKeysWith: { a, _ in a })
        let sessions = Dictionary(lab.balancers.flatMap(\.serverStatuses).map { ($0.name, $0.totalSessions) }, uniquingKeysWith: +)
        let requests = Dictionary(uniqueKeysWithValues: lab.processes.map { ($0.name, $0.runtime.requests.load(ordering: .relaxed)) })
        let errors = Dictionary(uniqueKeysWithValues: lab.processes.map { ($0.name, $0.runtime.errors.load(ordering: .relaxed)) })
        let states = Dictionary(uniqueKeysWithValues: lab.processes.map { ($0.name, $0.state.description) })
        let balancerNames = Set(lab.balancers.map(\.serverName))
        var replication: [TopSnapshot.Replication] = []
        var storeNotes: [String: String] = [:]
        for case let store as StoreProcess in lab.processes {
            guard let status = store.store?.status else { continue }
            if let replica = status.replica {
                let source = lab.topology.servers.first { $0.address == replica.sourceHost }?.name ?? replica.sourceHost
                replication.append(TopSnapshot.Replication(replica: store.serverName, source: source, lagSeconds: replica.secondsBehindSource,
                                                           ioRunning: replica.ioRunning.rawValue, sqlRunning: replica.sqlRunning))
                storeNotes[store.name] = "replica lag " + (replica.secondsBehindSource.map { "\($0)s" } ?? "NULL")
            } else {
                storeNotes[store.name] = "primary"
            }
        }
        let alerts = monitor?.activeAlerts
        let alertEvents = monitor?.recentEvents ?? []

        return box.withLockedValue { previous in
            let elapsed = previous.time.map { now.timeIntervalSince($0) } ?? 0
            func rate(_ now: [String: Int], _ before: [String: Int], _ key: String) -> Double? {
                guard elapsed > 0.05, let a = now[key], let b = before[key] else { return nil }
                return Double(max(0, a - b)) / elapsed
            }
            // Events: what changed since the last frame.
            if previous.time != nil {
                for process in lab.processes {
                    let state = states[process.name] ?? ""
                    if let before = previous.states[process.name], before != state {
                        previous.events.append(.init(time: now, text: "\(process.name) \(state)", bad: state != "running"))
                    }
                }
                for balancer in lab.balancers {
                    for server in balancer.serverStatuses {
                        let key = "\(balancer.serverName) sees \(server.name)"
                        let word = server.isUp ? "UP" : "DOWN"
                        if let before = previous.balancerStatus[key], before != word {
                            previous.events.append(.init(time: now, text: "\(key) \(word)", bad: word == "DOWN"))
                        }
                    }
                }
            }
            for balancer in lab.balancers {
                for server in balancer.serverStatuses {
                    previous.balancerStatus["\(balancer.serverName) sees \(server.name)"] = server.isUp ? "UP" : "DOWN"
                }
            }
            // The monitor keeps its last 50 events; take the ones after the last one shown.
            for event in alertEvents where previous.lastAlertTime.map({ event.time > $0 }) ?? true {
                let instance = event.alert.labels["instance"].map { " \($0)" } ?? ""
                previous.events.append(.init(time: event.time, text: "alert \(event.alertName) \(event.kind.rawValue)\(instance)",
                                             bad: event.kind == .firing || event.kind == .pending))
            }
            if let last = alertEvents.last?.time { previous.lastAlertTime = last }
            previous.events.sort { $0.time < $1.time }
            if previous.events.count > 20 { previous.events.removeFirst(previous.events.count - 20) }

            let totalShare = sessions.keys.compactMap { rate(sessions, previous.sessions, $0) }.reduce(0, +)
            let servers = lab.topology.servers.map { server -> TopSnapshot.Server in
                let processes = lab.processes(on: server.name).map { process in
                    TopSnapshot.Process(kind: process.kind.rawValue, state: states[process.name] ?? "", healthy: process.state.isAlive,
                                        requestsPerSecond: process.kind == .mysql ? nil : rate(requests, previous.requests, process.name),
                                        errorsPerSecond: process.kind == .mysql ? nil : rate(errors, previous.errors, process.name),
                                        note: storeNotes[process.name])
                }
                let front = lab.processes(on: server.name).first { $0.kind == .haproxy || $0.kind == .nginx }?.name
                var share: Double?
                if let r = rate(sessions, previous.sessions, server.name), totalShare > 0 { share = r / totalShare }
                return TopSnapshot.Server(name: server.name, address: server.address, processes: processes,
                                          isBalancer: balancerNames.contains(server.name), balancerStatus: balancedStatus[server.name],
                                          share: share,
                                          requestsPerSecond: front.flatMap { rate(requests, previous.requests, $0) },
                                          errorsPerSecond: front.flatMap { rate(errors, previous.errors, $0) })
            }
            previous.time = now
            previous.requests = requests
            previous.errors = errors
            previous.sessions = sessions
            previous.states = states
            return TopSnapshot(labName: lab.topology.name, time: now, servers: servers, replication: replication, alerts: alerts,
                               events: previous.events)
        }
    }
}
