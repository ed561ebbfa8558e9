// stacklab-bench: the miniature's speed and size, measured beside the real servers in the same run: wrk with
// keep-alive connections against lb-01 for a static file (lb → nginx), `/` (lb → nginx → gunicorn → app), the static
// file over HTTPS (keep-alive, then a new TLS handshake per request), and the same phases against real HAProxy,
// nginx and gunicorn started from the lab's own files (RealStack.swift), taking turns; plus the lab's start time and
// resident memory. Build with `-c release`; `make bench` does.
//
//   stacklab-bench [--port-base N] [--duration SECONDS] [--rounds N] [--connections N] [--threads N] [--no-real]
//   stacklab-bench --only static|page|https|handshake|store|hold|soak [--cycles N] [--targets web-01/nginx,web-01,web-01/mysql]
import Foundation
import NIOCore
import StackLab

struct Options {
    var portBase = 20_000
    var duration = 10
    var connections = 32
    var threads = 2
    var labThreads = System.coreCount
    /// Rounds of the soak's three faults.
    var cycles = 20
    /// Turns of each HTTP phase on each side.
    var rounds = 2
    /// Measure the real servers too, when they are installed.
    var real = true
    /// What the soak kills and revives (comma-separated targets); nil: web-01/nginx, web-01 and web-01/mysql.
    var targets: [String]?
    /// One HTTP phase (`static`, `page`, `https`, `handshake`) or all (nil): one alone is handy under a profiler;
    /// `store` for the database;
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
            if flag == "--no-real" {
                real = false
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
            case ("--rounds", let v?) where v > 0: rounds = v
            default:
                FileHandle.standardError.write(Data("usage: stacklab-bench [--port-base N] [--duration S] [--connections N] [--threads N] [--lab-threads N] [--rounds N] [--no-real] [--only static|page|https|handshake|store|hold|soak] [--cycles N] [--targets A,B]\n".utf8))
                exit(2)
            }
        }
    }
}

struct WrkResult {
    var requestsPerSecond: Double
    var requests: Int
    /// Latencies in microseconds (wrk's `--latency` percentiles).
    var p50: Double
    var p99: Double
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

/// wrk's `1.23ms`, `870.00us`, `1.02s` in microseconds.
func microseconds(_ text: Substring) -> Double {
    for (unit, scale) in [("us", 1.0), ("ms", 1000.0), ("s", 1_000_000.0)] where text.hasSuffix(unit) {
        return (Double(text.dropLast(unit.count)) ?? .nan) * scale
    }
    return .nan
}

func wrk(_ url: String, options: Options, duration: Int, headers: [String] = []) throws -> WrkResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["wrk", "-t\(options.threads)", "-c\(options.connections)", "-d\(duration)s", "--latency"]
        + headers.flatMap { ["-H", $0] } + [url]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else { throw BenchError("wrk failed:\n\(text)") }
    var result = WrkResult(requestsPerSecond: 0, requests: 0, p50: .nan, p99: .nan, errors: "none")
    for line in text.split(separator: "\n") {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        if line.hasPrefix("Requests/sec:"), let value = words.last.flatMap({ Double($0) }) { result.requestsPerSecond = value }
        if words.count > 2, words[1] == "requests", words[2] == "in", let count = Int(words[0]) { result.requests = count }
        if words.first == "50%", words.count > 1 { result.p50 = microseconds(words[1]) }
        if words.first == "99%", words.count > 1 { result.p99 = microseconds(words[1]) }
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
guard RealStack.find("wrk") != nil else {
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
let httpPhases = !["soak", "store", "hold"].contains(options.only ?? "")
if httpPhases || options.only == "hold" {
    // HTTPS at lb-01 as the hardened lab has it (its certificate minted at the lab's start); the same file serves
    // the real HAProxy.
    let haproxy = folder + "/lb-01/haproxy.cfg"
    let text = try String(contentsOfFile: haproxy, encoding: .utf8)
    try text.replacingOccurrences(of: "    bind 127.0.1.1:8080\n", with: "    bind 127.0.1.1:8080\n    bind 127.0.1.1:8443 ssl crt www.foobar.com.pem\n")
        .write(toFile: haproxy, atomically: true, encoding: .utf8)
}

// The TLS files are minted before the clock starts: a lab mints them once, at its first start.
_ = try TLSMaterial.mintMissing(for: LabDefinition.load(directory: folder))
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

/// One wrk phase, run against each side in turn.
struct Phase {
    var name: String
    var path: String
    var https = false
    var headers: [String] = []
    /// Needs the real gunicorn on the real side.
    var needsApp = false
}

let phases = [
    Phase(name: "static", path: "/static/hello.txt"),
    Phase(name: "page", path: "/", needsApp: true),
    Phase(name: "https", path: "/static/hello.txt", https: true),
    Phase(name: "handshake", path: "/static/hello.txt", https: true, headers: ["Connection: close"]),
].filter { options.only == nil || options.only == $0.name }
let labels = ["static": "static  lb → nginx", "page": "/  lb → nginx → app", "https": "HTTPS keep-alive",
              "handshake": "HTTPS new handshakes"]

let tlsEntry = entry.replacingOccurrences(of: ":\(options.portBase + 8080)", with: ":\(options.portBase + 8443)")
var real: RealStack?
if options.real {
    // The page each lab app server gives, for the real gunicorn to give the same bytes.
    var pages: [String: String] = [:]
    for (server, address) in [("web-01", "127.0.1.11"), ("web-02", "127.0.1.12")] {
        pages[server] = RealStack.curl(["http://\(address):\(options.portBase + 8000)/"])
    }
    do {
        real = try RealStack.start(labFolder: folder, into: folder + "-real", portBase: options.portBase, pages: pages)
    } catch {
        print("the real servers did not start: \(error)")
    }
    if let real {
        print("real stack: \(real.versions) from the same files on \(RealStack.realPrefix)x (logs written)")
        if !real.hasApp { print("  (gunicorn is not installed: `/` is measured on the lab alone; pip install gunicorn)") }
    } else if RealStack.find("haproxy") == nil || RealStack.find("nginx") == nil {
        print("real stack: HAProxy or nginx is not installed (apt-get install haproxy nginx-light): the lab alone")
    }
}

/// What one side did in one phase: wrk's figures and the CPU its processes spent.
struct Measured {
    var wrk: WrkResult
    var cpuSeconds: Double
    var cpuPerRequest: Double { wrk.requests > 0 ? cpuSeconds / Double(wrk.requests) * 1e6 : .nan }
}

func measure(_ url: String, headers: [String], cpu: () -> Double) throws -> Measured {
    let before = cpu()
    let result = try wrk(url, options: options, duration: options.duration, headers: headers)
    return Measured(wrk: result, cpuSeconds: cpu() - before)
}

func cell(_ m: Measured?) -> String {
    guard let m else { return "-".padding(toLength: 38, withPad: " ", startingAt: 0) }
    return String(format: "%8.0f/s  p99 %7.2f ms  %5.1f µs/req", m.wrk.requestsPerSecond, m.wrk.p99 / 1000, m.cpuPerRequest)
}

print("")
print("phase                  round   stacklab                                 real                                     ratio")
var totals: [String: (ours: [Measured], theirs: [Measured])] = [:]
for phase in phases {
    let ourURL = (phase.https ? "https://\(tlsEntry)" : "http://\(entry)") + phase.path
    let theirURL: String? = real.flatMap { real in
        if phase.needsApp && !real.hasApp { return nil }
        if phase.https { return real.tlsEntry.map { "https://\($0)" + phase.path } }
        return "http://\(real.entry)" + phase.path
    }
    // Warm-up: pools, caches and the TLS session machinery of both sides.
    _ = try wrk(ourURL, options: options, duration: 1, headers: phase.headers)
    if let theirURL { _ = try wrk(theirURL, options: options, duration: 1, headers: phase.headers) }
    for round in 1...options.rounds {
        var ours: Measured?
        var theirs: Measured?
        // Taking turns, the side that goes first changing each round, so drift on a shared machine falls on both.
        for side in (round % 2 == 1 ? [0, 1] : [1, 0]) {
            if side == 0 {
                ours = try measure(ourURL, headers: phase.headers) { ProcessCPU.ownSeconds() }
            } else if let theirURL, let real {
                theirs = try measure(theirURL, headers: phase.headers) { real.cpuSeconds }
            }
        }
        if let ours { totals[phase.name, default: ([], [])].ours.append(ours) }
        if let theirs { totals[phase.name, default: ([], [])].theirs.append(theirs) }
        let ratio = theirs.map { String(format: "%.2f×", (ours?.wrk.requestsPerSecond ?? 0) / $0.wrk.requestsPerSecond) } ?? ""
        let label = (labels[phase.name] ?? phase.name).padding(toLength: 22, withPad: " ", startingAt: 0)
        print("\(label) \(round)       \(cell(ours))   \(cell(theirs))   \(ratio)")
        for (side, m) in [("stacklab", ours), ("real", theirs)] where m != nil && m?.wrk.errors != "none" {
            print("    \(side): \(m?.wrk.errors ?? "")")
        }
    }
}
let memory = residentMemory()
real?.stop()
await lab.shutdown()

/// The mean over the rounds of a phase: requests per second, p99 (the worst round), CPU per request.
@MainActor func summary(_ phase: String) -> (ours: Double, theirs: Double?, oursP99: Double, theirsP99: Double?)? {
    guard let found = totals[phase], !found.ours.isEmpty else { return nil }
    func rate(_ list: [Measured]) -> Double { list.map(\.wrk.requestsPerSecond).reduce(0, +) / Double(list.count) }
    return (rate(found.ours), found.theirs.isEmpty ? nil : rate(found.theirs), found.ours.map(\.wrk.p99).max() ?? .nan,
            found.theirs.map(\.wrk.p99).max())
}

print("")
print("resident memory: \(memory.current) MB now, \(memory.peak) MB peak (before the lab: \(memoryBefore.current) MB)")
print("targets (wrk -t\(options.threads) -c\(options.connections), the mean of \(options.rounds) round(s); real = the servers above, this run):")
let wanted: [(String, Double, String)] = [("static", 1.0, "HAProxy → nginx"), ("page", 2.0, "HAProxy → nginx → gunicorn"),
                                         ("https", 0.5, "HAProxy (same certificate)"), ("handshake", 1.0, "HAProxy (same certificate)")]
for (phase, factor, what) in wanted {
    guard let s = summary(phase) else { continue }
    let label = (labels[phase] ?? phase).padding(toLength: 22, withPad: " ", startingAt: 0)
    guard let theirs = s.theirs else {
        print(String(format: "  %@ %8.0f/s  (no real side to compare with)", label, s.ours))
        continue
    }
    let ratio = s.ours / theirs
    print(String(format: "  %@ >= %.1f× %@: %.2f×  %@", label, factor, what, ratio, mark(ratio >= factor)))
}
for phase in phases.map(\.name) {
    guard let s = summary(phase), let theirs = s.theirsP99 else { continue }
    let label = ("p99 " + (labels[phase] ?? phase)).padding(toLength: 26, withPad: " ", startingAt: 0)
    print(String(format: "  %@ <= real's %.2f ms: %.2f ms  %@", label, theirs / 1000, s.oursP99 / 1000, mark(s.oursP99 <= theirs)))
}
print(String(format: "  start    < 150 ms:  %.1f ms  %@", startMilliseconds, mark(startMilliseconds < 150)))
print("  memory   < 60 MB:   \(memory.peak) MB peak  \(mark(memory.peak < 60))")
