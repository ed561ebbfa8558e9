import Foundation
import Testing
@testable import StackLab
@testable import StackLabShell
import StackLabTestSupport

/// Random and mutated lab files for every format, from the built-in lab's real files: each is accepted or refused
/// with an error that names its file (and a line inside it) — never a crash — and a running lab that is asked to
/// `lab load` them stays up.
@Suite("Config files: mutated lab files are accepted or refused, never a crash", .serialized, .runsALab)
struct ConfigFileFuzzTests {
    /// The files of the fuzz lab (foobar-hardened, with keepalived on lb-01), by format.
    static let files = ["lab.conf", "lb-01/haproxy.cfg", "lb-01/keepalived.conf", "lb-01/ufw.rules", "web-01/nginx.conf",
                        "web-01/gunicorn.conf.py", "web-01/my.cnf", "web-01/init.sql", "web-01/ufw.rules", "monitor/alerts.yml"]

    static let keepalived = """
        # lb-01's keepalived: the MASTER of 127.0.1.100 while its haproxy runs.
        global_defs {
            router_id lb-01
            vrrp_version 3
            enable_script_security
            script_user root
        }

        vrrp_script chk_haproxy {
            script "/usr/bin/killall -0 haproxy"
            interval 1
            fall 2
            rise 2
        }

        vrrp_instance VI_1 {
            state MASTER
            interface eth0
            virtual_router_id 51
            priority 250
            advert_int 0.1
            virtual_ipaddress {
                127.0.1.100
            }
            track_script {
                chk_haproxy
            }
        }

        """

    /// A folder with the fuzz lab's files, each as the real lab has it.
    static func writeSeedLab(to folder: String) throws {
        try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: folder)
        let lab = folder + "/lab.conf"
        try (try String(contentsOfFile: lab, encoding: .utf8))
            .replacingOccurrences(of: "server lb-01   127.0.1.1   haproxy", with: "server lb-01   127.0.1.1   haproxy keepalived")
            .write(toFile: lab, atomically: true, encoding: .utf8)
        try keepalived.write(toFile: folder + "/lb-01/keepalived.conf", atomically: true, encoding: .utf8)
    }

    /// What opens a nesting level in each format, for the deep-nesting mutation.
    static func opener(for file: String, using rng: inout SplitMix64) -> String {
        switch (file as NSString).pathExtension {
        case "conf" where file.hasSuffix("nginx.conf"): "location / {\n"
        case "conf": "vrrp_instance X {\n"
        case "yml": ["[", "{a: ", "- "][Int.random(in: 0..<3, using: &rng)]
        case "py": "["
        case "sql": "("
        default: "{"
        }
    }

    /// One to three mutations of a file's bytes: lines deleted, duplicated or swapped, odd bytes, numbers at the
    /// edges, deep nesting, huge lines, a cut, or nothing left.
    static func mutate(_ bytes: [UInt8], file: String, using rng: inout SplitMix64) -> [UInt8] {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        func pick() -> Int { Int.random(in: 0..<max(1, lines.count), using: &rng) }
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            if lines.isEmpty { lines = [[]] }
            switch Int.random(in: 0..<11, using: &rng) {
            case 0: lines.remove(at: pick())
            case 1: let i = pick(); lines.insert(lines[i], at: i)
            case 2: lines.swapAt(pick(), pick())
            case 3:
                let i = pick()
                let at = Int.random(in: 0...lines[i].count, using: &rng)
                lines[i].insert(contentsOf: rng.oddBytes(), at: at)
            case 4:
                // A number in the line becomes one at the edges.
                let i = pick()
                let text = String(decoding: lines[i], as: UTF8.self)
                if let range = text.range(of: "[0-9]+", options: .regularExpression) {
                    lines[i] = Array(text.replacingCharacters(in: range, with: rng.edgeNumber()).utf8)
                } else {
                    lines[i] += Array(" \(rng.edgeNumber())".utf8)
                }
            case 5:
                let levels = Int.random(in: 90...60_000, using: &rng)
                let open = opener(for: file, using: &rng)
                lines.insert(Array(String(repeating: open, count: levels).utf8), at: pick())
            case 6:
                let length = Int.random(in: 4_000...300_000, using: &rng)
                let chunk = (0..<64).map { _ in UInt8.random(in: UInt8(ascii: "a")...UInt8(ascii: "z"), using: &rng) }
                let line = Array(repeating: chunk, count: length / 64 + 1).flatMap { $0 }
                if Bool.random(using: &rng) { lines.insert(line, at: pick()) } else { lines[pick()] += line }
            case 7: lines.insert((0..<Int.random(in: 1...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: pick())
            case 8:
                let flat = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
                let cut = flat.prefix(Int.random(in: 0...flat.count, using: &rng))
                lines = cut.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
            case 9: lines = [[]]
            default:
                // A line of another format's file: the wrong syntax in the right place.
                let other = ["listen 127.0.1.11:8080;", "bind *:80", "server web-01 127.0.1.11:8080 check", "[mysqld]", "workers = 4",
                             "allow 22/tcp", "- alert: X", "vrrp_instance V {", "}", "{", "expr: ((up))", "'", "\"", "\\"]
                lines.insert(Array(other[Int.random(in: 0..<other.count, using: &rng)].utf8), at: pick())
            }
        }
        return Array(lines.joined(separator: [UInt8(ascii: "\n")]))
    }

    /// Every error of a refused lab names one of its files, with a line inside that file (or none).
    static func check(_ errors: [ConfigError], folder: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!errors.isEmpty, sourceLocation: sourceLocation)
        for error in errors {
            let path = error.file.hasPrefix("/") ? error.file : folder + "/" + error.file
            let lines = ((try? Data(contentsOf: URL(fileURLWithPath: path))).map { $0.filter { $0 == UInt8(ascii: "\n") }.count } ?? 0) + 1
            #expect(!error.file.isEmpty && error.description.hasPrefix(error.file), "\(error)", sourceLocation: sourceLocation)
            #expect((0...lines).contains(error.line), "line \(error.line) of \(lines): \(error)", sourceLocation: sourceLocation)
        }
    }

    /// The monitor's rule file is read when the monitor starts, not with the lab: through RuleFile.load.
    static func checkRules(_ path: String) {
        do {
            _ = try RuleFile.load(path: path)
        } catch let error as RuleFileError {
            #expect(error.file == path && !error.reason.isEmpty, "\(error)")
        } catch {
            Issue.record("a rule file gave \(error), not a RuleFileError")
        }
    }

    @Test func mutatedFilesLoadOrAreRefusedWithTheirFileAndLine() throws {
        let folder = NSTemporaryDirectory() + "stacklab-fuzz-config-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.writeSeedLab(to: folder)
        _ = try LabDefinition.load(directory: folder)
        var originals: [String: [UInt8]] = [:]
        for file in Self.files { originals[file] = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))) }

        let budget = FuzzBudget("config files", seed: 0x11C0_FF1E)
        var rng = budget.generator()
        var cases = 0, accepted = 0
        while budget.more(after: cases) {
            cases += 1
            let file = Self.files[Int.random(in: 0..<Self.files.count, using: &rng)]
            let path = folder + "/" + file
            try Data(Self.mutate(originals[file]!, file: file, using: &rng)).write(to: URL(fileURLWithPath: path))
            if file.hasSuffix("alerts.yml") {
                Self.checkRules(path)
            } else {
                do {
                    _ = try LabDefinition.load(directory: folder)
                    accepted += 1
                } catch let error as LabLoadError {
                    Self.check(error.errors, folder: folder)
                } catch {
                    Issue.record("\(file): the lab gave \(error), not a LabLoadError")
                }
            }
            try Data(originals[file]!).write(to: URL(fileURLWithPath: path))
        }
        print(budget.summary(cases: cases) + " — \(accepted) accepted")
        #expect(cases > 0)
    }

    /// Lines of every file cut after one of their words: the arguments a directive reads by position are there or
    /// the error says so. In `make test` a few seconds of the cuts, in a seeded order; `make fuzz` runs them all.
    @Test func linesCutShortLoadOrAreRefused() throws {
        let folder = NSTemporaryDirectory() + "stacklab-fuzz-cut-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.writeSeedLab(to: folder)
        var cuts: [(file: String, line: Int, keep: Int)] = []
        var originals: [String: [String]] = [:]
        for file in Self.files {
            let lines = try String(contentsOfFile: folder + "/" + file, encoding: .utf8).components(separatedBy: "\n")
            originals[file] = lines
            for (index, line) in lines.enumerated() {
                let words = line.split(separator: " ").count
                if words > 1 { for keep in 1..<words { cuts.append((file, index, keep)) } }
            }
        }
        let budget = FuzzBudget("cut lines", seed: 0xC0_7C07)
        var rng = budget.generator()
        cuts.shuffle(using: &rng)
        var cases = 0
        for cut in cuts where budget.more(after: cases) {
            cases += 1
            let path = folder + "/" + cut.file
            var lines = originals[cut.file] ?? []
            let line = lines[cut.line]
            lines[cut.line] = String(line.prefix { $0 == " " }) + line.split(separator: " ").prefix(cut.keep).joined(separator: " ")
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            if cut.file.hasSuffix("alerts.yml") {
                Self.checkRules(path)
            } else {
                do { _ = try LabDefinition.load(directory: folder) } catch let error as LabLoadError { Self.check(error.errors, folder: folder) }
            }
            try (originals[cut.file] ?? []).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        print(budget.summary(cases: cases) + " — of \(cuts.count) cuts")
    }

    /// Mutated folders through the shell's `lab load` on a running lab: a refused folder leaves the running lab as it
    /// was, an accepted one runs; afterwards the real files load again and the lab answers a good request.
    @MainActor @Test func mutatedFoldersThroughLabLoadLeaveTheLabUp() async throws {
        let root = NSTemporaryDirectory() + "stacklab-fuzz-load-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let seed = root + "/seed"
        try Self.writeSeedLab(to: seed)
        let session = try await ShellLineFuzzTests.startSession(seed)
        let output = CapturedOutput()
        let shell = Shell(session: session, output: output, style: .plain)
        var originals: [String: [UInt8]] = [:]
        for file in Self.files { originals[file] = Array(try Data(contentsOf: URL(fileURLWithPath: seed + "/" + file))) }

        let budget = FuzzBudget("lab load", seed: 0x1AB_10AD, seconds: 6, maxCases: 200)
        var rng = budget.generator()
        var cases = 0, refused = 0
        while budget.more(after: cases) {
            cases += 1
            let folder = root + "/case-\(cases)"
            try Self.writeSeedLab(to: folder)
            let file = Self.files.filter { !$0.hasSuffix("alerts.yml") }[Int.random(in: 0..<(Self.files.count - 1), using: &rng)]
            try Data(Self.mutate(originals[file]!, file: file, using: &rng)).write(to: URL(fileURLWithPath: folder + "/" + file))
            // Starting a lab takes a second: most cases are folders the loader refuses, a few are started.
            let loads = (try? LabDefinition.load(directory: folder)) != nil
            if loads && Int.random(in: 0..<6, using: &rng) != 0 { continue }
            let before = shell.lab
            output.clear()
            let ok = await shell.execute("lab load \(folder)")
            if ok {
                #expect(shell.lab.definition.directory == folder)
            } else {
                refused += 1
                #expect(output.text.contains("error:"), "\(file): \(output.text.prefix(300))")
                if !loads { #expect(shell.lab === before, "a folder that does not load stopped the running lab") }
                #expect(shell.lab.processes.allSatisfy { $0.state == .running }, "\(output.text.prefix(300))")
            }
            try? FileManager.default.removeItem(atPath: folder)
        }
        print(budget.summary(cases: cases) + " — \(refused) refused")
        output.clear()
        let back = await shell.execute("lab load \(seed)")
        #expect(back, "\(output.text)")
        let lb = try #require(shell.lab.topology.servers.first { $0.name == "lb-01" })
        let reply = try await RawExchange.send(Array("GET / HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n".utf8),
                                               to: lb.address, port: shell.lab.network.port(8080), group: shell.lab.group)
        await session.shutdown()
        // The hardened lab's plain port redirects to HTTPS.
        let status = String(decoding: reply.prefix(12), as: UTF8.self)
        #expect(["HTTP/1.1 200", "HTTP/1.1 301", "HTTP/1.1 302"].contains(status), "\(String(decoding: reply.prefix(200), as: UTF8.self))")
    }
}
