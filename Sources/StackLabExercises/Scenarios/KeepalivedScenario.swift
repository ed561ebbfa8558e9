import Foundation
import NIOConcurrencyHelpers
import StackLab

/// Exercise 7: lb-02 and a floating address 127.0.1.100 moved by keepalived; killing lb-01 under load leaves at most
/// 1 s without service.
struct KeepalivedScenario: Scenario {
    static let floatingAddress = "127.0.1.100"
    static let port = 8080
    static let outageLimit = 1.0
    static let watchAfterCrash = 3.0

    var checks: [Check] {
        [
            Check("the site answers at the floating address 127.0.1.100:8080", points: 1) { context in
                let seen = await context.request("/", timeout: 2, host: Self.floatingAddress, port: Self.port)
                return seen.status == 200 ? .pass("GET http://127.0.1.100:8080/ → 200 (\(seen.servedBy ?? "?"))")
                    : .fail("GET http://127.0.1.100:8080/ got \(seen.word): nothing serves the site at the floating address")
            },
            Check("one balancer holds the floating address, another stands by", points: 1) { context in
                let keepaliveds = context.lab.processes.compactMap { $0 as? Keepalived }
                guard !keepaliveds.isEmpty else { return .fail("the lab runs no keepalived: add it to lb-01 and lb-02 in lab.conf") }
                let stable = await context.wait(upTo: 5) {
                    keepaliveds.filter { $0.holds(Self.floatingAddress) }.count == 1
                        && keepaliveds.contains { k in k.roles.contains { $0.role == .backup } }
                }
                let words = keepaliveds.map { k in "\(k.serverName) " + k.roles.map(\.role.rawValue).joined(separator: "/") }.joined(separator: ", ")
                guard stable else { return .fail("expected one MASTER holding 127.0.1.100 and a BACKUP; keepalived says: \(words)") }
                guard keepaliveds.first(where: { $0.holds(Self.floatingAddress) })?.serverName == "lb-01" else {
                    return .fail("lb-01 should be the MASTER while it is healthy; keepalived says: \(words)")
                }
                return .pass(words)
            },
            Check("killing lb-01 under load leaves at most 1 s without service", points: 4) { context in
                let lab = context.lab
                guard lab.topology.server(named: "lb-02") != nil else { return .fail("the lab has no lb-02 to take over") }
                let crashAt = Date().addingTimeInterval(0.7)
                let stopAt = crashAt.addingTimeInterval(Self.watchAfterCrash)
                let crashed = NIOLockedValueBox<Date?>(nil)
                let successes = NIOLockedValueBox<[Date]>([])
                let failures = NIOLockedValueBox<[String]>([])
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try? await Task.sleep(nanoseconds: UInt64(max(0, crashAt.timeIntervalSinceNow) * 1e9))
                        crashed.withLockedValue { $0 = Date() }
                        try? await lab.apply(.crash, to: .server("lb-01"))
                    }
                    for _ in 0..<3 {
                        group.addTask {
                            while Date() < stopAt {
                                let seen = await context.request("/", timeout: 2, host: Self.floatingAddress, port: Self.port)
                                if seen.status == 200 {
                                    successes.withLockedValue { $0.append(Date()) }
                                } else {
                                    failures.withLockedValue { $0.append(seen.word) }
                                    try? await Task.sleep(nanoseconds: 10_000_000)
                                }
                            }
                        }
                    }
                }
                guard let at = crashed.withLockedValue({ $0 }) else { return .fail("lb-01 was not killed") }
                let after = successes.withLockedValue { $0 }.filter { $0 > at }.sorted()
                let failed = failures.withLockedValue { $0 }
                guard let back = after.first else {
                    return .fail("no request succeeded in the \(seconds(Self.watchAfterCrash)) after lb-01 was killed"
                        + (failed.isEmpty ? "" : " (\(tally(failed)))") + ": nothing took over the floating address")
                }
                let outage = back.timeIntervalSince(at)
                let observed = "the site answered again \(seconds(outage)) after lb-01 was killed (\(failed.count) failed tries meanwhile)"
                return .init(passed: outage <= Self.outageLimit, observed + "; the limit is \(seconds(Self.outageLimit))")
            },
        ]
    }
}
