import Foundation
import NIOCore
import StackLab

/// Exercise 5: from the internet only lb-01's 8080 and 8443 answer; MySQL answers the app servers (and the replica)
/// only; the site, the app's database access and replication keep working.
struct FirewallScenario: Scenario {
    static let publicPorts: Set<Int> = [8080, 8443]

    var checks: [Check] {
        [
            Check("from the internet, only lb-01's 8080 and 8443 answer", points: 3) { context in
                let lab = context.lab
                let ports = Scanner.defaultPorts(in: lab)
                let servers = lab.topology.servers
                let scans = await withTaskGroup(of: (String, [ScanResult]).self) { group in
                    for server in servers {
                        group.addTask { (server.name, await Scanner.scan(lab, address: server.address, ports: ports, timeoutMilliseconds: 800)) }
                    }
                    var all: [String: [ScanResult]] = [:]
                    for await (name, results) in group { all[name] = results }
                    return all
                }
                var open: [String] = []
                for server in servers {
                    for result in scans[server.name] ?? [] where result.state == .open {
                        if server.name == "lb-01" && Self.publicPorts.contains(result.port) { continue }
                        open.append("\(server.name) \(result.port)/tcp (\(result.service))")
                    }
                }
                return open.isEmpty ? .pass("scanned \(ports.count) ports on each server from 127.0.0.1: only lb-01's site ports are open")
                    : .fail("a scan from the internet (127.0.0.1) finds open: \(open.joined(separator: ", ")); only lb-01's 8080 and 8443 may answer")
            },
            Check("MySQL refuses connections from lb-01", points: 1) { context in
                let lab = context.lab
                guard let lb = lab.topology.server(named: "lb-01") else { return .fail("the lab has no lb-01") }
                let dialer = Dialer(network: lab.network, fromServer: lb.name, sourceAddress: lb.address)
                var reached: [String] = []
                for server in lab.topology.servers where server.processes.contains(.mysql) {
                    let channel = try? await dialer.connect(host: server.address, configuredPort: 3306, on: lab.group.next(),
                                                            timeoutMilliseconds: 800) { $0.eventLoop.makeSucceededVoidFuture() }.get()
                    if let channel {
                        reached.append("\(server.name):3306")
                        try? await channel.close()
                    }
                }
                return reached.isEmpty ? .pass("lb-01 cannot open a connection to any MySQL")
                    : .fail("lb-01 (127.0.1.1) opened a connection to \(reached.joined(separator: " and ")); MySQL must answer the app servers only")
            },
            Check("the site still works through lb-01", points: 1) { context in
                let seen = await context.requestsInARow(10)
                let failed = seen.filter { $0.status != 200 }
                return failed.isEmpty ? .pass("10 requests through lb-01 answered 200")
                    : .fail("\(failed.count) of 10 requests through lb-01 did not answer 200 (\(tally(failed.map(\.word))))")
            },
            Check("the apps reach MySQL and replication runs", points: 2) { context in
                let body = "fw-\(UUID().uuidString.prefix(6))"
                let write = await context.request("/api/posts", method: "POST", body: "author=grader&body=\(body)")
                guard let status = write.status, (200..<300).contains(status) else {
                    return .fail("a post through the site was refused (\(write.word)): the app servers cannot write to the primary")
                }
                let seen = await context.wait(upTo: 3) { await context.request("/api/posts").body.contains(body) }
                return seen ? .pass("a post written through the site was read back from the replica")
                    : .fail("a post acknowledged by the site never showed up in GET /api/posts within 3 s: can the replica and the apps reach MySQL?")
            },
        ]
    }

    func ready(_ context: GradingContext) async -> String? {
        if let problem = await context.waitForSiteUp() { return problem }
        _ = await context.wait(upTo: 5) { (try? await context.store(on: "web-02")?.execute("SELECT COUNT(*) FROM foobar.posts")) != nil }
        return nil
    }
}
