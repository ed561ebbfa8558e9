import Foundation
import StackLab

/// Exercise 1: web-02 takes two thirds of the traffic (weights 1:2), web-01 the rest.
struct WeightsScenario: Scenario {
    /// Two thirds, give or take: exact weighted round robin gives 66.7 %.
    static let share = 0.63...0.70
    static let shareUnderLoad = 0.60...0.73

    var checks: [Check] {
        [
            Check("both web servers take traffic", points: 1) { context in
                let seen = await context.requestsInARow(12)
                let failed = seen.filter(\.failed)
                if !failed.isEmpty { return .fail("\(failed.count) of 12 requests failed (\(tally(failed.map(\.word)))); the limit is 0") }
                let servers = Set(seen.compactMap(\.servedBy))
                let missing = ["web-01", "web-02"].filter { !servers.contains($0) }
                return missing.isEmpty ? .pass("12 requests answered by web-01 and web-02")
                    : .fail("12 requests in a row never reached \(missing.joined(separator: " or ")); both servers must stay in rotation")
            },
            Check("web-02 serves two thirds of the requests", points: 3) { context in
                // Weighted round robin is exact: 150 requests in a row show the ratio (1:2 gives 50 and 100).
                let seen = await context.requestsInARow(150)
                let web02 = seen.filter { $0.servedBy == "web-02" }.count
                let web01 = seen.filter { $0.servedBy == "web-01" }.count
                let share = Double(web02) / Double(seen.count)
                let observed = "web-02 served \(web02) of \(seen.count) requests (\(Int((share * 100).rounded())) %), web-01 \(web01)"
                return Self.share.contains(share) ? .pass(observed + "; the target is 63–70 %")
                    : .fail(observed + "; the target is two thirds (63–70 %)")
            },
            Check("the ratio holds with 8 connections at once", points: 1) { context in
                guard let entry = context.lab.entryAddress, let target = HTTPClient.split("/", defaultAddress: entry) else {
                    return .fail("the lab has no entry address")
                }
                let plan = LoadPlan(limit: .requests(300), connections: 8, host: target.host, port: target.port, requestTimeout: 5)
                let report = await LoadGenerator(lab: context.lab, plan: plan).run()
                let errors = report.failureCount + report.statuses.filter { $0.key >= 500 }.map(\.value).reduce(0, +)
                let web02 = report.servedBy["web-02"] ?? 0
                let total = max(1, report.responses)
                let share = Double(web02) / Double(total)
                let observed = "web-02 served \(web02) of \(report.responses) requests (\(Int((share * 100).rounded())) %)"
                if errors > 0 { return .fail("\(errors) of 300 requests failed; the limit is 0 (\(observed))") }
                return Self.shareUnderLoad.contains(share) ? .pass(observed + "; the target is 60–73 % under load")
                    : .fail(observed + "; the target is two thirds (60–73 % under load)")
            },
        ]
    }
}
