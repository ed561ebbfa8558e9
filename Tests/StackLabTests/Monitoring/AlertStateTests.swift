import Foundation
import Testing
@testable import StackLab

@Suite("Alert states: inactive → pending → firing → resolved, as Prometheus")
struct MonitoringAlertStateTests {
    let start = Date(timeIntervalSinceReferenceDate: 1_000)
    func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }
    let down = [VectorSample(labels: ["__name__": "up", "job": "nginx", "instance": "web-02/nginx"], value: 0)]

    func instanceDown(for seconds: Double) throws -> AlertRuleState {
        AlertRuleState(rule: try AlertRule(name: "InstanceDown", expression: "up == 0", holdSeconds: seconds, labels: ["severity": "page"],
                                           annotations: ["summary": "Instance {{ $labels.instance }} down ({{ $value }})"]))
    }

    @Test func anAlertIsPendingUntilForHasElapsedThenFires() throws {
        var rule = try instanceDown(for: 5)
        #expect(rule.state == .inactive)
        #expect(rule.evaluate([], at: at(0)).isEmpty)
        let pending = rule.evaluate(down, at: at(1))
        #expect(pending.map(\.kind) == [.pending])
        #expect(rule.state == .pending)
        for second in 2...5 {
            #expect(rule.evaluate(down, at: at(Double(second))).isEmpty, "still pending at +\(second - 1)s")
        }
        let firing = rule.evaluate(down, at: at(6))
        #expect(firing.map(\.kind) == [.firing])
        #expect(rule.state == .firing)
        let alert = try #require(rule.activeAlerts.first)
        #expect(alert.activeAt == at(1))
        #expect(alert.firedAt == at(6))
        #expect(alert.labels == ["alertname": "InstanceDown", "job": "nginx", "instance": "web-02/nginx", "severity": "page"])
        #expect(alert.annotations["summary"] == "Instance web-02/nginx down (0)")
        #expect(firing.first?.description == "alert InstanceDown firing: instance=web-02/nginx job=nginx — Instance web-02/nginx down (0)")
    }

    @Test func aFiringAlertResolvesWhenTheConditionClearsAndStartsOverIfItReturns() throws {
        var rule = try instanceDown(for: 2)
        _ = rule.evaluate(down, at: at(0))
        _ = rule.evaluate(down, at: at(2))
        #expect(rule.state == .firing)
        let resolved = rule.evaluate([], at: at(3))
        #expect(resolved.map(\.kind) == [.resolved])
        #expect(rule.state == .inactive)
        #expect(rule.alerts.values.first?.resolvedAt == at(3))
        // Back again: a new pending alert, not the old firing one.
        #expect(rule.evaluate(down, at: at(4)).map(\.kind) == [.pending])
        #expect(rule.activeAlerts.first?.activeAt == at(4))
    }

    @Test func aPendingAlertThatClearsNeverFires() throws {
        var rule = try instanceDown(for: 5)
        _ = rule.evaluate(down, at: at(0))
        #expect(rule.evaluate([], at: at(3)).map(\.kind) == [.inactive])
        #expect(rule.alerts.isEmpty)
        #expect(rule.evaluate(down, at: at(4)).map(\.kind) == [.pending])
        #expect(rule.evaluate(down, at: at(8)).isEmpty)
        #expect(rule.evaluate(down, at: at(9)).map(\.kind) == [.firing])
    }

    @Test func forZeroFiresAtTheFirstEvaluation() throws {
        var rule = try instanceDown(for: 0)
        #expect(rule.evaluate(down, at: at(0)).map(\.kind) == [.firing])
    }

    @Test func eachSeriesIsItsOwnAlert() throws {
        var rule = try instanceDown(for: 1)
        let two = down + [VectorSample(labels: ["__name__": "up", "job": "gunicorn", "instance": "web-02/gunicorn"], value: 0)]
        #expect(rule.evaluate(two, at: at(0)).count == 2)
        // web-02/gunicorn answers again before `for` elapsed; web-02/nginx is still down and fires.
        let events = rule.evaluate(down, at: at(1))
        #expect(events.map { "\($0.alert.labels["instance"]!) \($0.kind)" } == ["web-02/gunicorn inactive", "web-02/nginx firing"])
        #expect(rule.activeAlerts.map { $0.labels["instance"] } == ["web-02/nginx"])
        #expect(rule.state == .firing)
    }
}

@Suite("PromQL subset")
struct MonitoringPromQLTests {
    struct Table: SeriesSource {
        var series: [(labels: Labels, points: [Point])]
        func instant(_ selector: PromQL.Selector, at time: Double) -> [VectorSample] {
            series.filter { selector.matches($0.labels) }.compactMap { s in s.points.last.map { VectorSample(labels: s.labels, value: $0.value) } }
        }
        func range(_ selector: PromQL.Selector, seconds: Double, at time: Double) -> [(labels: Labels, points: [Point])] {
            series.filter { selector.matches($0.labels) }.map { ($0.labels, $0.points.filter { $0.time > time - seconds && $0.time <= time }) }
        }
    }

    func counter(_ code: String, server: String, perSecond: Double) -> (labels: Labels, points: [Point]) {
        (["__name__": "responses_total", "code": code, "server": server], (0...60).map { Point(time: Double($0), value: Double($0) * perSecond) })
    }

    @Test func parsesTheLessonsExpressions() throws {
        #expect(try PromQL.parse("up == 0") == .binary("==", .selector(.init(name: "up", matchers: [.init(label: "__name__", kind: .equal, value: "up")])), .number(0), returnBool: false))
        #expect(try PromQL.parse("sum by (proxy) (rate(haproxy_backend_http_responses_total{code=\"5xx\"}[1m])) > 0.5").description
            == "sum by (proxy) (rate(haproxy_backend_http_responses_total{code=\"5xx\"}[1m])) > 0.5")
        #expect(try PromQL.parse("sum(x) by (a)").description == "sum by (a) (x)")
        #expect(throws: PromQLError.self) { try PromQL.parse("rate(x)") }
        #expect(throws: PromQLError.self) { try PromQL.parse("up ==") }
        #expect(throws: PromQLError.self) { try PromQL.parse("up = 0") }
        #expect(PromQL.parseDuration("1h30m") == 5400)
        #expect(PromQL.parseDuration("250ms") == 0.25)
        #expect(PromQL.parseDuration("5") == nil)
    }

    @Test func comparisonsFilterAndAggregationsGroup() throws {
        let table = Table(series: [counter("5xx", server: "web-01", perSecond: 2), counter("5xx", server: "web-02", perSecond: 1),
                                   counter("2xx", server: "web-01", perSecond: 10)])
        let rates = try PromQL.parse("rate(responses_total{code=\"5xx\"}[1m])").evaluate(in: table, at: 60).samples
        #expect(rates.count == 2)
        #expect(rates.allSatisfy { $0.labels["__name__"] == nil })
        #expect(abs((rates.first { $0.labels["server"] == "web-01" }?.value ?? 0) - 2) < 1e-9)
        let high = try PromQL.parse("rate(responses_total[1m]) > 1.5").evaluate(in: table, at: 60).samples
        #expect(Set(high.map { $0.labels["code"]! + "@" + $0.labels["server"]! }) == ["5xx@web-01", "2xx@web-01"])
        let byCode = try PromQL.parse("sum by (code) (rate(responses_total[1m]))").evaluate(in: table, at: 60).samples
        #expect(byCode.count == 2)
        #expect(abs((byCode.first { $0.labels == ["code": "5xx"] }?.value ?? 0) - 3) < 1e-9)
        let ratio = try PromQL.parse("sum(rate(responses_total{code=\"5xx\"}[1m])) / sum(rate(responses_total[1m])) > 0.2")
            .evaluate(in: table, at: 60).samples
        #expect(ratio.count == 1 && abs(ratio[0].value - 3.0 / 13.0) < 1e-9)
        #expect(try PromQL.parse("1 < bool 2").evaluate(in: table, at: 60) == .scalar(1))
    }

    @Test func rateHandlesCounterResets() {
        let points = [Point(time: 0, value: 10), Point(time: 10, value: 20), Point(time: 20, value: 5), Point(time: 30, value: 15)]
        // 10 + (reset: 5 from zero) + 10 = 25 over 30 s of samples, in a 30 s range that ends at the last sample.
        let rate = PromQL.extrapolatedRate(points, rangeStart: 0, rangeEnd: 30, isRate: true)
        #expect(rate.map { abs($0 - 25.0 / 30.0) < 1e-9 } == true)
    }
}
