import Foundation
import NIOConcurrencyHelpers
import StackLab

/// Exercise 2: killing web-01 under load fails no request and keeps no visitor waiting over 1 s, and lb-01 takes it
/// out of rotation within 1.5 s; it comes back within 5 s of being revived.
struct FailoverScenario: Scenario {
    static let outOfRotationLimit = 1.5
    /// HAProxy redispatches a refused connection at once (round robin, more than one server up); a retry on the same
    /// server first waits min(timeout connect, 1 s). The bound sits at that wait: a loaded machine's slowest
    /// redispatched request is well under it, any retry that waited is over it.
    static let slowestLimit = 1.0
    static let watchAfterCrash = 3.0
    static let backLimit = 5.0

    /// What the crash check measured, for the next checks.
    final class Measurements: Sendable {
        let downAfter = NIOLockedValueBox<Double?>(nil)
        let lastStatus = NIOLockedValueBox<String>("")
        /// How long each request answered after the crash took.
        let afterCrash = NIOLockedValueBox<[Double]?>(nil)
    }

    var checks: [Check] {
        let measured = Measurements()
        return [
            Check("killing web-01 under load fails no request", points: 3) { context in
                // Four visitors, each sending its next request as soon as the last is answered. One second in, the
                // visitors finish what they have in flight and web-01 is killed between two requests: what happens
                // to a request cut in the middle is not what this exercise is about (HAProxy does not resend those).
                let lab = context.lab
                let crashAt = Date().addingTimeInterval(1)
                let stopAt = crashAt.addingTimeInterval(Self.watchAfterCrash)
                let gate = CrashGate()
                let observations = NIOLockedValueBox<[(Date, GradingContext.Observation)]>([])
                await withTaskGroup(of: Void.self) { group in
                    for visitor in 0..<4 {
                        group.addTask {
                            while Date() < stopAt {
                                if visitor == 0, Date() >= crashAt, !gate.fired {
                                    await gate.crash { try? await lab.apply(.crash, to: .server("web-01")) }
                                }
                                guard gate.enter() else {
                                    try? await Task.sleep(nanoseconds: 1_000_000)
                                    continue
                                }
                                let sent = Date()
                                let seen = await context.request("/", timeout: 5)
                                gate.leave()
                                observations.withLockedValue { $0.append((sent, seen)) }
                            }
                        }
                    }
                    // How long web-01 stays in rotation after the crash.
                    group.addTask {
                        while Date() < stopAt {
                            if let at = gate.crashedAt {
                                let word = context.status(of: "web-01") ?? "?"
                                measured.lastStatus.withLockedValue { $0 = word }
                                if word.hasPrefix("DOWN") || word == "MAINT" {
                                    measured.downAfter.withLockedValue { $0 = Date().timeIntervalSince(at) }
                                    break
                                }
                            }
                            try? await Task.sleep(nanoseconds: 5_000_000)
                        }
                    }
                }
                let all = observations.withLockedValue { $0 }
                let after = all.filter { sent, seen in gate.crashedAt.map { sent.addingTimeInterval(seen.elapsed) >= $0 } ?? false }
                measured.afterCrash.withLockedValue { $0 = after.map(\.1.elapsed) }
                let failed = all.filter { $0.1.failed }
                let slow = after.map(\.1.elapsed).max() ?? 0
                if failed.isEmpty {
                    return .pass("\(all.count) requests, \(after.count) of them after web-01 was killed: none failed; the limit is 0. "
                        + "The slowest took \(milliseconds(slow)).")
                }
                return .fail("\(failed.count) of \(after.count) requests failed after web-01 was killed (\(tally(failed.map(\.1.word)))); "
                    + "the limit is 0. The slowest took \(milliseconds(slow)).")
            },
            Check("no visitor waits over 1 s while web-01 dies", points: 2) { _ in
                guard let after = measured.afterCrash.withLockedValue({ $0 }), let slowest = after.max() else {
                    return .skip("not measured: no request was answered after web-01 was killed")
                }
                let limit = Self.slowestLimit
                let over = after.filter { $0 > limit }.count
                if over == 0 {
                    return .pass("the slowest of \(after.count) requests after web-01 was killed took \(milliseconds(slowest)); "
                        + "the limit is \(milliseconds(limit))")
                }
                return .fail("the slowest of \(after.count) requests after web-01 was killed took \(milliseconds(slowest)) "
                    + "(\(over) took over \(milliseconds(limit))); the limit is \(milliseconds(limit)). "
                    + "A retry on the same server first waits min(timeout connect, 1 s)")
            },
            Check("web-01 is out of rotation within 1.5 s", points: 2) { _ in
                if let after = measured.downAfter.withLockedValue({ $0 }) {
                    return after <= Self.outOfRotationLimit
                        ? .pass("lb-01 marked web-01 DOWN \(seconds(after)) after it was killed; the limit is \(seconds(Self.outOfRotationLimit))")
                        : .fail("lb-01 marked web-01 DOWN \(seconds(after)) after it was killed; the limit is \(seconds(Self.outOfRotationLimit))")
                }
                let last = measured.lastStatus.withLockedValue { $0 }
                return .fail("web-01 was still \(last.isEmpty ? "in rotation" : last) \(seconds(Self.watchAfterCrash)) after it was killed; "
                    + "the limit is \(seconds(Self.outOfRotationLimit))")
            },
            Check("web-01 is back in rotation within 5 s of reviving", points: 1) { context in
                do { try await context.lab.reviveAll() } catch { return .fail("web-01 could not be revived: \(error)") }
                let revived = Date()
                let back = await context.wait(upTo: Self.backLimit) { context.status(of: "web-01") == "UP" }
                let took = Date().timeIntervalSince(revived)
                guard back else {
                    return .fail("web-01 was still \(context.status(of: "web-01") ?? "?") \(seconds(Self.backLimit)) after it was revived; the limit is 5 s")
                }
                let seen = await context.requestsInARow(10)
                guard seen.contains(where: { $0.servedBy == "web-01" }) else {
                    return .fail("web-01 is UP again, but 10 requests in a row never reached it")
                }
                return .pass("web-01 was UP again \(seconds(took)) after it was revived, and takes requests; the limit is 5 s")
            },
        ]
    }
}

/// Holds the visitors back while web-01 is killed, so that no request is in flight at that instant.
final class CrashGate: Sendable {
    private struct State {
        var holding = false
        var inFlight = 0
        var crashedAt: Date?
    }
    private let state = NIOLockedValueBox(State())

    var crashedAt: Date? { state.withLockedValue { $0.crashedAt } }
    var fired: Bool { state.withLockedValue { $0.holding || $0.crashedAt != nil } }

    /// Whether a visitor may send now (then it must `leave()` once answered).
    func enter() -> Bool {
        state.withLockedValue { state in
            if state.holding { return false }
            state.inFlight += 1
            return true
        }
    }

    func leave() { state.withLockedValue { $0.inFlight -= 1 } }

    /// Stops new requests, waits for those in flight, runs `fault`, lets the visitors go on.
    func crash(_ fault: () async -> Void) async {
        state.withLockedValue { $0.holding = true }
        while state.withLockedValue({ $0.inFlight }) > 0 { try? await Task.sleep(nanoseconds: 500_000) }
        // The clock starts before the fault: the time it takes counts against the learner's config, not for it.
        state.withLockedValue { $0.crashedAt = Date() }
        await fault()
        state.withLockedValue { $0.holding = false }
    }
}
