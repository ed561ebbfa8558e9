import Foundation
import StackLab
import StackLabCourse
import StackLabStore

// What the verbs report for lesson checks: one mechanism, `shell.report(fact)`, which the course keeps per step while
// a lesson runs. A shell that runs a check's own command (`runQuietly`) has no lesson, so it reports nothing.

extension Shell {
    /// Hands a verb's result to the lesson running in this shell (or in the shell that started this background
    /// job), if any.
    func report(_ fact: Fact) {
        CourseSessions.existing(jobOwner ?? self)?.record(fact)
    }

    /// `curl` got an answer.
    func reportRequest(method: String, path: String, sent: String?, response: ClientResponse) {
        guard CourseSessions.existing(jobOwner ?? self)?.lesson != nil else { return }
        report(.request(RequestFact(method: method, path: path, outcome: .status(response.status), reason: response.reason,
                                    servedBy: response.header("X-Served-By"), location: response.header("Location"),
                                    body: response.body, sentBody: sent, hops: hops(of: response.traceID))))
    }

    /// `curl` got no answer.
    func reportRequest(method: String, path: String, sent: String?, error: ClientError) {
        let outcome: RequestOutcome = switch error {
        case .refused: .refused
        case .connectTimeout, .timedOut: .timedOut
        case .noResponse: .reset
        case .badURL, .tlsFailed: .noAnswer("\(error)")
        }
        report(.request(RequestFact(method: method, path: path, outcome: outcome, sentBody: sent)))
    }

    /// A `load` run's counts.
    func reportLoad(method: String, path: String, report load: LoadReport) {
        var failures: [RequestOutcome: Int] = [:]
        for (words, count) in load.failures { failures[RequestOutcome(loadWords: words), default: 0] += count }
        report(.load(LoadFact(method: method, path: path, statuses: load.statuses, failures: failures, servedBy: load.servedBy)))
    }

    /// The hops of a trace, each database hop with the role its store had.
    func hops(of traceID: String) -> [HopFact] {
        let stores = Dictionary(lab.processes.compactMap { $0 as? StoreProcess }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return lab.traces.trace(traceID).sorted { $0.start < $1.start }.map { span in
            let role = stores[span.process].flatMap { $0.store }.map { $0.status.replica != nil ? "replica" : "primary" }
            return HopFact(process: span.process, status: span.status, note: span.note, role: role)
        }
    }
}

extension Lab.Fault {
    /// The fault's name in a fact: crash, stop, hang, slow, revive.
    var factName: String {
        switch self {
        case .crash: "crash"
        case .stop: "stop"
        case .hang: "hang"
        case .slow: "slow"
        case .revive: "revive"
        }
    }
}

/// Watches the lab while a lesson runs and reports what changes as events: a balancer's view of a server, a
/// process's state, a replica's threads, the monitor's alerts (with the time each fired, for "time to detect").
@MainActor
final class LabWatcher {
    private var task: Task<Void, Never>?
    private var watched: ObjectIdentifier?
    private var health: [String: String] = [:]
    private var states: [String: String] = [:]
    private var replication: [String: Bool] = [:]
    private var alerts: [String: String] = [:]

    func start(for course: CourseSession) {
        stop()
        watched = nil
        // The course holds its shell unowned; the watcher must not outlive the shell (a test's, a closed session's).
        let shell = course.shell
        task = Task { @MainActor [weak course, weak self, weak shell] in
            while !Task.isCancelled {
                guard let course, let self, shell != nil else { return }
                self.sample(course)
                try? await Task.sleep(nanoseconds: 200_000_000)
            }
        }
    }

    func stop() {
        task?.cancel()
        task = nil
    }

    /// Compares the lab with the last look and reports each change. A new lab (after `apply` or `reset`) is a new
    /// starting point, not a change.
    func sample(_ course: CourseSession) {
        let lab = course.shell.lab
        let fresh = ObjectIdentifier(lab) != watched
        watched = ObjectIdentifier(lab)
        let now = Date()
        var events: [(LabEvent, Date)] = []

        var newHealth: [String: String] = [:]
        for balancer in lab.balancers {
            for server in balancer.serverStatuses {
                let key = "\(balancer.serverName) \(server.name)"
                newHealth[key] = server.status
                if !fresh, health[key] != server.status {
                    events.append((.health(balancer: balancer.serverName, server: server.name, status: server.status), now))
                }
            }
        }
        var newStates: [String: String] = [:]
        var newReplication: [String: Bool] = [:]
        for process in lab.processes {
            let state = process.state.description
            newStates[process.name] = state
            if !fresh, states[process.name] != state { events.append((.process(name: process.name, state: state), now)) }
            if let replica = (process as? StoreProcess)?.store?.status.replica {
                let running = replica.ioRunning == .yes && replica.sqlRunning
                newReplication[process.name] = running
                if !fresh, let before = replication[process.name], before != running {
                    events.append((.replication(store: process.name, running: running), now))
                }
            }
        }
        var newAlerts: [String: String] = [:]
        for rule in course.monitor?.alerts ?? [] {
            for alert in rule.activeAlerts {
                let instance = alert.labels["instance"]
                let key = "\(rule.rule.name) \(instance ?? "")"
                let state = alert.state.rawValue
                newAlerts[key] = state
                if alerts[key] != state {
                    let time = alert.state == .firing ? (alert.firedAt ?? now) : alert.activeAt
                    events.append((.alert(name: rule.rule.name, instance: instance, state: state), time))
                }
            }
        }
        for (key, state) in alerts where newAlerts[key] == nil && state == "firing" {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            events.append((.alert(name: parts[0], instance: parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil, state: "resolved"), now))
        }
        health = newHealth
        states = newStates
        replication = newReplication
        alerts = newAlerts
        for (event, time) in events.sorted(by: { $0.1 < $1.1 }) { course.record(.event(event), at: time) }
    }
}
