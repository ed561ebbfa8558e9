import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("The top view, rendered to text")
struct MonitoringTopViewTests {
    static let snapshot = TopSnapshot(
        labName: "foobar", time: Date(timeIntervalSinceReferenceDate: 0),
        servers: [
            .init(name: "lb-01", address: "127.0.1.1", processes: [.init(kind: "haproxy", state: "running", healthy: true, requestsPerSecond: 120)],
                  isBalancer: true, requestsPerSecond: 120, errorsPerSecond: 0),
            .init(name: "web-01", address: "127.0.1.11",
                  processes: [.init(kind: "nginx", state: "running", healthy: true, requestsPerSecond: 120),
                              .init(kind: "gunicorn", state: "running", healthy: true, requestsPerSecond: 118),
                              .init(kind: "mysql", state: "running", healthy: true, note: "primary")],
                  balancerStatus: "UP", share: 1, requestsPerSecond: 120, errorsPerSecond: 0),
            .init(name: "web-02", address: "127.0.1.12",
                  processes: [.init(kind: "nginx", state: "crashed", healthy: false), .init(kind: "gunicorn", state: "crashed", healthy: false),
                              .init(kind: "mysql", state: "crashed", healthy: false)],
                  balancerStatus: "DOWN", share: 0),
        ],
        alerts: [],
        events: (0..<12).map { .init(time: Date(timeIntervalSinceReferenceDate: Double($0)), text: "event \($0)", bad: true) })

    @Test func framesFitTheScreenAtEverySize() {
        for (width, height) in [(100, 30), (80, 24), (60, 15), (40, 10)] {
            let frame = TopView.render(snapshot: Self.snapshot, width: width, height: height, color: false)
            let lines = frame.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count <= height, "\(width)x\(height): \(lines.count) lines")
            #expect(lines.allSatisfy { $0.count <= width }, "\(width)x\(height)\n\(frame)")
            #expect(frame.contains("web-02"), "\(width)x\(height)")
        }
        let big = TopView.render(snapshot: Self.snapshot, width: 100, height: 30, color: false)
        // Side by side on a projector, newest events kept when the log is cut.
        #expect(big.split(separator: "\n").contains { $0.contains("web-01 127.0.1.11") && $0.contains("web-02 127.0.1.12  DOWN") })
        #expect(big.contains("event 11"))
        #expect(big.contains("lb: UP  100% of traffic") && big.contains("lb: DOWN  0% of traffic"))
        let colored = TopView.render(snapshot: Self.snapshot, width: 100, height: 30, color: true)
        #expect(colored.contains("\u{1B}[1;31m  DOWN\u{1B}[0m"))
        #expect(!big.contains("\u{1B}"))
    }

    @Test func aKilledServerShowsDownWithItsAlertAndEvents() async throws {
        let (lab, folder) = try await startMonitoringLab()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let monitor = try await lab.startMonitor(rules: [try AlertRule(name: "InstanceDown", expression: "up == 0", holdSeconds: 1,
                                                                      annotations: ["summary": "{{ $labels.instance }} down"])],
                                                 interval: 0.25)
        let sampler = TopSampler(lab: lab, monitor: monitor)
        let before = TopView.render(snapshot: sampler.snapshot(), width: 100, height: 30, color: false)
        try await lab.apply(.crash, to: .server("web-02"))
        try await waitUntil(timeout: 30, "lb-01 marks web-02 DOWN and the alert fires") {
            lab.balancers[0].serverStatuses.contains { $0.name == "web-02" && !$0.isUp }
                && monitor.activeAlerts.contains { $0.state == .firing && $0.labels["instance"] == "web-02/nginx" }
        }
        for _ in 0..<4 { _ = try await lab.get("/") }
        let frame = TopView.render(snapshot: sampler.snapshot(), width: 100, height: 30, color: false)
        await monitor.stop()
        await lab.shutdown()

        #expect(!before.contains("DOWN"), "\(before)")
        #expect(frame.contains("web-02 127.0.1.12  DOWN"), "\(frame)")
        #expect(frame.contains("lb: DOWN"), "\(frame)")
        #expect(frame.contains("○ nginx    crashed"), "\(frame)")
        #expect(frame.contains("FIRING  InstanceDown  web-02/nginx down"), "\(frame)")
        #expect(frame.contains("web-02/nginx crashed"), "\(frame)")
        #expect(frame.contains("lb-01 sees web-02 DOWN"), "\(frame)")
    }
}
