import Foundation
import NIOCore
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("Security: firewalls and the port scan, on live labs", .serialized, .runsALab)
struct SecurityFirewallTests {
    func states(_ results: [ScanResult]) -> [Int: PortState] {
        Dictionary(uniqueKeysWithValues: results.map { ($0.port, $0.state) })
    }

    @Test func theDefaultLabShowsWebO1sDatabaseOpenToTheInternet() async throws {
        let running = try await RunningLab.start("foobar")
        let web01 = await Scanner.scan(running.lab, address: "127.0.1.11", ports: [22, 3306, 8000, 8080], timeoutMilliseconds: 1500)
        await running.cleanup()
        #expect(states(web01) == [22: .closed, 3306: .open, 8000: .open, 8080: .open])
        #expect(Scanner.render(web01).hasPrefix("PORT     STATE    SERVICE\n22/tcp   closed   ssh\n3306/tcp open     mysql\n"))
    }

    /// The firewall matrix of the hardened lab: from the internet only lb-01's public ports answer; the servers
    /// still reach each other, so the site works end to end.
    @Test(.enabled(if: Tool.curl != nil, "curl is needed")) func theHardenedLabOpensOnlyLb01sPublicPortsAndStillWorks() async throws {
        let running = try await RunningLab.start("foobar-hardened")
        let lab = running.lab
        let ports = [22, 3306, 8000, 8080, 8443]
        let lb = await Scanner.scan(lab, address: "127.0.1.1", ports: ports, timeoutMilliseconds: 1000)
        let web01 = await Scanner.scan(lab, address: "127.0.1.11", ports: ports, timeoutMilliseconds: 1000)
        let web02 = await Scanner.scan(lab, address: "127.0.1.12", ports: ports, timeoutMilliseconds: 1000)
        // End to end through every firewall: lb-01 → nginx → gunicorn → the primary (write) and the replica (read).
        let created = try await lab.internetClient.requestOverHTTPS(running, method: "POST", path: "/api/posts", body: "author=ann&body=through-the-firewalls")
        var listed = ""
        try await waitUntil("the new post to reach the replica and be listed") {
            listed = try await lab.internetClient.requestOverHTTPS(running, method: "GET", path: "/api/posts", body: nil)
            return listed.contains("through-the-firewalls")
        }
        let blockedLog = lab.network.security.firewall(for: "web-01")?.log.tail() ?? []
        await running.cleanup()

        #expect(states(lb) == [22: .filtered, 3306: .filtered, 8000: .filtered, 8080: .open, 8443: .open])
        #expect(states(web01) == [22: .filtered, 3306: .filtered, 8000: .filtered, 8080: .filtered, 8443: .filtered])
        #expect(states(web02) == [22: .filtered, 3306: .filtered, 8000: .filtered, 8080: .filtered, 8443: .filtered])
        #expect(created.hasPrefix("{\"id\": "), "POST /api/posts answered: \(created)")
        #expect(blockedLog.contains { $0.contains("[UFW BLOCK]") && $0.contains("SRC=127.0.0.1 DST=127.0.1.11") && $0.contains("DPT=3306") })
    }

    /// deny drops (the client waits for its timeout), reject refuses at once — for the lab's own connections, and in
    /// the kernel for a real client (curl).
    @Test func denyTimesOutAndRejectRefuses() async throws {
        let running = try await RunningLab.start("foobar")
        let lab = running.lab
        let firewall = try lab.firewall("web-01")
        // ufw's fresh default is deny incoming: allow by default here, so only the two rules below block.
        try firewall.run(UFWCommandParser.parse("default allow incoming"))
        try firewall.run(UFWCommandParser.parse("deny from 127.0.0.1 to any port 8080 proto tcp"))
        try firewall.run(UFWCommandParser.parse("reject from 127.0.0.1 to any port 8000 proto tcp"))
        try firewall.run(UFWCommandParser.parse("enable"))
        let dialer = Dialer(network: lab.network, fromServer: "internet", sourceAddress: LabNetwork.internetAddress)
        func dial(_ port: Int) async -> (DialError?, Double) {
            let started = Date()
            do {
                let channel = try await dialer.connect(host: "127.0.1.11", configuredPort: port, on: lab.group.next(), timeoutMilliseconds: 800) {
                    $0.eventLoop.makeSucceededVoidFuture()
                }.get()
                try? await channel.close()
                return (nil, Date().timeIntervalSince(started))
            } catch {
                return (error as? DialError, Date().timeIntervalSince(started))
            }
        }
        let denied = await dial(8080)
        let rejected = await dial(8000)
        let fromLb = try await Dialer(network: lab.network, fromServer: "lb-01", sourceAddress: "127.0.1.1")
            .connect(host: "127.0.1.11", configuredPort: 8080, on: lab.group.next(), timeoutMilliseconds: 5000) { $0.eventLoop.makeSucceededVoidFuture() }.get()
        try? await fromLb.close()
        // A real client outside the lab: the kernel drops its SYN (deny) or the lab resets the connection (reject).
        var curlDenied: Tool.Result?
        var curlRejected: Tool.Result?
        if let curl = Tool.curl {
            curlDenied = try await Tool.run(curl, ["-sS", "--max-time", "2", "http://127.0.1.11:\(running.port(8080))/"])
            curlRejected = try await Tool.run(curl, ["-sS", "--max-time", "2", "http://127.0.1.11:\(running.port(8000))/"])
        }
        // Disabled again, everything answers.
        try firewall.run(UFWCommandParser.parse("disable"))
        let afterDisable = await dial(8080)
        await running.cleanup()

        #expect(denied.0 == .timedOut)
        #expect(denied.1 >= 0.7, "a drop must make the client wait for its timeout (waited \(denied.1) s)")
        // Refused, not timed out: the answer came before the dial's own timeout (how soon depends on the machine).
        #expect(rejected.0 == .refused, "a reject must refuse (got \(String(describing: rejected.0)) after \(rejected.1) s)")
        #expect(afterDisable.0 == nil)
        if let curlDenied, let curlRejected {
            #expect(curlDenied.status == 28, "curl against a dropped port: \(curlDenied.output)")
            #expect(curlDenied.output.contains("Connection timed out") || curlDenied.output.contains("Timeout was reached")
                        || curlDenied.output.contains("timed out"), "\(curlDenied.output)")
            #expect(curlRejected.status != 0 && curlRejected.status != 28, "curl against a rejected port: \(curlRejected.status) \(curlRejected.output)")
        }
    }
}

extension SecurityFirewallTests {
    /// A revived process opens a new listening socket: it must get the kernel filter again.
    @Test(.enabled(if: Tool.curl != nil, "curl is needed")) func aRevivedProcessIsStillBehindTheFirewall() async throws {
        let running = try await RunningLab.start("foobar-hardened")
        let before = try await Tool.run(Tool.curl!, ["-sS", "--max-time", "1", "http://127.0.1.11:\(running.port(8080))/"])
        try await running.lab.apply(.crash, to: .process(server: "web-01", process: .nginx))
        try await running.lab.apply(.revive, to: .process(server: "web-01", process: .nginx))
        let after = try await Tool.run(Tool.curl!, ["-sS", "--max-time", "1", "http://127.0.1.11:\(running.port(8080))/"])
        let fromLb = try await Dialer(network: running.lab.network, fromServer: "lb-01", sourceAddress: "127.0.1.1")
            .connect(host: "127.0.1.11", configuredPort: 8080, on: running.lab.group.next(), timeoutMilliseconds: 5000) {
                $0.eventLoop.makeSucceededVoidFuture()
            }.get()
        try? await fromLb.close()
        await running.cleanup()
        #expect(before.status == 28, "\(before.output)")
        #expect(after.status == 28, "after a revive: \(after.output)")
    }
}

extension SecurityFirewallTests {
    /// The hardened firewalls let the monitor (127.0.1.20) scrape every exporter, and nobody else.
    @Test func theMonitorScrapesEveryTargetThroughTheHardenedFirewalls() async throws {
        let running = try await RunningLab.start("foobar-hardened")
        let lab = running.lab
        let monitor = try await lab.startMonitor(interval: 0.2)
        var waited: (any Error)?
        do {
            try await waitUntil("every target scraped and up") {
                monitor.targetHealth.count == lab.metricsTargets.count && monitor.targetHealth.allSatisfy(\.up)
            }
        } catch { waited = error }
        let exporters = await Scanner.scan(lab, address: "127.0.1.11", ports: [9102, 9104, 9113], timeoutMilliseconds: 500)
        await running.cleanup()
        #expect(waited == nil, "targets down: \(monitor.targetHealth.filter { !$0.up })")
        #expect(exporters.allSatisfy { $0.state == .filtered }, "the exporters must not be open to the internet: \(exporters)")
    }
}

extension HTTPClient {
    /// The hardened lab answers plain HTTP with a redirect only; requests go to HTTPS with the real curl.
    func requestOverHTTPS(_ running: RunningLab, method: String, path: String, body: String?) async throws -> String {
        let port = running.port(8443)
        var arguments = ["-sS", "--max-time", "20", "--cacert", running.caFile, "--resolve", "www.foobar.com:\(port):127.0.1.1", "-X", method]
        if let body { arguments += ["-d", body] }
        let result = try await Tool.run(try #require(Tool.curl), arguments + ["https://www.foobar.com:\(port)\(path)"])
        return result.output
    }
}
