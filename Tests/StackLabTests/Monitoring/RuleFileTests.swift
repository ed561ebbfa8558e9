import Foundation
import Testing
@testable import StackLab

@Suite("The text exposition format, read back")
struct MonitoringExpositionTests {
    @Test func readsLabelsWithEscapesValuesAndTimestamps() throws {
        let samples = try ExpositionParser.parse("""
            # HELP x help
            # TYPE x counter
            x_total{a="1",b="say \\"hi\\"\\n"} 3 1700000000000
            y +Inf
            z{le="0.5",} NaN
            """)
        #expect(samples.count == 3)
        #expect(samples[0] == Sample(name: "x_total", labels: ["a": "1", "b": "say \"hi\"\n"], value: 3))
        #expect(samples[1].value == .infinity)
        #expect(samples[2].labels == ["le": "0.5"] && samples[2].value.isNaN)
        #expect(throws: ExpositionParser.ParseError.self) { try ExpositionParser.parse("x{a=1} 2") }
        #expect(throws: ExpositionParser.ParseError.self) { try ExpositionParser.parse("x") }
    }
}

@Suite("Prometheus rule files")
struct MonitoringRuleFileTests {
    @Test func theDefaultRulesHaveInstanceDownForFiveSeconds() throws {
        let rules = try RuleFile.parse(RuleFile.defaultText)
        let instanceDown = try #require(rules.first)
        #expect(instanceDown.name == "InstanceDown")
        #expect(instanceDown.expressionText == "up == 0")
        #expect(instanceDown.holdSeconds == 5)
        #expect(instanceDown.labels == ["severity": "page"])
        #expect(instanceDown.annotations["summary"] == "Instance {{ $labels.instance }} down")
        #expect(rules.map(\.name) == ["InstanceDown", "BackendServerDown", "BackendDown", "HighErrorRate"])
    }

    @Test func theBuiltInLabsRuleFileIsTheDefaultAndPromtoolAcceptsIt() async throws {
        let url = try #require(LabDefinition.builtIn(named: "foobar")?.appendingPathComponent("monitor/alerts.yml"))
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(try RuleFile.parse(text) == (try RuleFile.parse(RuleFile.defaultText)))
        if let promtool = installedTool("promtool") {
            let file = makeLabFolder("rules") + "/alerts.yml"
            defer { try? FileManager.default.removeItem(atPath: (file as NSString).deletingLastPathComponent) }
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try await run(promtool, ["check", "rules", file])
            #expect(result.status == 0, "\(result.output)")
        }
    }

    @Test func mistakesAreReportedWithTheLine() {
        let cases: [(String, String)] = [
            ("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up ==\n", "could not parse expression"),
            ("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up == 0\n        for: five\n", "not a valid duration"),
            ("groups:\n  - name: a\n    rules:\n      - alrt: X\n        expr: up == 0\n", "field alrt not found"),
            ("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up\n", "recording rules"),
            ("groups:\n  - name: a\n    interval: 30s\n    rules: []\n", "'interval' is not supported"),
        ]
        for (text, reason) in cases {
            do {
                _ = try RuleFile.parse(text, file: "alerts.yml")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(reason), "\(error)")
                #expect(error.description.hasPrefix("alerts.yml:"), "\(error)")
                #expect(error.line != nil, "\(error)")
            }
        }
    }
}
