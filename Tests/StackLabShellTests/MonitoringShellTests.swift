import Foundation
import StackLab
import Testing
@testable import StackLabShell
import StackLabTestSupport

/// `monitor on`, `alerts`, `metrics` and `top` through the shell against a live foobar lab.
@Suite(.serialized, .runsALab) @MainActor struct MonitoringShellTests {
    @Test func withoutAMonitorNobodyNoticesAKilledServer() async throws {
        try await withMonitoringShell { shell, out in
            #expect(await out.of(shell, "kill web-02").ok)
            let alerts = await out.of(shell, "alerts")
            #expect(!alerts.ok)
            #expect(alerts.text.contains("no monitor is running"))
            let top = await out.of(shell, "top --times 1")
            #expect(top.text.contains("no monitor — nobody is watching"), "\(top.text)")
        }
    }

    /// In the hardened lab web-01's firewall filters its exporter from the internet side, where `metrics` scrapes
    /// from: the answer says so instead of blaming the exporter.
    @Test func metricsBlockedByAFirewallSaysSo() async throws {
        try await withMonitoringShell { shell, out in
            let folder = temporaryFolder("stacklab-hardened-metrics") + "/lab"
            defer { try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent) }
            try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: folder)
            let load = await out.of(shell, "lab load \(folder)")
            #expect(load.ok, "\(load.text)")
            let metrics = await out.of(shell, "metrics web-01/nginx")
            #expect(metrics.text.contains("web-01's firewall drops connections from 127.0.0.1, where 'metrics' scrapes from"), "\(metrics.text)")
            #expect(!metrics.text.contains("down with its process"))
        }
    }

    @Test func theShellPrintsInstanceDownPendingFiringAndResolved() async throws {
        try await withMonitoringShell { shell, out in
            let on = await out.of(shell, "monitor on")
            #expect(on.ok, "\(on.text)")
            #expect(on.text.contains("monitor on 127.0.1.20:"))
            #expect(on.text.contains("rule InstanceDown: up == 0 for 5s"))
            try await waitUntil("every target scraped") {
                let targets = shell.session.monitoring?.monitor.targetHealth ?? []
                return targets.count == 7 && targets.allSatisfy(\.up)
            }
            let targets = await out.of(shell, "monitor")
            #expect(targets.text.contains("web-02/mysql"), "\(targets.text)")

            out.clear()
            #expect(await shell.execute("kill web-02"))
            try await waitUntil(timeout: 30, "a firing notice") { out.text.contains("alert InstanceDown firing: instance=web-02/nginx") }
            // Each notice is wrapped to the width (80 columns here), its later lines indented.
            let notices = out.text.replacingOccurrences(of: "\n    ", with: " ")
            #expect(notices.contains("alert InstanceDown pending: instance=web-02/nginx job=nginx — Instance web-02/nginx down"), "\(notices)")
            let pendingAt = try #require(notices.range(of: "InstanceDown pending: instance=web-02/nginx"))
            let firingAt = try #require(notices.range(of: "InstanceDown firing: instance=web-02/nginx"))
            #expect(pendingAt.lowerBound < firingAt.lowerBound)

            let alerts = await out.of(shell, "alerts")
            #expect(alerts.text.contains("InstanceDown firing"), "\(alerts.text)")
            #expect(alerts.text.contains("firing {instance=\"web-02/nginx\", job=\"nginx\", severity=\"page\"}"), "\(alerts.text)")

            let metrics = await out.of(shell, "metrics lb-01 haproxy_server_status")
            #expect(metrics.text.contains("# TYPE haproxy_server_status gauge"))
            #expect(!metrics.text.contains("haproxy_backend"))
            let dead = await out.of(shell, "metrics web-02/nginx")
            #expect(dead.text.contains("web-02/nginx: no metrics from http://127.0.1.12:"), "\(dead.text)")

            let top = await out.of(shell, "top --times 1")
            #expect(top.text.contains("web-02 127.0.1.12  DOWN"), "\(top.text)")
            #expect(top.text.contains("FIRING  InstanceDown"), "\(top.text)")

            out.clear()
            #expect(await shell.execute("revive web-02"))
            try await waitUntil(timeout: 30, "a resolved notice") { out.text.contains("alert InstanceDown resolved: instance=web-02/nginx") }
            let off = await out.of(shell, "monitor off")
            #expect(off.ok)
            #expect(shell.session.monitoring == nil)
        }
    }

    @Test func resetStopsTheMonitorAsTheDesignHasNone() async throws {
        try await withMonitoringShell { shell, out in
            #expect(await out.of(shell, "monitor on").ok)
            #expect(await out.of(shell, "reset").ok)
            #expect(shell.session.monitoring == nil)
            #expect(await out.of(shell, "monitor on").ok)
        }
    }
}

/// Ports for these tests: 20000…20400 (the plan for every suite is in StackLabTests' TestLabs.swift).
enum MonitoringShellPorts {
    private static let next = LockedBox(19_900)
    static func offset() -> Int {
        next.withValue { value in
            value = value >= 20_400 ? 20_000 : value + 100
            return value
        }
    }
}

/// `withShell`, on the monitoring tests' ports.
@MainActor
func withMonitoringShell(_ body: (Shell, CapturedOutput) async throws -> Void) async throws {
    let folder = temporaryFolder("stacklab-monitoring-shell")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try writeFastFoobar(to: folder)
    let session = try await LabSession.start(LabSource(directory: folder), options: LabOptions(portOffset: MonitoringShellPorts.offset()),
                                             loader: FolderLabLoader())
    let output = CapturedOutput()
    let shell = Shell(session: session, output: output, style: .plain)
    do {
        try await body(shell, output)
    } catch {
        await session.shutdown()
        throw error
    }
    await session.shutdown()
}
