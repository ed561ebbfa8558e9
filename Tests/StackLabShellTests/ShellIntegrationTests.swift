import Foundation
import StackLab
import Testing
@testable import StackLabShell
import StackLabTestSupport

/// Command scripts through the shell against a live foobar lab (from its real files), asserting on plain output.
/// One lab at a time: the machine is small and shared.
@Suite(.serialized, .runsALab) @MainActor struct ShellIntegrationTests {
    @Test func statusListsEveryProcessWithItsRealAddress() async throws {
        try await withShell { shell, out in
            let (ok, text) = await out.of(shell, "status")
            #expect(ok)
            for name in ["lb-01", "web-01", "web-02", "haproxy", "nginx", "gunicorn"] { #expect(text.contains(name)) }
            // At 80 columns the table shows ports on each server's own address; wider, whole addresses.
            let entry = try #require(shell.lab.entryAddress)
            #expect(text.contains(String(entry.split(separator: ":")[1])) && text.contains("lb-01 127.0.1.1"))
            let wide = StatusView(lab: shell.lab).render(style: Style(colors: false, terminal: false, columns: 160))
            #expect(wide.contains(entry))
            #expect(text.contains("running"))
        }
    }

    @Test func curlVerboseShowsTheHopsThroughTheLab() async throws {
        try await withShell { shell, out in
            let (ok, text) = await out.of(shell, "curl -v /")
            #expect(ok)
            #expect(text.contains("< HTTP/1.1 200 OK"))
            #expect(text.contains("www.foobar.com"))
            let hops = text.split(separator: "\n").filter { $0.contains("/haproxy") || $0.contains("/nginx") || $0.contains("/gunicorn") }
            #expect(hops.count == 3, "\(text)")
            #expect(hops.first?.hasPrefix("lb-01/haproxy") == true)
            #expect(hops.last?.contains("└ web-0") == true && hops.last?.contains("/gunicorn") == true)
        }
    }

    @Test func roundRobinAlternatesBetweenTheWebServers() async throws {
        try await withShell { shell, out in
            var served: [String] = []
            for _ in 0..<4 {
                let (ok, text) = await out.of(shell, "curl -i /")
                #expect(ok)
                // lb-01 writes header names as HAProxy 2.6 does: in lower case.
                let header = text.split(separator: "\n").first { $0.hasPrefix("x-served-by:") }
                served.append(header.map { String($0.dropFirst("x-served-by: ".count)) } ?? "?")
            }
            #expect(Set(served) == ["web-01", "web-02"])
            #expect(served[0] != served[1] && served[0] == served[2])
        }
    }

    @Test func killedNginxIsShownCrashedAndThenDownByTheBalancer() async throws {
        try await withShell { shell, out in
            let kill = await out.of(shell, "kill web-01/nginx")
            #expect(kill.ok)
            #expect(kill.text.contains("web-01/nginx: crashed"))
            try await waitUntil("lb-01 to mark web-01 DOWN") {
                shell.lab.balancers[0].serverStatuses.first { $0.name == "web-01" }?.status == "DOWN"
            }
            let (_, text) = await out.of(shell, "status")
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("web-01") })
            // The last check is L4CON (refused) — or, if a check was in flight at the crash, its reset (L7RSP/L7TOUT).
            // (At 80 columns status is narrow: the check reads "DOWN L4CON".)
            #expect(line.contains("crashed") && line.contains("DOWN L"), "\(line)")
            #expect(shell.prompt.contains("problem"))
            // Every request now goes to web-02.
            let (_, answer) = await out.of(shell, "curl -i /")
            #expect(answer.contains("x-served-by: web-02"), "\(answer)")
            let revive = await out.of(shell, "revive web-01/nginx")
            #expect(revive.ok)
            try await waitUntil("web-01 to come back UP") {
                shell.lab.balancers[0].serverStatuses.first { $0.name == "web-01" }?.status == "UP"
            }
            #expect(shell.prompt == "foobar ● ")
        }
    }

    @Test func errorsSayWhatWasWrongAndWhatWouldWork() async throws {
        try await withShell { shell, out in
            let unknown = await out.of(shell, "kill web-03")
            #expect(!unknown.ok)
            #expect(unknown.text.contains("unknown server 'web-03' — servers: lb-01, web-01, web-02"))
            let typo = await out.of(shell, "stauts")
            #expect(!typo.ok)
            #expect(typo.text.contains("unknown command 'stauts' — did you mean 'status'?"))
            let process = await out.of(shell, "kill web-01/redis")
            #expect(process.text.contains("web-01 runs no process 'redis'"))
            let partition = await out.of(shell, "partition web-01/nginx lb-01")
            #expect(partition.text.contains("between two servers"))
            let again = await out.of(shell, "kill lb-01; kill lb-01")
            #expect(!again.ok)
            #expect(again.text.contains("already crashed") && again.text.contains("revive lb-01"))
            let refused = await out.of(shell, "curl /")
            #expect(!refused.ok)
            // curl 7.88's own words (Debian 12), then what they mean.
            let unwrapped = refused.text.replacingOccurrences(of: #"\n +"#, with: " ", options: .regularExpression)
            #expect(unwrapped.range(of: #"curl: \(7\) Failed to connect to 127\.0\.1\.1 port \d+ after \d+ ms: Couldn't connect to server"#,
                                       options: .regularExpression) != nil, "\(refused.text)")
            #expect(unwrapped.contains("(connection refused: nothing listens on 127.0.1.1:"), "\(refused.text)")
        }
    }

    @Test func loadSpreadsRequestsOverBothServersAndReportsThem() async throws {
        try await withShell { shell, out in
            let (ok, text) = await out.of(shell, "load -n 60 -c 3 /")
            #expect(ok)
            #expect(text.contains("60 responses"))
            #expect(text.contains("200 × 60"))
            #expect(text.contains("web-01 30 (50%)") && text.contains("web-02 30 (50%)"), "\(text)")
            #expect(text.contains("p99"))
        }
    }

    @Test func loadGeneratorHonoursItsBoundsAndKeepsConnectionsAlive() async throws {
        try await withShell { shell, _ in
            let entry = try #require(shell.lab.entryAddress).split(separator: ":")
            let plan = LoadPlan(limit: .requests(40), connections: 2, host: String(entry[0]), port: Int(entry[1])!)
            let report = await LoadGenerator(lab: shell.lab, plan: plan).run()
            #expect(report.responses == 40)
            #expect(report.connectionsOpened == 2)
            #expect(report.latency.totalCount == 40)
            #expect(LoadPlan(limit: .requests(0), host: "x", port: 1).problem != nil)
            #expect(LoadPlan(limit: .seconds(601), host: "x", port: 1).problem != nil)
            #expect(LoadPlan(limit: .requests(1), connections: 1000, host: "x", port: 1).problem != nil)
        }
    }

    @Test func ctrlCStopsALongLoadAndTheShellGoesOn() async throws {
        try await withShell(interactive: true) { shell, out in
            out.clear()
            let run = Task { await shell.execute("load -d 60 -c 2") }
            try await waitUntil("load to start") { out.text.contains("load: 60 s") }
            // Like the SIGINT handler: retry until a command is armed to receive it.
            try await waitUntil("the interrupt to reach the running load") { shell.interrupt() }
            let started = Date()
            let ok = await run.value
            #expect(!ok)
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(out.text.contains("responses in"))
            #expect(out.text.contains("(stopped)"))
            let after = await out.of(shell, "status")
            #expect(after.ok)
        }
    }

    @Test func logsFollowPrintsNewLinesUntilCtrlC() async throws {
        try await withShell(interactive: true) { shell, out in
            out.clear()
            let follow = Task { await shell.execute("logs lb-01 -f -n 0") }
            try await waitUntil("logs -f to start") { out.text.contains("following") }
            _ = try await shell.lab.get("/static/hello.txt")
            try await waitUntil("the new log line") { out.text.contains("GET /static/hello.txt") }
            try await waitUntil("the interrupt") { shell.interrupt() }
            _ = await follow.value
            #expect(out.text.contains("(stopped)"))
        }
    }

    @Test func logsOfNginxShowBothAccessAndErrorLogs() async throws {
        try await withShell { shell, out in
            _ = await out.of(shell, "curl /")
            _ = await out.of(shell, "curl /")
            let (ok, text) = await out.of(shell, "logs web-01/nginx -n 5")
            #expect(ok)
            #expect(text.contains("==> web-01/nginx access.log <=="))
            #expect(text.contains("==> web-01/nginx error.log <=="))
            #expect(text.contains("\"GET / HTTP/1.1\" 200"))
        }
    }

    @Test func partitionAndHealBetweenServers() async throws {
        try await withShell { shell, out in
            let cut = await out.of(shell, "partition lb-01 web-02")
            #expect(cut.ok)
            #expect(shell.lab.network.isPartitioned("lb-01", "web-02"))
            let (_, status) = await out.of(shell, "status")
            #expect(status.contains("partition: lb-01 and web-02"))
            let heal = await out.of(shell, "heal lb-01 web-02")
            #expect(heal.ok)
            #expect(!shell.lab.network.isPartitioned("lb-01", "web-02"))
            let none = await out.of(shell, "heal lb-01 web-02")
            #expect(!none.ok && none.text.contains("not partitioned"))
        }
    }

    @Test func resetStartsEverythingFresh() async throws {
        try await withShell { shell, out in
            _ = await out.of(shell, "kill web-02; hang web-01/gunicorn; partition lb-01 web-01")
            let (ok, text) = await out.of(shell, "reset")
            #expect(ok, "\(text)")
            #expect(shell.lab.processes.allSatisfy { $0.state == .running })
            #expect(shell.lab.network.activePartitions.isEmpty)
            let curl = await out.of(shell, "curl /")
            #expect(curl.ok)
        }
    }

    @Test func resetOnALabFolderStartsTheDatabasesAgainFromInitSQL() async throws {
        try await withShell { shell, out in
            let fresh = await out.of(shell, "sql SELECT COUNT(*) AS n FROM posts")
            let write = await out.of(shell, "sql INSERT INTO posts (author, body) VALUES ('ann', 'before the reset')")
            #expect(write.ok, "\(write.text)")
            let data = try #require(shell.lab.definition.storeDataDirectory(server: "web-01"))
            #expect(FileManager.default.fileExists(atPath: data))
            let reset = await out.of(shell, "reset")
            #expect(reset.ok && reset.text.contains("databases from init.sql"), "\(reset.text)")
            let after = await out.of(shell, "sql SELECT COUNT(*) AS n FROM posts")
            #expect(after.text.components(separatedBy: "\n").prefix(5) == fresh.text.components(separatedBy: "\n").prefix(5),
                    "before: \(fresh.text) after: \(after.text)")
            // The replica starts again from the new primary, not from the old data.
            try await waitUntil(timeout: 30, "web-02 to replicate from the fresh primary") {
                await out.of(shell, "sql web-02 SELECT COUNT(*) AS n FROM posts").text.components(separatedBy: "\n").prefix(5)
                    == fresh.text.components(separatedBy: "\n").prefix(5)
            }
            #expect(await out.of(shell, "sql web-02 SHOW REPLICA STATUS\\G").text.contains("Replica_SQL_Running: Yes"))
        }
    }

    @Test func scriptsRunEveryLineAndFailWhenOneFails() async throws {
        try await withShell { shell, out in
            out.clear()
            let status = await shell.runScript(["# a demo", "curl /health", "kill web-09", "sleep 0.01", "diagram"], origin: "demo.txt")
            #expect(status == 1)
            #expect(out.text.contains("demo.txt:3: unknown server 'web-09'"))
            #expect(out.text.contains("internet · you are 127.0.0.1"))
            let good = await shell.runScript(["status; diagram"])
            #expect(good == 0)
        }
    }

    @Test func theLoopReadsAnEditorUntilQuitAndRemembersLines() async throws {
        try await withShell { shell, out in
            let editor = ScriptedLineEditor(inputs: [.line("status"), .interrupted, .line(""), .line("quit"), .line("status")])
            let status = await shell.run(editor: editor)
            #expect(status == 0)
            #expect(editor.remembered.current == ["status", "quit"])
            #expect(editor.prompts.current.count == 4)
            #expect(editor.prompts.current[0] == "foobar ● ")
        }
    }

    @Test func pipedInputFailsWithNonZeroStatus() async throws {
        try await withShell { shell, _ in
            let status = await shell.run(editor: ScriptedLineEditor(["status", "bogus"]))
            #expect(status == 1)
        }
    }

    @Test func labShowListsAndPrintsTheLabsFiles() async throws {
        try await withShell { shell, out in
            let list = await out.of(shell, "lab show")
            #expect(list.ok && list.text.contains("lb-01/haproxy.cfg"))
            let file = await out.of(shell, "lab show lb-01/haproxy.cfg")
            #expect(file.text.contains("balance roundrobin"))
            let missing = await out.of(shell, "lab show lb-01/haproxy.cgf")
            // The error is wrapped to the width (80 columns here), its second line indented.
            #expect(!missing.ok && missing.text.replacingOccurrences(of: "\n  ", with: " ").contains("did you mean 'lb-01/haproxy.cfg'"))
        }
    }

    @Test func labInitWritesAFolderThatLabLoadRuns() async throws {
        try await withShell { shell, out in
            let folder = temporaryFolder() + "/mine"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let written = await out.of(shell, "lab init \(folder)")
            #expect(written.ok, "\(written.text)")
            #expect(FileManager.default.fileExists(atPath: folder + "/lab.conf"))
            let refused = await out.of(shell, "lab init \(folder)")
            #expect(!refused.ok && refused.text.contains("not empty"))
            // A broken file: the error names file and line; the running lab stays.
            let cfg = folder + "/lb-01/haproxy.cfg"
            try (try String(contentsOfFile: cfg, encoding: .utf8)).replacingOccurrences(of: "balance roundrobin", with: "balanse roundrobin")
                .write(toFile: cfg, atomically: true, encoding: .utf8)
            let broken = await out.of(shell, "lab load \(folder)")
            #expect(!broken.ok)
            #expect(broken.text.contains("lb-01/haproxy.cfg:"), "\(broken.text)")
            #expect(shell.lab.processes.allSatisfy { $0.state == .running })
        }
    }

    @Test func watchRepeatsACommand() async throws {
        try await withShell { shell, out in
            let (ok, text) = await out.of(shell, "watch --times 2 0.1 status")
            #expect(ok)
            #expect(text.components(separatedBy: "every 0.1s: status").count == 3)
            let bad = await out.of(shell, "watch 1 stauts")
            #expect(!bad.ok && bad.text.contains("did you mean 'status'"))
        }
    }

    @Test func helpListsEveryVerbAndExplainsOne() async throws {
        try await withShell { shell, out in
            let (_, all) = await out.of(shell, "help")
            for verb in VerbTable.names { #expect(all.contains("  \(verb) "), "help lacks \(verb)") }
            let (_, curl) = await out.of(shell, "help curl")
            #expect(curl.contains("usage: curl") && curl.contains("Examples:") && curl.contains("-v"))
            let typo = await out.of(shell, "help crul")
            #expect(typo.text.contains("did you mean 'help curl'"))
        }
    }

    @Test func sqlRunsOnThePrimaryAndTheReplicaRefusesWrites() async throws {
        try await withShell { shell, out in
            let select = await out.of(shell, "sql SELECT 1 + 1 AS two")
            #expect(select.ok, "\(select.text)")
            #expect(select.text.contains("| two |") || select.text.contains("two"), "\(select.text)")
            let unknown = await out.of(shell, "sql web-09 SELECT 1")
            #expect(!unknown.ok && unknown.text.contains("unknown server 'web-09'"))
            let replication = await out.of(shell, "replication")
            #expect(replication.ok, "\(replication.text)")
            #expect(replication.text.contains("PRIMARY") && replication.text.contains("REPLICA"), "\(replication.text)")
        }
    }

    @Test func sqlTakesTheRestOfTheLineAsOneScriptInItsSession() async throws {
        try await withShell { shell, out in
            let before = await out.of(shell, "sql SELECT COUNT(*) AS n FROM posts")
            #expect(before.ok, "\(before.text)")
            // One line, one session: the INSERT is rolled back, and each statement prints its own block.
            let script = await out.of(shell, "sql BEGIN; INSERT INTO posts (author, body) VALUES ('ann', 'oops'); ROLLBACK;")
            #expect(script.ok, "\(script.text)")
            #expect(script.text.contains("Query OK, 1 row affected") && !script.text.contains("unknown command"), "\(script.text)")
            let after = await out.of(shell, "sql SELECT COUNT(*) AS n FROM posts")
            // The table itself (the lines above "1 row in set (… sec)") is what it was.
            #expect(after.text.components(separatedBy: "\n").prefix(5) == before.text.components(separatedBy: "\n").prefix(5),
                    "before: \(before.text) after: \(after.text)")
            // The first error ends the script, as the server does with several statements in one query.
            let failing = await out.of(shell, "sql SELECT 1 AS one; SELECT nosuch FROM posts; SELECT 3 AS three")
            #expect(!failing.ok && failing.text.contains("| one |") && failing.text.contains("ERROR 1054") && !failing.text.contains("three"),
                    "\(failing.text)")
            let empty = await out.of(shell, "sql ;")
            #expect(!empty.ok && empty.text.contains("ERROR 1065 (42000): Query was empty"), "\(empty.text)")
        }
    }
}
