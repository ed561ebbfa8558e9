import Foundation
import StackLab
import StackLabStore

/// What a check can look at: the live lab, what the learner's commands printed since the step began, and a way to run
/// a harmless command quietly (the shell provides it; tests can fake it).
@MainActor
public protocol CheckContext: AnyObject {
    /// The running lab (nil only in tests of checks that do not look at it).
    var lab: Lab? { get }
    /// The learner's output since the step began (the course's own words left out).
    var outputSinceStepBegan: String { get }
    /// Runs a shell command without showing it; whether it worked and what it printed.
    func runQuietly(_ command: String) async -> (ok: Bool, text: String)
}

/// Evaluates checks against a context.
@MainActor
public enum CheckEvaluator {
    public static func evaluate(_ check: Check, in context: any CheckContext) async -> CheckOutcome {
        switch check.kind {
        case .outputContains, .requests, .commandShows: return await evaluateWithoutLab(check, in: context)
        default: break
        }
        guard let lab = context.lab else { return .fail("no lab is running") }
        switch check.kind {
        case .balancerSees(let balancerName, let serverName, let wanted):
            guard let balancer = lab.balancers.first(where: { $0.serverName == balancerName }) else {
                return .fail("there is no balancer on \(balancerName) in this lab")
            }
            guard let server = balancer.serverStatuses.first(where: { $0.name == serverName }) else {
                return .fail("\(balancerName) has no server called \(serverName)")
            }
            let status = server.status
            return status == wanted ? .pass("\(balancerName) sees \(serverName) \(status)")
                : .fail("\(balancerName) sees \(serverName) \(status), not \(wanted) yet")

        case .processState(let text, let wanted, let negated):
            let target: Target
            do { target = try lab.target(text) } catch { return .fail(error.message) }
            var processes = lab.processes(for: target)
            // `web-02 is read-only` is about the server's database, not its web server.
            if wanted == "read-only" || wanted == "writable" { processes = processes.filter { $0.kind == .mysql } }
            guard !processes.isEmpty else { return .fail("\(target) runs no \(wanted == "read-only" || wanted == "writable" ? "database" : "processes")") }
            for process in processes {
                let (has, now) = state(of: process, is: wanted)
                if has == negated {
                    return .fail("\(process.name) is \(now)" + (negated ? "" : ", not \(wanted)"))
                }
            }
            return .pass("\(target) is \(negated ? "not " : "")\(wanted)")

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

        case .outputContains, .requests, .commandShows:
            return await evaluateWithoutLab(check, in: context)
        }
    }

    static func evaluateWithoutLab(_ check: Check, in context: any CheckContext) async -> CheckOutcome {
        switch check.kind {
        case .outputContains(let text, let negated):
            let found = context.outputSinceStepBegan.contains(text)
            if found != negated { return .pass(negated ? "nothing printed \"\(text)\"" : "you saw \"\(text)\"") }
            return .fail(negated ? "\"\(text)\" was printed in this step" : "nothing printed \"\(text)\" in this step yet — run the step's commands")

        case .requests(let wanted, let succeeded):
            let tally = RequestTally(output: context.outputSinceStepBegan)
            let count = succeeded ? tally.succeeded : tally.failed
            let word = succeeded ? "succeeded" : "failed"
            return count >= wanted ? .pass("\(count) requests \(word) in this step")
                : .fail("\(count) requests \(word) in this step so far, not yet \(wanted) (counted from what load and curl printed)")

        case .commandShows(let command, let text, let negated):
            let (ok, output) = await context.runQuietly(command)
            guard ok else {
                let first = output.split(separator: "\n").first.map(String.init) ?? ""
                return .fail("'\(command)' did not work" + (first.isEmpty ? "" : ": \(first)"))
            }
            let found = output.contains(text)
            if found != negated { return .pass("'\(command)' \(negated ? "does not show" : "shows") \"\(text)\"") }
            return .fail("'\(command)' \(negated ? "still shows" : "does not show") \"\(text)\" yet")
        default:
            return .fail("this check looks at the lab, and no lab is running")
        }
    }

    /// Runs every check of a step; the step is done when all pass.
    public static func evaluate(_ step: Step, in context: any CheckContext) async -> [(Check, CheckOutcome)] {
        var results: [(Check, CheckOutcome)] = []
        for check in step.checks { results.append((check, await evaluate(check, in: context))) }
        return results
    }

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

/// Requests counted from what the shell printed: `load`'s "status" and "no answer" lines, `curl -i`/`-v` status lines,
/// and curl's errors (`curl: (7) …`).
public struct RequestTally: Sendable, Equatable {
    public var succeeded = 0
    public var failed = 0

    public init(output: String) {
        for raw in output.split(separator: "\n") {
            let line = raw.split(separator: "\r").last.map(String.init) ?? ""
            if line.hasPrefix("status ") {
                for m in line.matches(of: #/(\d{3}) × (\d+)/#) {
                    guard let status = Int(m.1), let count = Int(m.2) else { continue }
                    if status < 400 { succeeded += count } else if status >= 500 { failed += count }
                }
            } else if line.hasPrefix("no answer ") {
                for m in line.matches(of: #/× (\d+)/#) { failed += Int(m.1) ?? 0 }
            } else if line.contains("curl: (") {
                failed += 1
            } else if let m = line.wholeMatch(of: #/(?:< )?HTTP/1\.[01] (\d{3}).*/#), let status = Int(m.1) {
                if status < 400 { succeeded += 1 } else if status >= 500 { failed += 1 }
            }
        }
    }
}
