// stacklab-bench: the miniature's speed and size, measured the way the real stack in ../shared/anchors/ was:
// wrk with keep-alive connections against lb-01, for `/` (lb → nginx → gunicorn → app) and a static file
// (lb → nginx), plus the lab's start time and resident memory. Build with `-c release`; `make bench` does.
//
//   stacklab-bench [--port-base N] [--duration SECONDS] [--connections N] [--threads N]
//   stacklab-bench --only page|static|store|hold|soak [--cycles N] [--targets web-01/nginx,web-01,web-01/mysql]
import Foundation
import NIOCore
import StackLab

struct Options {
    var portBase = 20_000
    var duration = 10
    var connections = 64
    var threads = 2
    var labThreads = System.coreCount
    /// Rounds of the soak's three faults.
    var cycles = 20
    /// What the soak kills and revives (comma-separated targets); nil: web-01/nginx, web-01 and web-01/mysql.
    var targets: [String]?
    /// `page`, `static` or both (nil): one phase alone is handy under a profiler; `store` for the database;
    /// `hold` keeps the lab up.
    var only: String?
    /// `HOST:PORT:USER:PASSWORD` of a real MySQL/MariaDB server to measure beside the lab's store.
    var mysql: String?

    init(_ arguments: [String]) {
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            if flag == "--only", let what = rest.popFirst() {
                only = what
                continue
            }
            if flag == "--targets", let what = rest.popFirst() {
                targets = what.split(separator: ",").map(String.init)
                continue
            }
            if flag == "--mysql", let what = rest.popFirst() {
                mysql = what
                continue
            }
            let value = rest.popFirst().flatMap(Int.init)
            switch (flag, value) {
            case ("--port-base", let v?): portBase = v
            case ("--duration", let v?): duration = v
            case ("--connections", let v?): connections = v
            case ("--threads", let v?): threads = v
            case ("--lab-threads", let v?): labThreads = v
            case ("--cycles", let v?) where v > 0: cycles = v
            default:
                FileHandle.standardError.write(Data("usage: stacklab-bench [--port-base N] [--duration S] [--connections N] [--threads N] [--lab-threads N] [--only page|static|store|hold|soak] [--cycles N] [--targets A,B]\n".utf8))
                exit(2)
            }
        }
    }
}

struct WrkResult {
    var requestsPerSecond: Double
    var p50: String
    var p99: String
    var errors: String
}

func residentMemory() -> (current: Int, peak: Int) {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func field(_ name: String) -> Int {
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
    return (field("VmRSS:") / 1024, field("VmHWM:") / 1024)
}

func wrk(_ url: String, options: Options, duration: Int) throws -> WrkResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["wrk", "-t\(options.threads)", "-c\(options.connections)", "-d\(duration)s", "--latency", url]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else { throw BenchError("wrk failed:\n\(text)") }
    var result = WrkResult(requestsPerSecond: 0, p50: "?", p99: "?", errors: "none")
    for line in text.split(separator: "\n") {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        if line.hasPrefix("Requests/sec:"), let value = words.last.flatMap({ Double($0) }) { result.requestsPerSecond = value }
        if words.first == "50%", words.count > 1 { result.p50 = String(words[1]) }
        if words.first == "99%", words.count > 1 { result.p99 = String(words[1]) }
        if line.contains("Non-2xx") || line.contains("Socket errors") { result.errors = line.trimmingCharacters(in: .whitespaces) }
    }
    return result
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func mark(_ ok: Bool) -> String { ok ? "met" : "NOT met" }

let options = Options(CommandLine.arguments)
guard (try? Process.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: ["which", "wrk"]))?.isRunning != nil else {
    print("wrk is needed: apt-get install wrk")
    exit(1)
}

let folder = NSTemporaryDirectory() + "stacklab-bench-\(getpid())"
try? FileManager.default.removeItem(atPath: folder)
try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
defer { try? FileManager.default.removeItem(atPath: folder) }
if options.only == "soak" {
    // Health checks every 200 ms instead of 2 s, so a kill/revive cycle takes a second rather than ten; each check may
    // take 3 s (without `timeout check`, HAProxy's check timeout is inter), so a check queued behind the load on a busy
    // machine is not mistaken for a dead server.
    let haproxy = folder + "/lb-01/haproxy.cfg"
    let text = try String(contentsOfFile: haproxy, encoding: .utf8)
    try text.replacingOccurrences(of: "inter 2s", with: "inter 200ms")
        .replacingOccurrences(of: "    timeout server 30s\n", with: "    timeout server 30s\n    timeout check 3s\n")
        .write(toFile: haproxy, atomically: true, encoding: .utf8)
}

let memoryBefore = residentMemory()
let started = Date()
let definition = try LabDefinition.load(directory: folder)
let lab = try await Lab.start(definition, options: LabOptions(portOffset: options.portBase, threads: options.labThreads))
let startMilliseconds = Date().timeIntervalSince(started) * 1000
guard let entry = lab.entryAddress else { throw BenchError("the lab has no balancer") }

// Wait until lb-01 has checked both web servers, so no request meets a server in `UP 1/3`.
let deadline = Date().addingTimeInterval(10)
while Date() < deadline, !(lab.balancers.first?.serverStatuses.allSatisfy { $0.status == "UP" } ?? true) {
    try await Task.sleep(nanoseconds: 20_000_000)
}

print("stacklab-bench: lab foobar on \(entry) (port base \(options.portBase)), wrk -t\(options.threads) -c\(options.connections) -d\(options.duration)s")
print(String(format: "lab start: %.1f ms (load + parse + bind every port)", startMilliseconds))
if options.only == "store" {
    let primary = StoreTarget(host: "127.0.1.11", port: options.portBase + 3306, user: "root", password: "")
    let replica = StoreTarget(host: "127.0.1.12", port: options.portBase + 3306, user: "root", password: "")
    let seconds = Double(options.duration)
    let connections = min(options.connections, 32)
    print("store: \(connections) connections, \(options.duration) s per phase, through the MySQL protocol")
    // Lag first, on a fresh store, then the query phases.
    let lags = try await StoreBench.lag(primary: primary, replica: replica, group: lab.group, rate: 500, seconds: seconds)
    let ours = try await StoreBench.queries(primary, group: lab.group, connections: connections, seconds: seconds)
    func line(_ name: String, _ f: QueryFigures) -> String {
        name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: " %9.0f/s   p50 %6.2f ms   p99 %6.2f ms", f.perSecond, f.p50, f.p99)
    }
    print(line("stacklab point SELECT", ours.select))
    print(line("stacklab INSERT", ours.insert))
    print(String(format: "stacklab replication lag      p50 %6.2f ms   p99 %6.2f ms   (%d rows at 500/s)",
                 StoreBench.percentile(lags, 0.5), StoreBench.percentile(lags, 0.99), lags.count))
    if let text = options.mysql, let real = StoreTarget(text) {
        let theirs = try await StoreBench.queries(real, group: lab.group, connections: connections, seconds: seconds)
        print(line("real server point SELECT", theirs.select))
        print(line("real server INSERT", theirs.insert))
        print(String(format: "targets: point SELECT >= 1.0x the real server: %.2fx  %@", ours.select.perSecond / theirs.select.perSecond,
                     mark(ours.select.perSecond >= theirs.select.perSecond)))
    }
    print(String(format: "targets: replication lag p99 < 5 ms: %.2f ms  %@", StoreBench.percentile(lags, 0.99),
                 mark(StoreBench.percentile(lags, 0.99) < 5)))
    await lab.shutdown()
    exit(0)
}
if options.only == "soak" {
    let passed = try await SoakBench.run(lab: lab, cycles: options.cycles, connections: min(options.connections, 16),
                                    targets: options.targets ?? ["web-01/nginx", "web-01", "web-01/mysql"])
    await lab.shutdown()
    exit(passed ? 0 : 1)
}
if options.only == "hold" {
    // Keep the lab up for a profiler or a hand-run wrk, then stop.
    print("holding the lab for \(options.duration) s")
    try await Task.sleep(nanoseconds: UInt64(options.duration) * 1_000_000_000)
    await lab.shutdown()
    exit(0)
}
_ = try wrk("http://\(entry)/", options: options, duration: 2)   // warm-up
let skipped = WrkResult(requestsPerSecond: 0, p50: "-", p99: "-", errors: "skipped")
let page = options.only == "static" ? skipped : try wrk("http://\(entry)/", options: options, duration: options.duration)
let file = options.only == "page" ? skipped : try wrk("http://\(entry)/static/hello.txt", options: options, duration: options.duration)
let memory = residentMemory()
await lab.shutdown()

print("")
print("                      req/s      p50        p99        errors")
print(String(format: "/                   %8.0f   %-9@  %-9@  %@", page.requestsPerSecond, page.p50, page.p99, page.errors))
print(String(format: "/static/hello.txt   %8.0f   %-9@  %-9@  %@", file.requestsPerSecond, file.p50, file.p99, file.errors))
print("resident memory: \(memory.current) MB now, \(memory.peak) MB peak (before the lab: \(memoryBefore.current) MB)")
print("")
print("targets (real stack on this machine: / 2,400 req/s, static 29,500 req/s, start 1.8 s, 419 MB):")
print(String(format: "  /        >= 24,000 req/s (10x):  %.0f  %@", page.requestsPerSecond, mark(page.requestsPerSecond >= 24_000)))
print(String(format: "  static   >= 29,500 req/s (1x):   %.0f  %@", file.requestsPerSecond, mark(file.requestsPerSecond >= 29_500)))
print(String(format: "  start    < 150 ms:               %.1f ms  %@", startMilliseconds, mark(startMilliseconds < 150)))
print("  memory   < 60 MB:                \(memory.peak) MB peak  \(mark(memory.peak < 60))")
