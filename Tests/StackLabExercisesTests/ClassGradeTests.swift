import Foundation
import Testing
@testable import StackLabExercises

/// The class's CSV and summary from grades made by hand: each check pass/fail/skip, the first failure's reason, a
/// folder that was not graded as a row of its own.
struct ClassGradeTests {
    static func report(_ statuses: [CheckResult.Status], messages: [String] = [], run: String? = nil) -> GradeReport {
        let names = ["the lab loads and starts", "killing web-01 under load fails no request", "no visitor waits over 1 s while web-01 dies"]
        let checks = statuses.enumerated().map { index, status in
            CheckResult(name: names[index], points: index + 1, status: status,
                        message: index < messages.count ? messages[index] : "", seconds: 0)
        }
        var report = GradeReport(exercise: exercise("02-failover"), checks: checks, seconds: 1)
        report.runFolder = run
        return report
    }

    @Test func aRowPerFolderWithEachCheckAndTheFirstFailuresReason() {
        var grade = ClassGrade()
        grade.add(folder: "/class/ann", report: Self.report([.passed, .passed, .passed], run: "/runs/ann"))
        grade.add(folder: "/class/carl", report: Self.report([.failed, .skipped, .skipped],
                                                            messages: ["lb-01/haproxy.cfg:26: \"server\": inter \"2x\", bad", "not run"], run: "/runs/carl"))
        grade.add(folder: "/class/dave", error: "there is no folder /class/dave")
        let rows = grade.csv().split(separator: "\n").map(String.init)
        #expect(rows == [
            "folder,exercise,score,max,passed,the lab loads and starts,killing web-01 under load fails no request,"
                + "no visitor waits over 1 s while web-01 dies,first_failure,run",
            "/class/ann,02-failover,6,6,yes,pass,pass,pass,,/runs/ann",
            "/class/carl,02-failover,0,6,no,fail,skip,skip,\"the lab loads and starts: lb-01/haproxy.cfg:26: \"\"server\"\": inter \"\"2x\"\", bad\",/runs/carl",
            "/class/dave,,0,0,no,,,,there is no folder /class/dave,",
        ])
        #expect(!grade.allPassed)
    }

    @Test func theSummaryCountsEachChecksPassesAndNamesTheFoldersNotGraded() {
        var grade = ClassGrade()
        grade.add(folder: "/class/ann", report: Self.report([.passed, .passed, .passed]))
        grade.add(folder: "/class/bob", report: Self.report([.passed, .passed, .failed], messages: ["", "", "took 1124 ms"]))
        grade.add(folder: "/class/dave", error: "there is no folder /class/dave")
        let summary = grade.summary()
        #expect(summary.hasPrefix("3 folders: 1 passed every check, 1 did not, 1 was not graded\n"), "\(summary)")
        #expect(summary.contains("     2    0    0  the lab loads and starts\n"), "\(summary)")
        #expect(summary.contains("     1    1    0  no visitor waits over 1 s while web-01 dies\n"), "\(summary)")
        #expect(summary.contains("not graded: /class/dave: there is no folder /class/dave"), "\(summary)")
        #expect(summary.split(separator: "\n").allSatisfy { $0.count <= 80 })
        // Without runs kept, the CSV has no run column.
        #expect(grade.csv().hasPrefix("folder,exercise,score,max,passed,the lab loads and starts,"))
        #expect(!grade.csv().split(separator: "\n")[0].hasSuffix(",run"))
    }

    @Test func runFoldersAreNamedForTheStudentAndNeverTwiceTheSame() {
        #expect(ClassGrade.runNames(for: ["/class/ann/02-failover", "/class/bob", "/other/bob", "/x/ann/02-failover", "/class/bob-2"])
            == ["ann-02-failover", "bob", "bob-2", "ann-02-failover-2", "bob-2-2"])
    }
}
