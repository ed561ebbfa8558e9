// The real servers beside the lab, in the same run: HAProxy, nginx and gunicorn started from the lab's own config
// files (the same folder, copied), each server moved from 127.0.1.N to 127.0.3.N with the lab's port base, so both
// stacks are up at once and wrk takes turns between them. Logs are written as the lab's files say (HAProxy's
// `log stdout` and gunicorn's `accesslog = "-"` go to files). gunicorn runs a small WSGI app that answers `/` with
// the page the lab's own app server gave, and `/health`.
import Foundation

/// CPU time of a set of processes, from /proc/<pid>/stat (utime + stime, in clock ticks).
enum ProcessCPU {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// (ppid, utime + stime) of a process, or nil when it is gone.
    static func stat(_ pid: Int32) -> (parent: Int32, ticks: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let parent = Int32(fields[1]), let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return (parent, user + system)
    }

    /// Seconds of CPU used so far by this process (every thread).
    static func ownSeconds() -> Double { Double(stat(getpid())?.ticks ?? 0) / ticksPerSecond }

    /// `roots` and every process below them.
    static func tree(of roots: [Int32]) -> [Int32] {
        var parents: [Int32: Int32] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let found = stat(pid) else { continue }
            parents[pid] = found.parent
        }
        let wanted = Set(roots)
        return parents.keys.filter { pid in
            var at: Int32? = pid
            for _ in 0..<16 {
                guard let current = at else { return false }
                if wanted.contains(current) { return true }
                at = parents[current]
            }
            return false
        }
    }

    /// Seconds of CPU used so far by `roots` and every process below them (nginx and gunicorn workers).
    static func seconds(of roots: [Int32]) -> Double {
        var parents: [Int32: Int32] = [:]
        var ticks: [Int32: Int] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let found = stat(pid) else { continue }
            parents[pid] = found.parent
            ticks[pid] = found.ticks
        }
        let wanted = Set(roots)
        var total = 0
        for (pid, count) in ticks {
            var at: Int32? = pid
            var depth = 0
            while let current = at, depth < 16 {
                if wanted.contains(current) {
                    total += count
                    break
                }
                at = parents[current]
                depth += 1
            }
        }
        return Double(total) / ticksPerSecond
    }
}

final class RealStack {
    struct Tool {
        var name: String
        var path: String
    }

    /// `host:port` of the real HAProxy's plain and TLS binds.
    let entry: String
    let tlsEntry: String?
    /// gunicorn is running (else `/` is not measured on the real side).
    let hasApp: Bool
    let versions: String
    private var processes: [Process] = []
    private let folder: String

    static let realPrefix = "127.0.3."

    /// An executable on PATH or in the sbin folders (nginx and haproxy live there).
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for folder in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/local/sbin"] {
            let candidate = folder + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The lab's address `127.0.1.N:PORT` as the real side's `127.0.3.N:PORT+base`; other text unchanged.
    static func moved(_ text: String, portBase: Int) -> String {
        guard let pattern = try? NSRegularExpression(pattern: #"127\.0\.1\.(\d+)(:(\d+))?"#) else { return text }
        let source = text as NSString
        var result = ""
        var last = 0
        for match in pattern.matches(in: text, range: NSRange(location: 0, length: source.length)) {
            result += source.substring(with: NSRange(location: last, length: match.range.location - last))
            let host = realPrefix + source.substring(with: match.range(at: 1))
            if match.range(at: 3).location != NSNotFound, let port = Int(source.substring(with: match.range(at: 3))) {
                result += "\(host):\(port + portBase)"
            } else {
                result += host
            }
            last = match.range.location + match.range.length
        }
        return result + source.substring(from: last)
    }

    private init(entry: String, tlsEntry: String?, hasApp: Bool, versions: String, folder: String) {
        self.entry = entry
        self.tlsEntry = tlsEntry
        self.hasApp = hasApp
        self.versions = versions
        self.folder = folder
    }

    /// Starts HAProxy, both nginx and (when installed) both gunicorn from the lab folder's files; nil when HAProxy or
    /// nginx is not installed. `pages`: each web server's `/` as the lab's app server answered it.
    static func start(labFolder: String, into folder: String, portBase: Int, pages: [String: String]) throws -> RealStack? {
        guard let haproxy = find("haproxy"), let nginx = find("nginx") else { return nil }
        let gunicorn = find("gunicorn")
        let files = FileManager.default
        try? files.removeItem(atPath: folder)
        try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for server in ["lb-01", "web-01", "web-02"] {
            try files.copyItem(atPath: labFolder + "/" + server, toPath: folder + "/" + server)
        }
        func rewrite(_ path: String, _ change: (String) -> String = { $0 }) throws {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try change(moved(text, portBase: portBase)).write(toFile: path, atomically: true, encoding: .utf8)
        }

        let lbFolder = folder + "/lb-01"
        try rewrite(lbFolder + "/haproxy.cfg")
        let cfg = try String(contentsOfFile: lbFolder + "/haproxy.cfg", encoding: .utf8)
        let binds = cfg.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("bind ") }
        guard let plain = binds.first(where: { !$0.contains(" ssl") })?.split(separator: " ").dropFirst().first else {
            throw BenchError("the lab's haproxy.cfg has no plain bind")
        }
        let tls = binds.first(where: { $0.contains(" ssl") })?.split(separator: " ").dropFirst().first.map(String.init)

        let stack = RealStack(entry: String(plain), tlsEntry: tls, hasApp: gunicorn != nil,
                              versions: [version(haproxy, "-v"), version(nginx, "-v"), gunicorn.flatMap { version($0, "--version") }]
                                  .compactMap { $0 }.joined(separator: ", "),
                              folder: folder)
        let controlSocketFlag = gunicorn.map { version($0, "--help", firstLine: false)?.contains("--control-socket") ?? false } ?? false
        do {
            for server in ["web-01", "web-02"] {
                let dir = folder + "/" + server
                try files.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
                try rewrite(dir + "/nginx.conf")
                try stack.launch(nginx, ["-p", dir + "/", "-c", dir + "/nginx.conf", "-e", dir + "/logs/error.log",
                                         "-g", "daemon off; pid \(dir)/nginx.pid;"], in: dir, output: dir + "/logs/nginx.out")
                if let gunicorn {
                    try rewrite(dir + "/gunicorn.conf.py")
                    try (pages[server] ?? "").write(toFile: dir + "/page.html", atomically: true, encoding: .utf8)
                    try app.write(toFile: dir + "/foobar.py", atomically: true, encoding: .utf8)
                    // gunicorn 23.1+ opens a control socket, by default one path for every instance.
                    let control = controlSocketFlag ? ["--control-socket", dir + "/gunicorn.ctl"] : []
                    try stack.launch(gunicorn, ["-c", dir + "/gunicorn.conf.py", "--chdir", dir] + control, in: dir,
                                     output: dir + "/logs/gunicorn.log")
                }
            }
            try stack.launch(haproxy, ["-db", "-f", lbFolder + "/haproxy.cfg"], in: lbFolder, output: lbFolder + "/haproxy.log")
            try stack.waitUntilServing()
        } catch {
            stack.stop()
            throw error
        }
        return stack
    }

    /// The WSGI app gunicorn runs: `foobar:app`, as the lab's gunicorn.conf.py names it.
    static let app = """
        # The foobar app beside the lab: `/` as the lab's app server answered it, and `/health`.
        import os
        PAGE = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "page.html"), "rb").read()

        def app(environ, start_response):
            path = environ.get("PATH_INFO", "/")
            if path == "/":
                body, kind, status = PAGE, "text/html; charset=utf-8", "200 OK"
            elif path == "/health":
                body, kind, status = b"OK\\n", "text/plain; charset=utf-8", "200 OK"
            else:
                body, kind, status = b"Not Found\\n", "text/plain; charset=utf-8", "404 NOT FOUND"
            start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
            return [body]

        """

    private static func version(_ tool: String, _ flag: String, firstLine: Bool = true) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = [flag]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        guard (try? process.run()) != nil else { return nil }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if !firstLine { return text }
        // "HAProxy version 2.6.12-1+deb12u4 …", "nginx version: nginx/1.22.1", "gunicorn (version 23.0.0)"
        let first = text.split(separator: "\n").first.map(String.init) ?? ""
        if first.hasPrefix("HAProxy version ") { return "HAProxy " + (first.split(separator: " ").dropFirst(2).first ?? "") }
        if let slash = first.range(of: "nginx/") { return "nginx " + first[slash.upperBound...] }
        if first.hasPrefix("gunicorn (version ") { return "gunicorn " + first.dropFirst(18).dropLast() }
        return first
    }

    private func launch(_ tool: String, _ arguments: [String], in directory: String, output: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        processes.append(process)
    }

    /// Waits (up to 20 s) until HAProxy sends to both web servers (their static files differ) and `/` answers 200.
    private func waitUntilServing() throws {
        let deadline = Date().addingTimeInterval(20)
        var seen: Set<String> = []
        while Date() < deadline {
            if let gone = processes.first(where: { !$0.isRunning }) {
                throw BenchError("\(gone.executableURL?.lastPathComponent ?? "a real server") exited at start: see \(folder)")
            }
            let body = Self.curl(["http://\(entry)/static/hello.txt"])
            for server in ["web-01", "web-02"] where body.contains(server) { seen.insert(server) }
            if seen.count == 2, !hasApp || Self.status("http://\(entry)/") == "200" { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw BenchError("the real stack did not answer from both web servers within 20 s: see \(folder)")
    }

    static func status(_ url: String) -> String { curl(["-o", "/dev/null", "-w", "%{http_code}", url]) }

    /// curl's output (quiet, TLS unverified, 2 s at most).
    static func curl(_ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "-k", "-m", "2"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }

    /// CPU seconds of every real server process so far.
    var cpuSeconds: Double { ProcessCPU.seconds(of: processes.map(\.processIdentifier)) }

    /// SIGTERM to each server; whatever still runs 10 s later (a gunicorn master that does not stop) is killed,
    /// with its workers.
    func stop() {
        let roots = processes.map(\.processIdentifier)
        for process in processes where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, processes.contains(where: \.isRunning) { Thread.sleep(forTimeInterval: 0.05) }
        if processes.contains(where: \.isRunning) {
            for pid in ProcessCPU.tree(of: roots) { kill(pid, SIGKILL) }
        }
        for process in processes { process.waitUntilExit() }
        processes.removeAll()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
