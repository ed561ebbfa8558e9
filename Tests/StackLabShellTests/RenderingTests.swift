import Foundation
import StackLab
import Testing
@testable import StackLabShell

@Suite struct RenderingTests {
    @Test func statusAlignsColumnsAndShowsHAProxyWords() {
        let view = StatusView(rows: [
            StatusRow(server: "lb-01", process: "haproxy", pid: 1201, state: .running, address: "127.0.1.1:8080", requests: 12),
            StatusRow(server: "web-01", process: "nginx", pid: 1202, state: .crashed, address: "-", check: "DOWN (L4CON)", checkIsUp: false),
            StatusRow(server: "web-01", process: "gunicorn", pid: 1203, state: .slow(300), address: "127.0.1.11:8000"),
        ], checker: "lb-01")
        let text = view.render(style: Style(colors: false, terminal: false, columns: 160))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("SERVER  PROCESS"))
        #expect(lines[0].contains("CHECK BY lb-01"))
        #expect(lines[2].contains("crashed") && lines[2].contains("DOWN (L4CON)"))
        // A crashed process has no pid; the server name is not repeated.
        #expect(lines[2].hasPrefix("web-01  nginx") && !lines[2].contains("1202"))
        #expect(lines[3].hasPrefix("        gunicorn") && lines[3].contains("slow +300ms"))
        // Columns line up: every state starts at the same column.
        let column = lines[0].range(of: "STATE")!.lowerBound.utf16Offset(in: lines[0])
        for line in lines[1...3] { #expect(line.dropFirst(column).first?.isLetter == true, "\(line)") }
        #expect(!text.contains("\u{1B}["))
    }

    @Test func coloursOnlyWhenAsked() {
        let row = StatusRow(server: "web-01", process: "nginx", pid: 1, state: .crashed, address: "-")
        #expect(StatusView(rows: [row], checker: nil).render(style: Style(colors: true, terminal: true)).contains("\u{1B}[31mcrashed"))
        #expect(!StatusView(rows: [row], checker: nil).render(style: .plain).contains("\u{1B}"))
    }

    @Test func diagramDrawsTheBalancerAboveItsServersWithLinks() {
        let box = { (name: String, address: String, nginx: String) in
            Diagram.Box(name: name, address: address, lines: [Diagram.Line("nginx", nginx, healthy: nginx == "running"),
                                                               Diagram.Line("mysql", "running PRIMARY", healthy: true)])
        }
        let diagram = Diagram(top: [Diagram.Box(name: "lb-01", address: "127.0.1.1", lines: [Diagram.Line("haproxy", "running", healthy: true)])],
                              bottom: [box("web-01", "127.0.1.11", "running"), box("web-02", "127.0.1.12", "crashed")],
                              links: [Diagram.Link(status: "UP", up: true, sessions: 7), Diagram.Link(status: "DOWN", up: false, sessions: 3)],
                              recent: ["web-02", "web-01"])
        let text = diagram.render(style: .plain)
        #expect(text.contains("│ lb-01  127.0.1.1"))
        #expect(text.contains("UP · 7 req ◀ last"))
        #expect(text.contains("DOWN · 3 req"))
        #expect(text.contains("nginx ✗ crashed"))
        #expect(text.contains("mysql ● running PRIMARY"))
        #expect(text.contains("last requests (oldest first): web-02 web-01"))
        let lines = text.split(separator: "\n")
        // The balancer's box sits above the branch that reaches both servers.
        let lbRow = lines.firstIndex { $0.contains("lb-01") }!, webRow = lines.firstIndex { $0.contains("web-01  127") }!
        #expect(lbRow < webRow)
        #expect(lines.contains { $0.contains("┌") && $0.contains("┴") && $0.contains("┐") })
    }

    @Test func recentRoutesComeFromHAProxysLog() {
        let log = [
            "[NOTICE]   (1201) : Loading success.",
            #"127.0.0.1:33317 [24/Nov/2026:12:14:14.655] www web/web-01 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1""#,
            #"127.0.0.1:33318 [24/Nov/2026:12:14:14.700] www web/<NOSRV> 0/0/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1""#,
            #"127.0.0.1:33319 [24/Nov/2026:12:14:14.800] www web/web-02 0/0/1/2/3 200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1""#,
        ]
        #expect(RecentRoutes.servers(inLog: log) == ["web-01", "<NOSRV>", "web-02"])
        #expect(RecentRoutes.servers(inLog: log, limit: 1) == ["web-02"])
    }

    @Test func loadReportShowsRatePercentilesStatusesAndTheSplit() {
        var report = LoadReport()
        report.responses = 100
        report.elapsed = 2
        report.statuses = [200: 96, 503: 4]
        report.servedBy = ["web-01": 50, "web-02": 46, "-": 4]
        report.failures = ["connection refused": 2]
        for value in 1...100 { _ = report.latency.record(UInt64(value * 1000)) }
        let text = LoadReportView(report: report).render(style: .plain)
        #expect(text.contains("100 responses in 2.00 s — 50.0 requests/s"))
        #expect(text.contains("p50 50.0 ms"))
        #expect(text.contains("p99 99.0 ms"))
        #expect(text.contains("200 × 96") && text.contains("503 × 4"))
        #expect(text.contains("web-01 50 (50%)") && text.contains("(no X-Served-By) 4 (4%)"))
        #expect(text.contains("no answer  connection refused × 2"))
    }

    @Test func traceViewNestsHopsAndShowsTimeSpentInEach() {
        let start = Date()
        let spans = [
            Span(traceID: "t", spanID: "a", parentID: nil, process: "lb-01/haproxy", start: start, duration: 0.010, status: 200, note: "-> web-02"),
            Span(traceID: "t", spanID: "b", parentID: "a", process: "web-02/nginx", start: start, duration: 0.008, status: 200, note: "proxy"),
            Span(traceID: "t", spanID: "c", parentID: "b", process: "web-02/gunicorn", start: start, duration: 0.005, status: 200, note: "GET /"),
        ]
        let text = TraceView(spans: spans).render(style: .plain)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[2].hasPrefix("lb-01/haproxy") && lines[2].contains("10 ms") && lines[2].contains("2.0 ms"))
        #expect(lines[3].hasPrefix("└ web-02/nginx") && lines[3].contains("3.0 ms"))
        #expect(lines[4].hasPrefix("  └ web-02/gunicorn") && lines[4].contains("5.0 ms"))
    }

    @Test func promptEscapesAreInvisibleToWidth() {
        let style = Style(colors: true, terminal: true)
        let painted = style.promptPaint("●", "32")
        #expect(painted == "\u{01}\u{1B}[32m\u{01}●\u{01}\u{1B}[0m\u{01}")
        #expect(visibleWidth(painted) == 1)
        #expect(Style.plain.promptPaint("●", "32") == "●")
    }

    @Test func noColorTurnsColourOff() {
        #expect(!Style.detect(environment: ["NO_COLOR": "1"]).colors)
    }

    @Test func statePathsFollowXDG() {
        #expect(StatePaths.history(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]) == "/s/stacklab/history")
        #expect(StatePaths.history(environment: ["HOME": "/h"]) == "/h/.local/state/stacklab/history")
        #expect(StatePaths.builtInRun("foobar", environment: ["HOME": "/h"]) == "/h/.local/state/stacklab/run/foobar")
    }
}
