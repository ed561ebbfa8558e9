import Foundation
import StackLab
import StackLabStore

/// What a check can look at: the live lab and its monitor, what the learner's commands did (the facts the verbs
/// reported), what they printed, and a way to run a harmless command quietly (the shell provides it; tests fake it).
@MainActor
public protocol CheckContext: AnyObject {
    /// The running lab (nil only in tests of checks that do not look at it).
    var lab: Lab? { get }
    /// The learner's monitor, when one runs (`monitor on`).
    var monitor: Monitor? { get }
    /// What the learner's commands and the lab reported in this lesson, the current step's last.
    var facts: FactLog { get }
    /// The learner's output since the step began (the course's own words left out).
    var outputSinceStepBegan: String { get }
    /// Runs a shell command without showing it; whether it worked and what it printed.
    func runQuietly(_ command: String) async -> (ok: Bool, text: String)
}

/// Evaluates checks against a context.
@MainActor
public enum CheckEvaluator {
    public static func evaluate(_ check: Check, in context: any CheckContext) async -> CheckOutcome {
        if !check.readsTheLab { return evaluateFacts(check, in: context) }
        if case .commandShows(let command, let text, let negated) = check.kind {
            let (ok, output) = await context.runQuietly(command)
            guard ok else {
                let first = output.split(separator: "\n").first.map(String.init) ?? ""
                return .fail("'\(command)' did not work" + (first.isEmpty ? "" : ": \(first)"))
            }
            let found = output.contains(text)
            if found != negated { return .pass() }
            return .fail("'\(command)' \(negated ? "still shows" : "does not show") \"\(text)\" yet")
        }
        guard let lab = context.lab else { return .fail("no lab is running") }
        return await evaluate(check, lab: lab, in: context)
    }

    /// Runs every check of a step; the step is done when all pass.
    public static func evaluate(_ checks: [Check], in context: any CheckContext) async -> [(Check, CheckOutcome)] {
        var results: [(Check, CheckOutcome)] = []
        for check in checks { results.append((check, await evaluate(check, in: context))) }
        return results
    }

    public static func evaluate(_ step: Step, in context: any CheckContext) async -> [(Check, CheckOutcome)] {
        await evaluate(step.checks, in: context)
    }

    // MARK: - The lab now

    static func evaluate(_ check: Check, lab: Lab, in context: any CheckContext) async -> CheckOutcome {
        switch check.kind {
        case .balancerSees(let balancerName, let serverName, let wanted):
            guard let balancer = lab.balancers.first(where: { $0.serverName == balancerName }) else {
                return .fail("there is no balancer on \(balancerName) in this lab")
            }
            guard let server = balancer.serverStatuses.first(where: { $0.name == serverName }) else {
                return .fail("\(balancerName) has no server called \(serverName)")
            }
            let status = server.status
            return status == wanted ? .pass() : .fail("\(balancerName) sees \(serverName) \(status), not \(wanted) yet")

        case .processState(let text, let wanted, let negated):
            let target: Target
            do { target = try lab.target(text) } catch { return .fail(error.message) }
            var processes = lab.processes(for: target)
            // `web-02 is read-only` is about the server's database, not its web server.
            let aboutStore = wanted == "read-only" || wanted == "writable"
            if aboutStore { processes = processes.filter { $0.kind == .mysql } }
            guard !processes.isEmpty else { return .fail("\(target) runs no \(aboutStore ? "database" : "processes")") }
            for process in processes {
                let (has, now) = state(of: process, is: wanted)
                if has == negated {
                    return .fail("\(process.name) is \(now)" + (negated ? "" : ", not \(wanted)"))
                }
            }
            return .pass()

        case .replicaLagAbove(let seconds):
            guard let (name, replica) = replicaStatus(in: lab) else { return .fail("no store in this lab is a running replica") }
            guard let lag = replica.secondsBehindSource else {
                return .fail("\(name): Seconds_Behind_Source is NULL (replication is not running)")
            }
            return lag > seconds ? .pass("\(name): Seconds_Behind_Source is \(lag)")
                : .fail("\(name): Seconds_Behind_Source is \(lag), not above \(seconds)")

        case .replicationRunning(let wanted):
            guard let (name, replica) = replicaStatus(in: lab) else { return .fail("no store in this lab is a running replica") }
            let running = replica.ioRunning == .yes && replica.sqlRunning
            let words = "Replica_IO_Running: \(replica.ioRunning.rawValue), Replica_SQL_Running: \(replica.sqlRunning ? "Yes" : "No")"
            return running == wanted ? .pass("\(name): \(words)") : .fail("\(name): \(words)")

        case .replicaDelay(let seconds):
            guard let (name, replica) = replicaStatus(in: lab) else { return .fail("no store in this lab is a running replica") }
            return replica.sqlDelay == seconds ? .pass("\(name): SQL_Delay: \(seconds)")
                : .fail("\(name): SQL_Delay is \(replica.sqlDelay), not \(seconds)")

        case .replicaHasNewPost:
            guard let (post, _) = context.facts.newPost else { return .fail("no post was made in this lesson yet") }
            return await replicaHas(post, lab: lab)

        case .alert(let name, let wanted, let instance):
            guard let monitor = context.monitor else { return .fail("no monitor is running ('monitor on' starts one)") }
            guard let rule = monitor.alerts.first(where: { $0.rule.name == name }) else {
                return .fail("the monitor has no alert rule \(name) (rules: \(monitor.alerts.map(\.rule.name).joined(separator: ", ")))")
            }
            let state: AlertState
            if let instance {
                state = rule.activeAlerts.first { $0.labels["instance"] == instance }?.state ?? .inactive
            } else {
                state = rule.state
            }
            let active = rule.activeAlerts.compactMap { alert in alert.labels["instance"].map { "\($0) \(alert.state.rawValue)" } }
            let detail = active.isEmpty ? "" : " (\(active.joined(separator: ", ")))"
            return state.rawValue == wanted ? .pass(active.isEmpty ? "" : String(detail.dropFirst(2).dropLast()))
                : .fail("\(name) is \(state.rawValue)\(detail), not \(wanted) yet")

        case .firewall(let server, let wanted):
            guard let firewall = lab.network.security.firewall(for: server) else { return .fail("there is no server \(server) in this lab") }
            return firewall.isActive == wanted ? .pass() : .fail("the firewall on \(server) is \(firewall.isActive ? "active" : "inactive")")

        case .speaksHTTPS(let server):
            let addresses = lab.tlsAddresses.filter { $0.server == server }.map(\.address)
            return addresses.isEmpty ? .fail("\(server) speaks plain HTTP only in this lab") : .pass("at \(addresses.joined(separator: ", "))")

        default:
            return evaluateFacts(check, in: context)
        }
    }

    /// Asks the replica itself whether it has applied the post (as `SELECT` on it would), and when not, how long it
    /// still holds changes back (SQL_Remaining_Delay).
    static func replicaHas(_ post: NewPost, lab: Lab) async -> CheckOutcome {
        guard let process = lab.processes.compactMap({ $0 as? StoreProcess }).first(where: { $0.store?.status.replica != nil }),
              let store = process.store, let replica = store.status.replica else {
            return .fail("no store in this lab is a running replica")
        }
        let database = lab.definition.mysqlInitStatements.values.joined().compactMap { statement -> String? in
            statement.firstMatch(of: #/(?i)CREATE\s+(?:DATABASE|SCHEMA)\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([A-Za-z0-9_]+)/#).map { String($0.1) }
        }.first
        let table = database.map { "`\($0)`.posts" } ?? "posts"
        let found: Bool
        do {
            found = !(try await store.execute("SELECT id FROM \(table) WHERE id = \(post.id)").rows.isEmpty)
        } catch {
            return .fail("\(process.name) cannot be asked: \(error)")
        }
        if found { return .pass("\(process.name) has \(post.words)") }
        let waiting = replica.sqlRemainingDelay.map { " — it applies it in \($0) s (SQL_Remaining_Delay)" } ?? ""
        return .fail("\(process.name) has not applied \(post.words) yet\(waiting)")
    }

    // MARK: - What the step's commands did

    static func evaluateFacts(_ check: Check, in context: any CheckContext) -> CheckOutcome {
        let step = context.facts.inStep
        switch check.kind {
        case .outputContains(let text, let negated):
            let found = context.outputSinceStepBegan.contains(text)
            if found != negated { return .pass() }
            return .fail(negated ? "\"\(text)\" was printed in this step" : "nothing printed \"\(text)\" in this step yet — run the step's commands")

        case .ran(let wanted):
            let words = wanted.split(separator: " ")
            let ran = step.commands.contains { command in
                let typed = collapsingSpaces(command).split(separator: " ")
                return typed.count >= words.count && Array(typed.prefix(words.count)) == words
            }
            return ran ? .pass() : .fail("you have not run '\(wanted)' in this step yet")

        case .requests(let wanted, let succeeded):
            let tally = step.tally
            let count = succeeded ? tally.succeeded : tally.failed
            let word = succeeded ? "succeeded" : "failed"
            let detail = !succeeded && count > 0 ? " (\(tally.failureWords))" : ""
            if count >= wanted { return .pass("\(count) of \(tally.total) \(word)\(detail)") }
            guard tally.total > 0 else { return .fail("no requests were sent in this step yet") }
            return .fail("\(count) of \(tally.total) requests \(word)\(detail) in this step so far, not yet \(wanted)")

        case .noRequestFailed:
            let tally = step.tally
            guard tally.total > 0 else { return .fail("no requests were sent in this step yet") }
            return tally.failed == 0 ? .pass("\(tally.total) of \(tally.total) answered")
                : .fail("\(tally.failed) of \(tally.total) failed: \(tally.failureWords)")

        case .splitEvenly(let a, let b, let tolerance):
            let tally = step.tally
            guard tally.answered > 0 else { return .fail("no requests were answered in this step yet") }
            let (shareA, shareB) = (tally.share(of: a), tally.share(of: b))
            let even = abs(shareA - 50) <= tolerance && abs(shareB - 50) <= tolerance
            return even ? .pass(tally.servedWords) : .fail("served by \(tally.servedWords)")

        case .served(let server, let wanted, let tolerance):
            let tally = step.tally
            guard tally.answered > 0 else { return .fail("no requests were answered in this step yet") }
            let share = tally.share(of: server)
            return abs(share - wanted) <= tolerance + 1e-9 ? .pass(tally.servedWords) : .fail("served by \(tally.servedWords)")

        case .servedByAll(let servers):
            let tally = step.tally
            let missing = servers.filter { (tally.servedBy[$0] ?? 0) == 0 }
            guard !missing.isEmpty else { return .pass(tally.servedWords) }
            return .fail("nothing was served by \(missing.joined(separator: " or ")) in this step yet"
                + (tally.servedBy.isEmpty ? "" : " (served by \(tally.servedWords))"))

        case .lastRequest(let selector, let expectation):
            let requests = step.requests.filter { selector == .request || (selector == .read) == $0.isRead }
            guard let last = requests.last else { return .fail("no \(selector.rawValue) was sent with curl in this step yet") }
            let met: Bool = switch expectation {
            case .status(let code): last.outcome == .status(code)
            case .succeeded: last.outcome.succeeded
            case .failed: last.outcome.failed
            }
            let what = "\(last.method) \(last.path): \(last.words)"
            return met ? .pass(what) : .fail("the last \(selector.rawValue) was \(what)")

        case .lastRequestHops(let wanted, let negated):
            guard let last = step.requests.last else { return .fail("no request was sent with curl in this step yet") }
            let path = last.hops.map(\.process)
            func crossed(_ name: String) -> Bool { path.contains { $0 == name || $0.hasSuffix("/" + name) } }
            let route = path.isEmpty ? "no hops" : path.joined(separator: " → ")
            if negated {
                let crossedAny = wanted.filter(crossed)
                return crossedAny.isEmpty ? .pass(route) : .fail("it went through \(crossedAny.joined(separator: ", ")): \(route)")
            }
            let missing = wanted.filter { !crossed($0) }
            return missing.isEmpty ? .pass(route) : .fail("it did not go through \(missing.joined(separator: ", ")): \(route)")

        case .lastRequestRedirected(let prefix):
            guard let last = step.requests.last else { return .fail("no request was sent with curl in this step yet") }
            guard case .status(let code) = last.outcome, (300..<400).contains(code), let location = last.location else {
                return .fail("the last request was \(last.words), not a redirect")
            }
            return location.hasPrefix(prefix) ? .pass("\(code), location: \(location)") : .fail("it was redirected to \(location)")

        case .lastReadNewPost(let fromReplica, let shown):
            guard let (post, after) = context.facts.newPost else { return .fail("no post was made in this lesson yet") }
            let reads = after.requests.filter { $0.isRead && $0.path.hasPrefix("/api/posts") && (!fromReplica || $0.readFromReplica) }
            guard let last = reads.last else {
                return .fail("no read of /api/posts\(fromReplica ? " from the replica" : "") since \(post.words) was made")
            }
            guard case .status(let code) = last.outcome, code < 400 else { return .fail("the last read got \(last.words)") }
            let listed = post.isListed(in: last.body)
            let source = last.hops.first { $0.role != nil }.map { " (read from \($0.process))" } ?? ""
            if listed == shown { return .pass("\(post.words) \(listed ? "was" : "was not") in the list\(source)") }
            return .fail("\(post.words) \(listed ? "was" : "was not") in the list\(source)")

        case .lastSQL(let server, let expectation):
            let results = step.sqls.filter { server == nil || $0.server == server }
            let place = server.map { " on \($0)" } ?? ""
            guard let last = results.last else { return .fail("no sql\(place) in this step yet") }
            let error = last.errorCode.map { "ERROR \($0)" + (last.errorMessage.map { ": \($0)" } ?? "") }
            switch expectation {
            case .failedWith(let code):
                if last.errorCode == code { return .pass(error ?? "") }
                return .fail(error.map { "it failed with \($0)" } ?? "it succeeded")
            case .succeeded:
                return error.map { .fail("it failed with \($0)") } ?? .pass()
            case .newPost(let shown):
                guard let (post, after) = context.facts.newPost else { return .fail("no post was made in this lesson yet") }
                guard let last = after.sqls.last(where: { server == nil || $0.server == server }) else {
                    return .fail("no sql\(place) since \(post.words) was made")
                }
                let error = last.errorCode.map { "ERROR \($0)" + (last.errorMessage.map { ": \($0)" } ?? "") }
                if let error { return .fail("it failed with \(error)") }
                let listed = post.isListed(in: last)
                let words = "\(post.words) \(listed ? "is" : "is not") among its \(last.rows.count) row\(last.rows.count == 1 ? "" : "s")"
                return listed == shown ? .pass(words) : .fail(words)
            case .text(let text, let shown):
                if let error { return .fail("it failed with \(error)") }
                let found = last.rows.contains { $0.contains { $0?.contains(text) == true } }
                return found == shown ? .pass() : .fail(found ? "a row holds \"\(text)\"" : "no row holds \"\(text)\"")
            }

        case .replicationReportLagAbove(let seconds):
            guard let report = step.replicationReports.last else { return .fail("'replication' was not run in this step yet") }
            guard let replica = report.first else { return .fail("the last report showed no replica") }
            guard let lag = replica.secondsBehindSource else {
                return .fail("it showed Seconds_Behind_Source: NULL (\(replica.store) was not replicating)")
            }
            return lag > seconds ? .pass("Seconds_Behind_Source: \(lag)") : .fail("it showed Seconds_Behind_Source: \(lag)")

        case .tapShows(let text, let negated):
            let taps = step.taps
            guard !taps.isEmpty else { return .fail("no tap has shown a message in this step yet") }
            let found = taps.contains { $0.text.contains(text) }
            if found != negated { return .pass("\(taps.count) message\(taps.count == 1 ? "" : "s") tapped") }
            return .fail(found ? "a tapped message shows \"\(text)\"" : "none of the \(taps.count) tapped messages shows \"\(text)\"")

        case .tapOnly(let kind):
            let taps = step.taps
            guard !taps.isEmpty else { return .fail("no tap has shown a message in this step yet") }
            let others = taps.filter { $0.kind != kind }
            return others.isEmpty ? .pass("\(taps.count) of \(taps.count)")
                : .fail("\(others.count) of \(taps.count) tapped messages were \(Set(others.map(\.kind)).sorted().joined(separator: ", "))")

        case .scanFound(let port, let wanted):
            guard let scan = step.scans.last(where: { $0.ports.contains { $0.port == port } }) else {
                return .fail("no scan of port \(port) in this step yet")
            }
            let state = scan.ports.first { $0.port == port }?.state ?? "?"
            return state == wanted ? .pass("on \(scan.server)") : .fail("the scan of \(scan.server) found \(port) \(state)")

        default:
            return .fail("this check looks at the lab, and no lab is running")
        }
    }

    // MARK: - Helpers

    static func state(of process: any LabProcess, is wanted: String) -> (Bool, String) {
        let now = process.state
        switch wanted {
        case "read-only", "writable":
            guard let store = (process as? StoreProcess)?.store, now.isAlive else { return (false, "\(now)") }
            let readOnly = store.status.readOnly
            return (readOnly == (wanted == "read-only"), readOnly ? "read-only" : "writable")
        case "slow":
            if case .slow = now { return (true, now.description) }
            return (false, now.description)
        default:
            return (now.description == wanted, now.description)
        }
    }

    static func replicaStatus(in lab: Lab) -> (String, ReplicaStatus)? {
        for process in lab.processes {
            if let store = (process as? StoreProcess)?.store, let replica = store.status.replica { return (process.name, replica) }
        }
        return nil
    }
}
