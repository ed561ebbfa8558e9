import Foundation
import NIOConcurrencyHelpers
@testable import StackLab
import StackLabTestSupport

/// Port offsets for the monitoring tests: 19000–19800 in steps of 100 (the shell's monitoring tests use 20000–20400),
/// apart from the other suites' ranges.
enum MonitoringPorts {
    private static let next = NIOLockedValueBox(19_000 - 100)
    static func offset() -> Int {
        next.withLockedValue { value in
            value += 100
            if value > 19_800 { value = 19_000 }
            return value
        }
    }
}

/// The test lab (lb-01, web-01, web-02) on the monitoring tests' ports.
func startMonitoringLab(_ builder: TestLabBuilder = TestLabBuilder()) async throws -> (Lab, String) {
    let folder = makeLabFolder("stacklab-monitoring")
    let lab = try await Lab.start(builder.definition(directory: folder), options: LabOptions(portOffset: MonitoringPorts.offset()))
    // As TestLabBuilder.start: every server has passed a check before a test breaks one (they start at `UP 1/3`).
    try await waitUntil("lb-01 sees every server UP") { lab.balancers[0].serverStatuses.allSatisfy { $0.status == "UP" } }
    return (lab, folder)
}

/// A real program from PATH, or nil when it is not installed (the test then skips that part).
func installedTool(_ name: String) -> String? {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// Runs a program with `input` on stdin; returns its exit status and everything it printed.
func run(_ executable: String, _ arguments: [String], input: String = "") async throws -> (status: Int32, output: String) {
    let result = try await ChildProcess.run(executable, arguments, input: input, mergingStderr: true)
    return (result.status, result.stdout)
}

/// `promtool check metrics` on a page: its exit status (0 clean, 3 lint problems, 1 a page it cannot read) and the
/// problems it names, one a line.
func promtoolCheck(_ promtool: String, _ page: String) async throws -> (status: Int32, problems: [String]) {
    let result = try await run(promtool, ["check", "metrics"], input: page)
    return (result.status, result.output.split(separator: "\n").map(String.init).filter { !$0.isEmpty })
}

/// What promtool says of a real exporter's own names, and so of the lab's page too: nginx-prometheus-exporter's
/// `nginx_connections_accepted` and `nginx_connections_handled` are counters without `_total`.
let realExporterLint: Set<String> = [
    "nginx_connections_accepted counter metrics should have \"_total\" suffix",
    "nginx_connections_handled counter metrics should have \"_total\" suffix",
]

/// A page promtool reads, with no problem but those of the real exporter's own names.
func promtoolAccepts(_ check: (status: Int32, problems: [String])) -> Bool {
    check.status == 0 || (check.status == 3 && !check.problems.isEmpty && Set(check.problems).isSubset(of: realExporterLint))
}
