import ArgumentParser
import Foundation
import StackLab

struct LoadVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Send many requests at once and measure: requests/s, latency percentiles, statuses, which server answered.",
        discussion: """
        Opens -c keep-alive connections from 127.0.0.1 (the internet side) and sends requests over them until -n
        requests or -d time have passed (default: 200 requests). Shows live numbers on a terminal; Ctrl-C stops early
        and still prints what was measured.

        p50/p90/p99: half, 90 %, 99 % of the requests were answered at least this fast (the slowest 1 % took longer
        than p99). "served by" counts the X-Served-By header: which web server's app answered.

        Examples:
          load
          load -n 1000 -c 8 /api/posts
          load -d 30s --rate 50
        """)
    static let group = VerbGroup.traffic

    @Option(name: .short, help: "Send this many requests (default: 200).") var n: Int?
    @Option(name: .short, help: "Or send for this long: 10, 10s, 500ms, 2m.") var d: String?
    @Option(name: .short, help: "Keep-alive connections at once.") var c: Int = 4
    @Option(name: .long, help: "Requests per second over all connections (default: as fast as answers come).") var rate: Double?
    @Option(name: .customShort("X"), help: "The method.") var method: String = "GET"
    @Argument(help: "A path (/api/posts) or URL.") var target: String = "/"

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        guard let entry = lab.entryAddress else { throw ShellError("this lab has no balancer to send requests to") }
        guard let parts = HTTPClient.split(target, defaultAddress: entry) else {
            throw ShellError("'\(target)' is not a path or URL — try 'load /' or 'load http://\(entry)/'")
        }
        if n != nil && d != nil { throw ShellError.usage("give either -n (a number of requests) or -d (a duration), not both") }
        let limit: LoadPlan.Limit
        if let d {
            guard let seconds = Self.seconds(d) else { throw ShellError("-d is a duration like 10, 10s, 500ms or 2m (got '\(d)')") }
            limit = .seconds(seconds)
        } else {
            limit = .requests(n ?? 200)
        }
        let plan = LoadPlan(limit: limit, connections: c, rate: rate, method: method.uppercased(), path: parts.path,
                            host: parts.host, port: parts.port)
        if let problem = plan.problem { throw ShellError(problem) }
        let generator = LoadGenerator(lab: lab, plan: plan)
        let style = shell.style
        let output = shell.output
        let what = switch limit {
        case .requests(let n): "\(n) requests"
        case .seconds(let s): "\(LoadReportView.number(s)) s"
        }
        shell.say(style.dim("load: \(what) to http://\(parts.host):\(parts.port)\(parts.path) over \(c) connection\(c == 1 ? "" : "s")"
            + (rate.map { " at \(LoadReportView.number($0)) requests/s" } ?? "") + (style.terminal ? " — Ctrl-C stops" : "")))
        let live = style.terminal
        let report = await generator.run(every: 0.5) { snapshot in
            if live { output.write("\r\u{1B}[K" + LoadReportView(report: snapshot).liveLine(style: style)) }
        }
        if live { shell.write("\r\u{1B}[K") }
        shell.write(LoadReportView(report: report).render(style: style))
        shell.reportLoad(method: plan.method, path: parts.path, report: report)
        if Task.isCancelled { throw CancellationError() }
    }

    /// `10`, `10s`, `500ms`, `2m` → seconds.
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * factor }
        }
        return Double(text)
    }
}

/// The numbers of a load run, for people.
public struct LoadReportView: Sendable {
    public var report: LoadReport
    public init(report: LoadReport) { self.report = report }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: "%.1f", value)
    }

    static func ms(_ value: Double) -> String { value < 10 ? String(format: "%.2f ms", value) : String(format: "%.1f ms", value) }

    /// One line, redrawn while the run goes on: shorter than the terminal (a wrapped line could not be redrawn),
    /// the least needed parts left out first.
    public func liveLine(style: Style) -> String {
        var parts = ["\(report.responses) responses", "\(String(format: "%.0f", report.requestsPerSecond))/s"]
        if report.failureCount > 0 { parts.append(style.red("failed \(report.failureCount)")) }
        parts += ["p50 \(Self.ms(report.milliseconds(atPercentile: 50)))", "p99 \(Self.ms(report.milliseconds(atPercentile: 99)))"]
        for (server, count) in report.servedBy.sorted(by: { $0.key < $1.key }) { parts.append("\(server) \(count)") }
        var line = ""
        for part in parts {
            let next = line.isEmpty ? part : line + "  " + part
            if visibleWidth(next) >= style.width { break }
            line = next
        }
        return line
    }

    public func render(style: Style) -> String {
        let r = report
        var out = "\(r.responses) responses in \(String(format: "%.2f", r.elapsed)) s — "
            + style.bold("\(String(format: "%.1f", r.requestsPerSecond)) requests/s") + "\n"
        if r.responses > 0 {
            out += "latency    p50 \(Self.ms(r.milliseconds(atPercentile: 50)))   p90 \(Self.ms(r.milliseconds(atPercentile: 90)))"
                + "   p99 \(Self.ms(r.milliseconds(atPercentile: 99)))   max \(Self.ms(r.maxMilliseconds))\n"
            let statuses = r.statuses.sorted { $0.key < $1.key }.map { status, count in
                let text = "\(status) × \(count)"
                return status >= 500 ? style.red(text) : status >= 400 ? style.yellow(text) : style.green(text)
            }
            out += "status     " + statuses.joined(separator: "   ") + "\n"
            let total = max(1, r.responses)
            let served = r.servedBy.sorted { $0.key < $1.key }.map { server, count in
                "\(server == "-" ? "(no X-Served-By)" : server) \(count) (\(count * 100 / total)%)"
            }
            out += "served by  " + served.joined(separator: "   ") + "\n"
        }
        if r.failureCount > 0 {
            let failures = r.failures.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }
            out += style.red("no answer  " + failures.joined(separator: "   ")) + "\n"
        }
        if let gaveUp = r.gaveUp { out += style.red("stopped    \(gaveUp)") + "\n" }
        return out
    }
}
