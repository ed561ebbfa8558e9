import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import StackLab
@testable import StackLabShell
import StackLabTestSupport

/// Random shell lines — verbs with random arguments, odd quoting, numbers at the edges — through a Shell on a
/// running lab: each line ends (by itself or at Ctrl-C) with output or an error, never a crash, and the lab answers a
/// good request afterwards.
@Suite("Shell lines: random lines never take the lab down", .serialized, .runsALab)
struct ShellLineFuzzTests {
    /// Verbs that leave the shell (quit), write outside the lab (lab init, exercise, lesson progress, grading runs) or
    /// replace the lab with another folder are not thrown at it.
    static let verbs = ["status", "diagram", "logs", "top", "metrics", "monitor", "alerts", "curl", "load", "tap", "scan", "tls",
                        "kill", "stop", "hang", "slow", "partition", "revive", "heal", "reset", "ufw", "sql", "replication",
                        "lab", "lab show", "lessons", "check", "next", "back", "hint", "exercises", "watch", "sleep", "help",
                        "bogus", "", ";", "sttaus"]

    static let targets = ["lb-01", "web-01", "web-02", "web-03", "internet", "internet>lb-01", "lb-01>web-01", "web-01/nginx",
                          "web-01/mysql", "web-02/gunicorn", "lb-01/haproxy", "web-01/", "/nginx", "a/b/c", "127.0.1.11", "*"]

    /// One argument: a name of the lab, a number at the edges, a path, a flag, odd quoting, or a long or strange word.
    static func word(using rng: inout SplitMix64) -> String {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0, 1: return targets[Int.random(in: 0..<targets.count, using: &rng)]
        case 2, 3: return rng.edgeNumber()
        case 4: return ["/", "/api/posts", "/login", "/../../etc/passwd", "http://127.0.0.1:1/", "https://x", "/etc/passwd", "~",
                        "lb-01/haproxy.cfg", "../../../../etc/shadow", "%00", "/%ff"][Int.random(in: 0..<12, using: &rng)]
        case 5: return ["-n", "-c", "-d", "-f", "-v", "-i", "--times", "--interval", "--timeout", "--help", "-", "--", "-X",
                        "--rate", "--max-time", "-H"][Int.random(in: 0..<16, using: &rng)]
        case 6:
            let quoting = ["'", "\"", "\"unclosed", "'a b'", "\\", "\"\"", "''", "a\\ b", "\"a;b\"", "$(x)", "`x`", "|", "&&", "#"]
            return quoting[Int.random(in: 0..<quoting.count, using: &rng)]
        case 7: return String(repeating: "A", count: Int.random(in: 100...20_000, using: &rng))
        case 8: return ["é", "\u{FFFD}", "\u{7F}", "\t", "SELECT", "allow", "deny", "on", "off", "10s", "500ms", "2m", "1e309",
                        "NaN", "-0", "0x10"][Int.random(in: 0..<16, using: &rng)]
        default: return String(rng.oddBytes().prefix(64).map { Character(Unicode.Scalar($0)) })
        }
    }

    /// A random line, or one of the shapes that meet the edges of a verb's numbers.
    static func line(using rng: inout SplitMix64) -> String {
        let n = rng.edgeNumber(), w = word(using: &rng)
        let shapes = [
            "slow web-01 \(n)", "watch \(n) status", "watch --times \(n) 0.1 status", "load -n \(n) /", "load -c \(["1", "64", "0", "-1", n].randomElement(using: &rng) ?? "1") -n 20 /",
            "load -d \(n)", "load --rate \(n) -n 10", "sleep \(n)", "logs web-01 -n \(n)", "top --times \(n)", "scan web-01 \(n)",
            "scan web-01 \(n)-\(rng.edgeNumber()) --timeout 100", "tap internet>lb-01 -n \(n)", "ufw web-01 allow \(n)/tcp",
            "ufw web-01 deny from 127.0.0.1 to any port \(n)", "sql SELECT \(n)", "sql SELECT \(n) + \(rng.edgeNumber())",
            "metrics web-01 \(w)", "monitor on --interval \(n)", "curl --max-time \(n) /", "curl -H '\(w)' /", "curl \(w)",
            "partition \(w) web-02", "heal", "revive", "kill \(w)", "hang \(w)", "lab show \(w)", "help \(w)", "watch 0", "load -n -1",
            "slow web-01 9223372036854775807",
        ]
        if Bool.random(using: &rng) { return shapes[Int.random(in: 0..<shapes.count, using: &rng)] }
        let verb = verbs[Int.random(in: 0..<verbs.count, using: &rng)]
        let words = (0..<Int.random(in: 0...4, using: &rng)).map { _ in word(using: &rng) }
        return ([verb] + words).joined(separator: " ")
    }

    /// A shell's lab session on the fuzz suite's ports; a port another suite or worktree holds moves it to the next
    /// offset, a few times.
    @MainActor
    static func startSession(_ folder: String) async throws -> LabSession {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await LabSession.start(LabSource(directory: folder), options: LabOptions(portOffset: FuzzTestPorts.offset()),
                                                  loader: FolderLabLoader())
            } catch where attempt < 5 && "\(error)".contains("already in use") {
                continue
            }
        }
    }

    /// Runs a line; after `patience` Ctrl-C stops it, as a learner would. Returns false when even Ctrl-C did not.
    @MainActor
    static func run(_ line: String, in shell: Shell, patience: Duration = .seconds(2)) async -> Bool {
        let done = NIOLockedValueBox(false)
        let watchdog = Task.detached { @Sendable in
            let ended = { done.withLockedValue { $0 } }
            // The line gets `patience` to end by itself; then Ctrl-C, again every half second until it has (at
            // most 60 s: on a busy machine the shell's actor may be slow to run what the interrupt ends). The
            // watchdog stops as soon as the line ends.
            let seconds = Double(patience.components.seconds) + Double(patience.components.attoseconds) / 1e18
            if (try? await waitUntil(timeout: seconds, every: 0.05) { ended() }) != nil { return }
            for _ in 0..<120 where !ended() {
                _ = shell.interrupt()
                _ = try? await waitUntil(timeout: 0.5, every: 0.05) { ended() }
            }
        }
        let started = ContinuousClock.now
        await shell.execute(line)
        done.withLockedValue { $0 = true }
        watchdog.cancel()
        return ContinuousClock.now - started < patience + .seconds(60)
    }

    @MainActor @Test func randomLinesEndAndTheLabStaysUp() async throws {
        let folder = NSTemporaryDirectory() + "stacklab-fuzz-shell-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
        let session = try await Self.startSession(folder)
        let output = CapturedOutput()
        let shell = Shell(session: session, output: output, style: .plain)

        let budget = FuzzBudget("shell lines", seed: 0x5_4E11, seconds: 8, maxCases: 400)
        var rng = budget.generator()
        var cases = 0
        var slow: [String] = []
        while budget.more(after: cases) {
            cases += 1
            let line = Self.line(using: &rng)
            output.clear()
            if !(await Self.run(line, in: shell)) { slow.append(line) }
            // The captured output of a line is bounded: a verb that prints without end is a bug too.
            #expect(output.text.utf8.count < 4 << 20, "\(line.prefix(200)) printed \(output.text.utf8.count) bytes")
        }
        #expect(slow.isEmpty, "Ctrl-C did not stop: \(slow.map { String($0.prefix(120)) })")
        print(budget.summary(cases: cases))

        // Faults, partitions and firewall rules are undone by reset; then the lab answers as it did.
        output.clear()
        #expect(await shell.execute("reset"), "\(output.text)")
        let lb = try #require(shell.lab.topology.servers.first { $0.name == "lb-01" })
        let reply = try await RawExchange.send(Array("GET / HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n".utf8),
                                               to: lb.address, port: shell.lab.network.port(8080), group: shell.lab.group)
        await session.shutdown()
        #expect(reply.starts(with: Array("HTTP/1.1 200".utf8)), "\(String(decoding: reply.prefix(200), as: UTF8.self))")
    }
}
