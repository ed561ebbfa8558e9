import Foundation
import NIOConcurrencyHelpers
import StackLab

/// Exercise 6: with the learner's `monitor/alerts.yml`, a blip (web-01 misses one health check) fires no alert, and a
/// dead web-01 has an alert firing within 10 s.
struct AlertsScenario: Scenario {
    static let quietWatch = 5.0
    static let fireLimit = 10.0

    /// The monitor's alert events, as they happen.
    final class Events: Sendable {
        let list = NIOLockedValueBox<[AlertEvent]>([])
        var firing: [AlertEvent] { list.withLockedValue { $0.filter { $0.kind == .firing } } }
    }

    func prepare(_ definition: LabDefinition) throws -> LabDefinition {
        let file = (definition.directory as NSString).appendingPathComponent("monitor/alerts.yml")
        guard FileManager.default.fileExists(atPath: file) else {
            throw GradeError("monitor/alerts.yml is missing: the monitor's alert rules go there (Prometheus rule-file format)")
        }
        _ = try RuleFile.load(path: file)
        return definition
    }

    var checks: [Check] {
        let events = Events()
        return [
            Check("no alert fires when web-01 misses a single health check", points: 3) { context in
                let lab = context.lab
                let monitor: Monitor
                do { monitor = try await lab.startMonitor(interval: 0.5) } catch { return .fail("the monitor does not start: \(error)") }
                context.adopt(monitor)
                let stream = monitor.events()
                Task { for await event in stream { events.list.withLockedValue { $0.append(event) } } }
                // Let the monitor see the healthy lab for a moment, then take web-01's nginx away until lb-01 has
                // seen one failed check and the monitor one failed scrape, and bring it back.
                _ = await context.wait(upTo: 3) { monitor.rounds >= 2 }
                let rounds = monitor.rounds
                try? await lab.apply(.crash, to: .process(server: "web-01", process: .nginx))
                let missed = await context.wait(upTo: 4) {
                    (context.status(of: "web-01") ?? "UP") != "UP" && monitor.rounds >= rounds + 2
                }
                try? await lab.apply(.revive, to: .process(server: "web-01", process: .nginx))
                guard missed else { return .fail("lb-01 never saw web-01 fail a check while its nginx was down (status \(context.status(of: "web-01") ?? "?"))") }
                let blip = context.status(of: "web-01") ?? "?"
                _ = await context.wait(upTo: Self.quietWatch) { !events.firing.isEmpty }
                let fired = events.firing
                if !fired.isEmpty {
                    return .fail("web-01 was \(blip) for a moment and came back, and \(fired.count) alert\(fired.count == 1 ? "" : "s") fired: "
                        + fired.map { "\($0.alertName) (\(labels($0)))" }.joined(separator: ", ") + "; a single failed check must not page anyone")
                }
                let pending = Set(events.list.withLockedValue { $0.filter { $0.kind == .pending }.map(\.alertName) })
                return .pass("web-01 was \(blip) for a moment; no alert fired" + (pending.isEmpty ? "" : " (pending only: \(pending.sorted().joined(separator: ", ")))"))
            },
            Check("an alert about web-01 fires within 10 s of its death", points: 3) { context in
                let lab = context.lab
                _ = await context.wait(upTo: 5) { context.status(of: "web-01") == "UP" }
                events.list.withLockedValue { $0.removeAll() }
                try? await lab.apply(.crash, to: .server("web-01"))
                let died = Date()
                let fired = await context.wait(upTo: Self.fireLimit) { events.firing.contains { Self.mentionsWeb01($0) } }
                if fired, let first = events.firing.first(where: { Self.mentionsWeb01($0) }) {
                    return .pass("\(first.alertName) fired \(seconds(first.time.timeIntervalSince(died))) after web-01 died; "
                        + "the limit is \(Int(Self.fireLimit)) s")
                }
                let others = events.firing.map(\.alertName)
                let pending = Set(events.list.withLockedValue { $0.filter { $0.kind == .pending }.map(\.alertName) })
                return .fail("no alert about web-01 fired within \(Int(Self.fireLimit)) s of its death"
                    + (others.isEmpty ? "" : " (firing, not about web-01: \(others.joined(separator: ", ")))")
                    + (pending.isEmpty ? "" : " (still pending: \(pending.sorted().joined(separator: ", ")))"))
            },
        ]
    }

    static func mentionsWeb01(_ event: AlertEvent) -> Bool {
        event.alert.labels.keys.contains { (event.alert.labels[$0] ?? "").contains("web-01") }
    }
}

private func labels(_ event: AlertEvent) -> String {
    event.alert.labels.keys.filter { $0 != "alertname" }.sorted().map { "\($0)=\(event.alert.labels[$0] ?? "")" }.joined(separator: " ")
}
