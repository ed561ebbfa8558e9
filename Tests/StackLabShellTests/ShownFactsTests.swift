import Foundation
import StackLab
import Testing
@testable import StackLabShell
import StackLabTestSupport

/// Every number a learner is shown is the one that is true: hop timings that add up, the ports that answer under a
/// port base, fault notes that fit what was broken, and `sql` sessions that last like a mysql client's.
@Suite(.serialized, .runsALab) @MainActor struct ShownFactsTests {
    @Test func everyHopsTotalIncludesTheHopsItCalled() async throws {
        try await withShell { shell, out in
            // Whole-millisecond balancer spans once showed lb-01's TOTAL 0.0 ms above nginx's 0.4 ms, every run.
            for run in 1...8 {
                let (ok, text) = await out.of(shell, "curl -v /api/posts")
                #expect(ok, "\(text)")
                // The curl's own trace (health checks make traces of their own all the time).
                let traceID = String(try #require(text.firstMatch(of: /trace ([0-9a-f]{32})/)).1)
                let spans = shell.lab.traces.trace(traceID)
                #expect(spans.count == 4, "run \(run): \(spans.map(\.process))")
                for span in spans {
                    let children = spans.filter { $0.parentID == span.spanID }
                    let below = children.reduce(0) { $0 + $1.duration }
                    #expect(span.duration >= below, "run \(run): \(span.process) \(span.duration) s < its hops' \(below) s")
                }
                // The table says the same: each TOTAL at least the TOTAL of the hop below it.
                let totals = text.split(separator: "\n").filter { $0.contains("/haproxy") || $0.contains("/nginx") || $0.contains("/gunicorn") }
                    .map { line -> Double in
                        let fields = line.split(separator: " ").map(String.init)
                        let index = fields.firstIndex { $0 == "ms" }!
                        return Double(fields[index - 1])!
                    }
                #expect(totals.count == 3 && totals == totals.sorted(by: >), "run \(run): \(text)")
            }
        }
    }

    @Test func underAPortBaseTheShellNamesThePortsThatAnswer() async throws {
        try await withShell { shell, out in
            let offset = shell.lab.network.portOffset
            #expect(offset != 0)
            let trace = await out.of(shell, "curl -v /")
            // nginx's hop names the app server it reached, on the port that answered.
            #expect(trace.text.contains(":\(8000 + offset)") && !trace.text.contains(":8000 "), "\(trace.text)")
            let replication = await out.of(shell, "replication")
            #expect(replication.text.contains("REPLICA of 127.0.1.11:\(3306 + offset)"), "\(replication.text)")
            _ = await out.of(shell, "kill web-01/mysql")
            let sql = await out.of(shell, "sql SELECT 1")
            #expect(sql.text.contains("Can't connect to MySQL server on '127.0.1.11:\(3306 + offset)'"), "\(sql.text)")
            let post = await out.of(shell, "curl -d 'author=ann&body=hi' /api/posts")
            #expect(post.text.contains("127.0.1.11:\(3306 + offset)") && !post.text.contains(":3306'"), "\(post.text)")
        }
    }

    @Test func aKillSaysOnlyWhatFitsTheTarget() async throws {
        try await withShell { shell, out in
            let nginx = await out.of(shell, "kill web-02/nginx")
            // The test lab checks every 200 ms.
            #expect(nginx.text.contains("lb-01 checks web-02 every 200 ms and marks it DOWN after 3 failed checks"), "\(nginx.text)")
            let gunicorn = await out.of(shell, "kill web-01/gunicorn")
            // nginx answers /health by asking gunicorn: the check reaches it.
            #expect(gunicorn.text.contains("lb-01 checks web-01"), "\(gunicorn.text)")
            _ = await out.of(shell, "revive")
            let primary = await out.of(shell, "kill web-01/mysql")
            #expect(!primary.text.contains("checks"), "\(primary.text)")
            #expect(primary.text.contains("writes new posts on web-01/mysql"), "\(primary.text)")
            let replica = await out.of(shell, "kill web-02/mysql")
            #expect(!replica.text.contains("checks") && replica.text.contains("reads posts on web-02/mysql"), "\(replica.text)")
            let balancer = await out.of(shell, "kill lb-01")
            #expect(!balancer.text.contains("checks"), "\(balancer.text)")
            #expect(balancer.text.contains("lb-01 was the site's only way in"), "\(balancer.text)")
        }
    }

    @Test func sqlKeepsOneSessionPerStoreUntilReset() async throws {
        try await withShell { shell, out in
            try await waitUntil("the replica replicates") { shell.lab.processes.compactMap { ($0 as? StoreProcess)?.store?.status.replica }.first?.ioRunning == .yes }
            // A running replica stops without a warning; stopping it again warns, and SHOW WARNINGS shows why.
            let stop = await out.of(shell, "sql web-02 STOP REPLICA")
            #expect(stop.ok && stop.text.contains("Query OK, 0 rows affected (") && !stop.text.contains("warning"), "\(stop.text)")
            let again = await out.of(shell, "sql web-02 STOP REPLICA")
            #expect(again.text.contains("1 warning"), "\(again.text)")
            let warnings = await out.of(shell, "sql web-02 SHOW WARNINGS")
            #expect(warnings.text.contains("3084") && warnings.text.contains("already stopped"), "\(warnings.text)")
            // The primary's session is its own, and keeps its variables.
            _ = await out.of(shell, "sql SET @seen = 42")
            #expect(await out.of(shell, "sql SELECT @seen").text.contains("42"))
            #expect(await out.of(shell, "sql web-02 SELECT @seen").text.contains("NULL"))
            // A crash ends the session: the mysql client's words, then a new session.
            _ = await out.of(shell, "kill web-01/mysql")
            _ = await out.of(shell, "revive web-01/mysql")
            let after = await out.of(shell, "sql SELECT @seen")
            #expect(after.text.contains("ERROR 2006 (HY000): MySQL server has gone away") && after.text.contains("No connection. Trying to reconnect..."),
                    "\(after.text)")
            #expect(after.text.contains("Current database: foobar") && after.text.contains("NULL"), "\(after.text)")
            // After reset, fresh sessions without a word.
            _ = await out.of(shell, "sql SET @seen = 7")
            _ = await out.of(shell, "reset")
            let fresh = await out.of(shell, "sql SELECT @seen")
            #expect(fresh.text.contains("NULL") && !fresh.text.contains("gone away"), "\(fresh.text)")
        }
    }
}
