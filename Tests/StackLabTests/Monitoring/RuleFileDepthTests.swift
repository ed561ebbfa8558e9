import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

/// alerts.yml and its PromQL cannot be driven into the stack, and bytes that are not UTF-8 are refused as promtool
/// refuses them.
@Suite("Prometheus rule files: nesting and bytes")
struct RuleFileDepthTests {
    func ruleError(_ text: String) -> RuleFileError? {
        do {
            _ = try RuleFile.parse(text, file: "monitor/alerts.yml")
            Issue.record("the rule file was accepted")
        } catch {
            return error
        }
        return nil
    }

    func write(_ bytes: [UInt8]) throws -> String {
        let file = NSTemporaryDirectory() + "stacklab-alerts-\(UUID().uuidString.prefix(8)).yml"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// 5,000 levels once overflowed the stack inside Yams; 50,000 flow or block levels are now an error on the line.
    @Test func fiftyThousandNestedLevelsAreAnErrorWithTheLine() {
        let texts = [(HostileFiles.nestedFlowAlerts(levels: 50_000), 7), (HostileFiles.nestedCompactAlerts(levels: 50_000), 8),
                     (HostileFiles.nestedBlockAlerts(levels: 500), 102)]
        for (text, line) in texts {
            let error = ruleError(text)
            #expect(error?.line == line, "\(String(describing: error))")
            #expect(error?.reason.hasPrefix("yaml: exceeded max depth of 100") == true, "\(String(describing: error))")
        }
    }

    /// promtool says the same of the flow-nested file (its bound is 10,000).
    @Test(.enabled(if: installedTool("promtool") != nil, "promtool is not installed"))
    func promtoolAlsoRefusesTheDeepFile() async throws {
        let file = try write(Array(HostileFiles.nestedFlowAlerts(levels: 50_000).utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try await run(installedTool("promtool")!, ["check", "rules", file])
        #expect(result.status != 0 && result.output.contains("yaml: line 7: exceeded max depth of 10000"), "\(result.output)")
        let ours = #expect(throws: RuleFileError.self) { try RuleFile.load(path: file) }
        #expect(ours?.line == 7)
    }

    @Test func nestingWithinTheBoundIsYamlsToJudge() throws {
        // 90 nested mappings under a label: Yams reads it, and the rule reader says labels must map to strings.
        let text = HostileFiles.nestedBlockAlerts(levels: 90)
        let error = ruleError(text)
        #expect(error?.reason.contains("must map names to strings") == true, "\(String(describing: error))")
        #expect(YAMLNesting.firstLine(deeperThan: 100, in: RuleFile.defaultText) == nil)
    }

    @Test func theDepthCountFollowsYAMLsStructure() {
        // groups (1) → list (2) → group (3) → rules (4) → rule (5) → labels (6) → [ (7) → [ (8)
        let text = "groups:\n  - name: x\n    rules:\n      - alert: A\n        labels:\n          a: [[1]]\n"
        #expect(YAMLNesting.firstLine(deeperThan: 7, in: text) == 6)
        #expect(YAMLNesting.firstLine(deeperThan: 8, in: text) == nil)
        // Brackets in plain text, quotes, comments and block scalars open nothing.
        let quiet = "a: see [docs\nb: '[[[['\nc: \"{{{{\" # [[[[\nd: |\n  [[[[[\n  {{{{{\ne: x\n"
        #expect(YAMLNesting.firstLine(deeperThan: 1, in: quiet) == nil)
        // Compact nesting opens several collections on one line.
        #expect(YAMLNesting.firstLine(deeperThan: 3, in: "- - - a\n") == nil)
        #expect(YAMLNesting.firstLine(deeperThan: 2, in: "- - - a\n") == 1)
        // A block scalar's text ends where a key at its collection's column starts: what follows is counted.
        let hidden = "- k: |\n    text\n  a:\n    b:\n      c: 1\n"
        #expect(YAMLNesting.firstLine(deeperThan: 3, in: hidden) == 5)
    }

    /// A Latin-1 byte, even in a comment: promtool's libyaml refuses it, and so does the monitor, with the line.
    @Test func aLatin1ByteIsRefusedInLibyamlsWords() async throws {
        let text = "groups:\n  - name: x\n    rules:\n      # caf"
        let file = try write(Array(text.utf8) + HostileFiles.latin1E + Array("\n      - alert: A\n        expr: up == 0\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let error = #expect(throws: RuleFileError.self) { try RuleFile.load(path: file) }
        #expect(error?.line == 4 && error?.reason == "yaml: invalid trailing UTF-8 octet", "\(String(describing: error))")
        if let promtool = installedTool("promtool") {
            let result = try await run(promtool, ["check", "rules", file])
            #expect(result.status != 0 && result.output.contains("yaml: invalid trailing UTF-8 octet"), "\(result.output)")
        }
    }

    @Test func aRuleFileThatCannotBeReadSaysSo() throws {
        let folder = NSTemporaryDirectory() + "stacklab-alerts-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let error = #expect(throws: RuleFileError.self) { try RuleFile.load(path: folder) }
        #expect(error?.reason == "cannot read the rule file: it is a folder, not a file")
    }

    /// Parentheses, unary minus, functions and long chains all nest the expression tree; past 100 levels they are
    /// an error, never a stack overflow in parsing, evaluating or freeing it.
    @Test(arguments: [
        String(repeating: "(", count: 50_000) + "up" + String(repeating: ")", count: 50_000),
        String(repeating: "-", count: 50_000) + "up",
        String(repeating: "abs(", count: 50_000) + "up" + String(repeating: ")", count: 50_000),
        String(repeating: "1 + ", count: 50_000) + "1",
        String(repeating: "sum(", count: 50_000) + "up" + String(repeating: ")", count: 50_000),
    ])
    func deepExpressionsAreAnError(expression: String) {
        let started = Date()
        #expect(throws: PromQLError.self) { try PromQL.parse(expression) }
        do { _ = try PromQL.parse(expression) } catch {
            #expect(error.reason.contains("nested more than 100 deep"), "\(error.reason)")
        }
        #expect(Date().timeIntervalSince(started) < 20, "parsing took \(Date().timeIntervalSince(started)) s")
    }

    @Test func expressionsUpToTheBoundStillParse() throws {
        let chain = String(repeating: "up + ", count: 98) + "up"
        _ = try PromQL.parse(chain)
        _ = try PromQL.parse(String(repeating: "(", count: 90) + "up" + String(repeating: ")", count: 90) + " == 0")
        let rule = "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: " + String(repeating: "(", count: 500) + "up"
            + String(repeating: ")", count: 500) + "\n"
        let error = ruleError(rule)
        #expect(error?.line == 5 && error?.reason.contains("could not parse expression") == true, "\(String(describing: error))")
    }
}
