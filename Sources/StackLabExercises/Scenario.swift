import Foundation
import StackLab

/// How an exercise is graded: the checks, run in order against one lab booted from the learner's files.
public protocol Scenario: Sendable {
    var checks: [Check] { get }
    /// Why this build cannot grade the exercise (a part of stacklab it needs is missing); nil when it can.
    var unavailable: String? { get }
    /// A chance to refuse a lab that cannot be graded before it starts (throw with the reason).
    func prepare(_ definition: LabDefinition) throws -> LabDefinition
    /// Waits until the lab is ready for the checks; returns what is wrong when it does not get ready.
    func ready(_ context: GradingContext) async -> String?
}

extension Scenario {
    public var unavailable: String? { nil }
    public func prepare(_ definition: LabDefinition) throws -> LabDefinition { definition }
    public func ready(_ context: GradingContext) async -> String? { await context.waitForSiteUp() }
}

/// The scenario of each exercise, by folder name.
public enum ScenarioTable {
    public static func scenario(for id: String) -> any Scenario {
        switch id {
        case "01-weights": WeightsScenario()
        case "02-failover": FailoverScenario()
        case "03-read-replica": ReadReplicaScenario()
        case "04-https": HTTPSScenario()
        case "05-firewall": FirewallScenario()
        case "06-alerts": AlertsScenario()
        case "07-keepalived": KeepalivedScenario()
        case "08-db-failover": DatabaseFailoverScenario()
        default: MissingScenario(id: id)
        }
    }
}

struct MissingScenario: Scenario {
    var id: String
    var checks: [Check] { [] }
    var unavailable: String? { "stacklab has no checks for an exercise called \(id)" }
}
