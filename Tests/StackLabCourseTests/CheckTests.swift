import Foundation
import StackLab
import StackLabStore
import Testing
@testable import StackLabCourse
@testable import StackLabShell
import StackLabTestSupport

@Suite struct CheckParsingTests {
    @Test(arguments: [
        ("lb-01 sees web-01 DOWN", Check.Kind.balancerSees(balancer: "lb-01", server: "web-01", status: "DOWN")),
        ("lb-01  sees web-02 UP 2/3", .balancerSees(balancer: "lb-01", server: "web-02", status: "UP 2/3")),
        ("web-01/nginx is crashed", .processState(target: "web-01/nginx", state: "crashed", negated: false)),
        ("web-02 is not running", .processState(target: "web-02", state: "running", negated: true)),
        ("web-02/mysql is read-only", .processState(target: "web-02/mysql", state: "read-only", negated: false)),
        ("replica lag is above 0", .replicaLagAbove(seconds: 0)),
        ("replication is stopped", .replicationRunning(false)),
        ("output contains \"ERROR 1290\"", .outputContains("ERROR 1290", negated: false)),
        ("output does not contain \"503 ×\"", .outputContains("503 ×", negated: true)),
        ("at least 20 requests succeeded since the step began", .requests(atLeast: 20, succeeded: true)),
        ("at least 1 request failed", .requests(atLeast: 1, succeeded: false)),
        ("`alerts` shows \"firing\"", .commandShows(command: "alerts", text: "firing", negated: false)),
        ("output  contains \"3306/tcp open     mysql\"", .outputContains("3306/tcp open     mysql", negated: false)),
        ("you ran `status`", .ran("status")),
        ("no request failed", .noRequestFailed),
        ("requests split evenly between web-01 and web-02 (±5 %)", .splitEvenly("web-01", "web-02", tolerance: 5)),
        ("requests split evenly between web-01 and web-02", .splitEvenly("web-01", "web-02", tolerance: 5)),
        ("web-01 served 75 % of the requests (±5 %)", .served(server: "web-01", percent: 75, tolerance: 5)),
        ("web-02 served 100 % of the requests", .served(server: "web-02", percent: 100, tolerance: 0)),
        ("requests were served by web-01 and web-02", .servedByAll(["web-01", "web-02"])),
        ("the last request got 200", .lastRequest(.request, .status(200))),
        ("the last write got 503", .lastRequest(.write, .status(503))),
        ("the last read succeeded", .lastRequest(.read, .succeeded)),
        ("the last request went through haproxy, nginx and gunicorn", .lastRequestHops(["haproxy", "nginx", "gunicorn"], negated: false)),
        ("the last request did not go through gunicorn", .lastRequestHops(["gunicorn"], negated: true)),
        ("the last request was redirected to \"https://\"", .lastRequestRedirected(to: "https://")),
        ("the last read from the replica did not show the new post", .lastReadNewPost(fromReplica: true, shown: false)),
        ("the last read showed the new post", .lastReadNewPost(fromReplica: false, shown: true)),
        ("the replica has the new post", .replicaHasNewPost),
        ("the last sql on web-02 failed with ERROR 1290", .lastSQL(server: "web-02", .failedWith(1290))),
        ("the last sql succeeded", .lastSQL(server: nil, .succeeded)),
        ("the last sql on web-01 showed the new post", .lastSQL(server: "web-01", .newPost(shown: true))),
        ("the last sql on web-02/mysql did not show \"late\"", .lastSQL(server: "web-02", .text("late", shown: false))),
        ("the last replication report showed lag above 0", .replicationReportLagAbove(seconds: 0)),
        ("the tap showed \"password=wonderland\"", .tapShows("password=wonderland", negated: false)),
        ("the tap saw only TLS messages", .tapOnly(kind: "tls")),
        ("the last scan found port 3306 filtered", .scanFound(port: 3306, state: "filtered")),
        ("replica delay is 60 s", .replicaDelay(seconds: 60)),
        ("alert InstanceDown is firing for web-02/nginx", .alert(name: "InstanceDown", state: "firing", instance: "web-02/nginx")),
        ("alert InstanceDown is inactive", .alert(name: "InstanceDown", state: "inactive", instance: nil)),
        ("the firewall on web-01 is active", .firewall(server: "web-01", active: true)),
        ("lb-01 speaks HTTPS", .speaksHTTPS(server: "lb-01")),
    ] as [(String, Check.Kind)])
    func declarationsAreRead(text: String, kind: Check.Kind) {
        #expect(Check.parse(text)?.kind == kind)
    }

    @Test(arguments: ["", "the site is fast", "web-01 is happy", "lb-01 sees web-01 FINE", "output contains ERROR", "at least many requests succeeded",
                      "web-01 served 150 % of the requests", "the last sql on web-02 exploded", "the tap saw only purple messages"])
    func anythingElseIsNotACheck(text: String) {
        #expect(Check.parse(text) == nil)
    }
}

@Suite @MainActor struct CheckOnOutputTests {
    func outcome(_ check: String, output: String = "", commands: [String: (Bool, String)] = [:]) async throws -> CheckOutcome {
        let parsed = try #require(Check.parse(check))
        return await CheckEvaluator.evaluate(parsed, in: FakeContext(output: output, commands: commands))
    }

    @Test func outputChecksPassOnlyOnWhatWasPrinted() async throws {
        let replica = "error: ERROR 1290 (HY000): The MySQL server is running with the --read-only option so it cannot execute this statement\n"
        #expect(try await outcome("output contains \"ERROR 1290\"", output: replica).passed)
        let missing = try await outcome("output contains \"ERROR 1290\"", output: "Query OK, 1 row affected\n")
        #expect(!missing.passed)
        #expect(missing.why.contains("nothing printed \"ERROR 1290\""))
        #expect(!(try await outcome("output does not contain \"ERROR 1290\"", output: replica).passed))
    }

    @Test func commandChecksRunTheCommand() async throws {
        let alerts = ["alerts": (true, "InstanceDown  firing  up == 0\n")]
        #expect(try await outcome("`alerts` shows \"firing\"", commands: alerts).passed)
        #expect(!(try await outcome("`alerts` shows \"resolved\"", commands: alerts).passed))
        let unknown = try await outcome("`monitor status` shows \"on\"")
        #expect(!unknown.passed)
        #expect(unknown.why.contains("did not work"))
    }
}

/// Checks on a live lab: each must fail before the fault and pass after it.
@Suite(.serialized, .runsALab) @MainActor struct CheckOnLabTests {
    func evaluate(_ text: String, _ course: CourseSession) async throws -> CheckOutcome {
        await CheckEvaluator.evaluate(try #require(Check.parse(text)), in: course)
    }

    @Test func balancerAndProcessChecksFollowTheLab() async throws {
        try await withCourseShell { shell, course, _ in
            try await waitUntil("lb-01 to see web-01 UP") { try await evaluate("lb-01 sees web-01 UP", course).passed }
            let before = try await evaluate("lb-01 sees web-01 DOWN", course)
            #expect(!before.passed)
            #expect(before.why.contains("not DOWN yet"))
            #expect(!(try await evaluate("web-01/nginx is crashed", course).passed))
            #expect(try await evaluate("web-01 is running", course).passed)
            #expect(await shell.execute("kill web-01/nginx"))
            #expect(try await evaluate("web-01/nginx is crashed", course).passed)
            #expect(!(try await evaluate("web-01 is running", course).passed), "one process of web-01 is crashed")
            #expect(try await evaluate("web-01/gunicorn is running", course).passed)
            try await waitUntil("lb-01 to see web-01 DOWN") { try await evaluate("lb-01 sees web-01 DOWN", course).passed }
            let unknown = try await evaluate("lb-01 sees web-09 DOWN", course)
            #expect(!unknown.passed && unknown.why.contains("no server called web-09"))
            let noServer = try await evaluate("web-09 is running", course)
            #expect(!noServer.passed && noServer.why.contains("web-09"))
        }
    }

    @Test func storeChecksReadTheReplica() async throws {
        try await withCourseShell { shell, course, _ in
            #expect(try await evaluate("web-02/mysql is read-only", course).passed)
            let primary = try await evaluate("web-01/mysql is read-only", course)
            #expect(!primary.passed)
            #expect(primary.why.contains("writable"))
            #expect(try await evaluate("web-01/mysql is writable", course).passed)
            #expect(try await evaluate("web-02 is read-only", course).passed, "a server's database")
            let noDatabase = try await evaluate("lb-01 is read-only", course)
            #expect(!noDatabase.passed && noDatabase.why.contains("runs no database"))
            try await waitUntil("replication to run") { try await evaluate("replication is running", course).passed }
            let lag = try await evaluate("replica lag is above 0", course)
            #expect(!lag.passed, "a replica that keeps up has no lag: \(lag.why)")
            // Hold each change 5 s on the replica (SOURCE_DELAY), write, and the lag grows.
            let replica = try #require(shell.lab.processes.compactMap { $0 as? StoreProcess }.first { $0.serverName == "web-02" }?.store)
            _ = try await replica.execute("STOP REPLICA")
            _ = try await replica.execute("CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 5")
            _ = try await replica.execute("START REPLICA")
            #expect(await shell.execute("curl -X POST -d 'author=test&body=late' /api/posts"))
            try await waitUntil("Seconds_Behind_Source to grow") { try await evaluate("replica lag is above 0", course).passed }
            #expect(await shell.execute("kill web-02/mysql"))
            let gone = try await evaluate("replica lag is above 0", course)
            #expect(!gone.passed && gone.why.contains("no store in this lab is a running replica"))
        }
    }
}
