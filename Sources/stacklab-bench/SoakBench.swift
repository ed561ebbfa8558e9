// The soak: kill/revive cycles of a process (web-01/nginx), a whole server (web-01) and a store (web-01/mysql) under
// steady load, watching what a leak would show — open descriptors, threads, resident memory — before, during and
// after, and the requests that failed. A failure while the fault is on is the design's (a dead server is hit until
// lb-01 marks it DOWN); a failure once the lab is whole again is a bug, counted apart.
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import StackLab
import StackLabStore

/// What this process holds right now (Linux /proc; zeros elsewhere).
struct ProcessFootprint {
    var descriptors: Int
    var threads: Int
    var residentMB: Double

    static func now() -> ProcessFootprint {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        var threads = 0
        var resident = 0.0
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in status.split(separator: "\n") {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if line.hasPrefix("Threads:"), words.count > 1 { threads = Int(words[1]) ?? 0 }
                if line.hasPrefix("VmRSS:"), words.count > 1 { resident = (Double(words[1]) ?? 0) / 1024 }
            }
        }
        return ProcessFootprint(descriptors: descriptors, threads: threads, residentMB: resident)
    }

    var line: String { String(format: "%4d descriptors  %3d threads  %6.1f MB resident", descriptors, threads, residentMB) }
}

enum SoakBench {
    /// A cycle's counts only: a LoadReport carries its latency histogram (about 160 KB), and keeping two per cycle
    /// would be the bench's own growth, read as the lab's.
    struct CycleResult {
        var target: String
        var failedWhileFaulty: Int
        var failedOnceWhole: Int
        var seconds: Double
    }

    /// Runs `cycles` rounds of the three faults on a lab whose health checks run every 200 ms (so a cycle takes about
    /// a second instead of ten; the real default is 2 s). Returns false when a request failed with the lab whole.
    static func run(lab: Lab, cycles: Int, connections: Int, targets: [String]) async throws -> Bool {
        guard let entry = lab.entryAddress, let colon = entry.lastIndex(of: ":"), let port = Int(entry[entry.index(after: colon)...]) else {
            throw BenchError("the lab has no balancer")
        }
        let host = String(entry[..<colon])
        print("soak: \(cycles) cycles of kill/revive of \(targets.joined(separator: ", ")) under load (\(connections) connections, GET /)")

        // Warm up: pools, caches and the bounded logs (5,000 lines each) and trace ring (8,192 requests) fill up first,
        // so that "before" already holds what a steady lab holds and growth after it is a leak.
        _ = await LoadGenerator(lab: lab, plan: LoadPlan(limit: .requests(10_000), connections: connections, host: host, port: port)).run()
        // Both readings are taken once traffic has stopped and closing connections are gone.
        try? await Task.sleep(nanoseconds: 1_000_000_000)
        let before = ProcessFootprint.now()
        var peak = before
        print("before  \(before.line)")

        var results: [CycleResult] = []
        for cycle in 1...cycles {
            for name in targets {
                let started = Date()
                let generator = LoadGenerator(lab: lab, plan: LoadPlan(limit: .seconds(LoadPlan.maxSeconds), connections: connections,
                                                                       host: host, port: port, requestTimeout: 10))
                let answered = NIOLockedValueBox(0)
                let load = Task { await generator.run(every: 0.5) { report in answered.withLockedValue { $0 = report.responses } } }
                try await waitFor("load to get answers") { answered.withLockedValue { $0 } > 50 }
                if name == "none" {
                    // The control: the same traffic for about as long as a fault cycle, with nothing broken.
                    try await Task.sleep(nanoseconds: 1_000_000_000)
                } else {
                    let target = try lab.target(name)
                    try await lab.apply(.crash, to: target)
                    // A web server (or its nginx, which answers the checks) is taken out of rotation first.
                    switch target {
                    case .server(let server) where serverStatus(lab, server) != nil,
                         .process(let server, .nginx) where serverStatus(lab, server) != nil:
                        try await waitFor("lb-01 to mark \(server) DOWN") { serverStatus(lab, server) == "DOWN" }
                    default: break
                    }
                    try await lab.apply(.revive, to: target)
                }
                try await waitFor("the lab to be whole again") { isWhole(lab) }
                load.cancel()
                let during = await load.value
                let after = await LoadGenerator(lab: lab, plan: LoadPlan(limit: .requests(500), connections: connections,
                                                                           host: host, port: port, requestTimeout: 10)).run()
                let now = ProcessFootprint.now()
                peak = ProcessFootprint(descriptors: max(peak.descriptors, now.descriptors), threads: max(peak.threads, now.threads),
                                        residentMB: max(peak.residentMB, now.residentMB))
                let result = CycleResult(target: name, failedWhileFaulty: failed(during), failedOnceWhole: failed(after),
                                         seconds: Date().timeIntervalSince(started))
                results.append(result)
                print(String(format: "cycle %3d  ", cycle) + name.padding(toLength: 13, withPad: " ", startingAt: 0)
                      + String(format: "%6d requests, %4d failed while faulty, %3d once whole  %4.1f s  ",
                               during.responses + during.failureCount, failed(during), failed(after), result.seconds) + now.line)
                for (label, report) in [("while faulty", during), ("once whole", after)] where failed(report) > 0 {
                    print("           failed \(label): \(breakdown(report))")
                }
                if failed(after) > 0 {
                    // What the servers wrote about it: a failure once whole is a bug to chase.
                    for process in lab.processes {
                        for line in process.log.tail(400).filter({ $0.contains(" 50") || $0.contains("error") || $0.contains("ERROR") || $0.contains(" is DOWN") }).suffix(3) {
                            print("           \(process.name): \(line.prefix(220))")
                        }
                    }
                }
            }
        }
        // As before: once traffic has stopped. Pools the lab keeps (nginx's upstream keepalive, the app's MySQL
        // connections) may hold a few more than at the start for a while; they get up to 30 s to give them back.
        try? await Task.sleep(nanoseconds: 1_000_000_000)
        let stopped = Date()
        var after = ProcessFootprint.now()
        while after.descriptors > before.descriptors, Date().timeIntervalSince(stopped) < 30 {
            try? await Task.sleep(nanoseconds: 250_000_000)
            after = ProcessFootprint.now()
        }
        let settled = Date().timeIntervalSince(stopped)
        print("")
        print("before  \(before.line)")
        print("peak    \(peak.line)")
        print("after   \(after.line)" + String(format: "  (%.1f s after the traffic stopped)", settled + 1))
        let unexpected = results.reduce(0) { $0 + $1.failedOnceWhole }
        let faulty = results.reduce(0) { $0 + $1.failedWhileFaulty }
        for name in targets {
            let mine = results.filter { $0.target == name }
            let counts = mine.map(\.failedWhileFaulty)
            print("  " + name.padding(toLength: 13, withPad: " ", startingAt: 0)
                  + String(format: " failed while faulty per cycle: min %d, median %d, max %d",
                           counts.min() ?? 0, counts.sorted()[counts.count / 2], counts.max() ?? 0))
        }
        let growth = before.residentMB > 0 ? (after.residentMB - before.residentMB) / before.residentMB * 100 : 0
        print("")
        print("targets:")
        print(String(format: "  memory after within 10 %% of before: %+.1f %%  %@", growth, mark(growth <= 10)))
        print("  descriptors after = before:       \(before.descriptors) → \(after.descriptors)  \(mark(after.descriptors <= before.descriptors))")
        print("  no request fails once whole:      \(unexpected) failed  \(mark(unexpected == 0))")
        print("  (\(faulty) requests failed while a fault was on: the design's weakness, not a bug)")
        return unexpected == 0 && growth <= 10
    }

    static func failed(_ report: LoadReport) -> Int {
        report.failureCount + report.statuses.filter { $0.key >= 500 }.reduce(0) { $0 + $1.value }
    }

    /// `503 ×12, connection refused ×3`
    static func breakdown(_ report: LoadReport) -> String {
        let statuses = report.statuses.filter { $0.key >= 500 }.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
        let failures = report.failures.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
        return (statuses + failures).joined(separator: ", ")
    }

    static func serverStatus(_ lab: Lab, _ server: String) -> String? {
        lab.balancers.first?.serverStatuses.first { $0.name == server }?.status
    }

    /// Every process runs, lb-01 sees every server UP, and the replica replicates.
    static func isWhole(_ lab: Lab) -> Bool {
        guard lab.processes.allSatisfy({ $0.state == .running }),
              lab.balancers.allSatisfy({ $0.serverStatuses.allSatisfy { $0.status == "UP" } }) else { return false }
        for process in lab.processes {
            if let replica = (process as? StoreProcess)?.store?.status.replica, !(replica.ioRunning == .yes && replica.sqlRunning) { return false }
        }
        return true
    }

    static func waitFor(_ what: String, timeout: Double = 60, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw BenchError("soak: timed out waiting for \(what)") }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }
}
