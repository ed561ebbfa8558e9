import Foundation
import StackLab
import Testing
@testable import StackLabShell
import StackLabTestSupport

/// What a learner's lab folder can do to a running shell: nothing but an error with file and line. `lab load`
/// promises the running lab stays up; `lab show` shows the lab's files and no others.
@Suite(.serialized, .runsALab) @MainActor struct LabFolderHardeningTests {
    /// A copy of a built-in lab in a new folder, for a test to break.
    func copy(_ name: String = "foobar") throws -> String {
        let folder = temporaryFolder() + "/lab"
        try LabDefinition.writeBuiltIn(named: name, to: folder)
        return folder
    }

    func answers(_ shell: Shell, _ out: CapturedOutput) async -> Bool {
        let reply = await out.of(shell, "curl -i /")
        return reply.ok && reply.text.hasPrefix("HTTP/1.1 200") && shell.lab.processes.allSatisfy { $0.state == .running }
    }

    /// A `lab load` whose lab cannot start, while the running lab's own files broke meanwhile: nothing runs, the
    /// shell says so, and every verb still answers (the stopped lab's threads are kept) until `reset` works again.
    @Test func whenNeitherLabCanStartTheShellSaysSoAndKeepsAnswering() async throws {
        try await withShell { shell, out in
            let hardened = try copy("foobar-hardened")
            defer { try? FileManager.default.removeItem(atPath: (hardened as NSString).deletingLastPathComponent) }
            // Another program holds the hardened lab's HTTPS port (the foobar lab has none).
            let blocker = try ListeningSocket(host: "127.0.1.1", port: shell.lab.network.port(8443))
            defer { blocker.close() }
            let running = shell.session.source.directory + "/lb-01/haproxy.cfg"
            let good = try String(contentsOfFile: running, encoding: .utf8)
            try good.replacingOccurrences(of: "balance roundrobin", with: "balanse roundrobin").write(toFile: running, atomically: true, encoding: .utf8)
            let load = await out.of(shell, "lab load \(hardened)")
            #expect(!load.ok && load.text.contains("could not start again either") && !load.text.contains("is still running"), "\(load.text)")
            let scan = await out.of(shell, "scan web-01 8080")
            #expect(scan.ok && scan.text.contains("closed"), "\(scan.text)")
            #expect(await out.of(shell, "status").ok)
            try good.write(toFile: running, atomically: true, encoding: .utf8)
            let reset = await out.of(shell, "reset")
            #expect(reset.ok, "\(reset.text)")
            #expect(await answers(shell, out))
        }
    }

    @Test func labLoadOfFiftyThousandNestedBlocksIsAnErrorAndTheLabStaysUp() async throws {
        try await withShell { shell, out in
            let folder = try copy()
            defer { try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent) }
            let file = folder + "/web-01/nginx.conf"
            let original = try String(contentsOfFile: file, encoding: .utf8)
            try HostileFiles.nestedNginx(original, levels: 50_000).write(toFile: file, atomically: true, encoding: .utf8)
            let started = shell.lab
            let load = await out.of(shell, "lab load \(folder)")
            #expect(!load.ok)
            #expect(load.text.contains("web-01/nginx.conf:\(HostileFiles.firstNestedLine(original) + 98): \"location\": blocks { } nested more than 100 deep"),
                    "\(load.text)")
            #expect(shell.lab === started, "the running lab was stopped")
            #expect(await answers(shell, out))
        }
    }

    /// The firewall fails closed: a ufw.rules with a Latin-1 byte is refused, and the running hardened lab keeps
    /// web-01's database filtered from the internet.
    @Test func aLatin1ByteInUfwRulesKeepsTheDatabasePortFiltered() async throws {
        try await withShell { shell, out in
            let hardened = try copy("foobar-hardened")
            defer { try? FileManager.default.removeItem(atPath: (hardened as NSString).deletingLastPathComponent) }
            let first = await out.of(shell, "lab load \(hardened)")
            #expect(first.ok, "\(first.text)")
            func database() async -> PortState? {
                await Scanner.scan(shell.lab, address: "127.0.1.11", ports: [3306], timeoutMilliseconds: 1000).first?.state
            }
            #expect(await database() == .filtered)

            let broken = try copy("foobar-hardened")
            defer { try? FileManager.default.removeItem(atPath: (broken as NSString).deletingLastPathComponent) }
            let rules = broken + "/web-01/ufw.rules"
            let text = try String(contentsOfFile: rules, encoding: .utf8)
            try Data(HostileFiles.inserting(Array("\n# caf".utf8) + HostileFiles.latin1E + Array("\nallow 3306/tcp ".utf8) + HostileFiles.latin1E,
                                            after: "enable", in: text)).write(to: URL(fileURLWithPath: rules))
            let load = await out.of(shell, "lab load \(broken)")
            #expect(!load.ok)
            #expect(load.text.contains("web-01/ufw.rules:") && load.text.contains("byte 0xE9"), "\(load.text)")
            #expect(!load.text.contains("Status: inactive"))
            #expect(shell.lab.definition.directory == hardened)
            #expect(await database() == .filtered)
        }
    }

    @Test func monitorOnWithADeeplyNestedAlertsYmlIsAnError() async throws {
        try await withShell { shell, out in
            let alerts = shell.lab.definition.directory + "/monitor/alerts.yml"
            try HostileFiles.nestedFlowAlerts(levels: 50_000).write(toFile: alerts, atomically: true, encoding: .utf8)
            let on = await out.of(shell, "monitor on")
            #expect(!on.ok)
            #expect(on.text.unwrapped.contains("alerts.yml:7: yaml: exceeded max depth of 100"), "\(on.text)")
            #expect(await answers(shell, out))
        }
    }

    @Test func labLoadOfAPortPastTheTopWithThisBaseIsAnErrorAndTheLabStaysUp() async throws {
        try await withShell { shell, out in
            let folder = try copy()
            defer { try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent) }
            let file = folder + "/web-01/nginx.conf"
            try (try String(contentsOfFile: file, encoding: .utf8)).replacingOccurrences(of: "listen 127.0.1.11:8080", with: "listen 127.0.1.11:65000")
                .write(toFile: file, atomically: true, encoding: .utf8)
            let started = shell.lab
            let load = await out.of(shell, "lab load \(folder)")
            #expect(!load.ok)
            let base = shell.lab.network.portOffset
            #expect(load.text.unwrapped.contains("port 65000 (web-01/nginx.conf:17) with --port-base \(base) is \(65_000 + base), outside the TCP ports 1 to 65535"),
                    "\(load.text)")
            #expect(shell.lab === started)
            #expect(await answers(shell, out))
        }
    }

    @Test func labShowPrintsOnlyTheLabsFiles() async throws {
        try await withShell { shell, out in
            let outside = await out.of(shell, "lab show /etc/passwd")
            #expect(!outside.ok)
            #expect(outside.text.contains("'/etc/passwd' is not a file of the lab"), "\(outside.text)")
            #expect(!outside.text.contains("root:"))
            let climbing = await out.of(shell, "lab show ../../../../../../etc/passwd")
            #expect(!climbing.ok && !climbing.text.contains("root:"), "\(climbing.text)")
            // A link inside the lab that leads out of it is not the lab's file either.
            let directory = shell.lab.definition.directory
            try FileManager.default.createSymbolicLink(atPath: directory + "/passwd.txt", withDestinationPath: "/etc/passwd")
            let linked = await out.of(shell, "lab show passwd.txt")
            #expect(!linked.ok && !linked.text.contains("root:"), "\(linked.text)")
            // The lab's own file by its absolute path, and a file with a Latin-1 byte, are shown.
            let absolute = await out.of(shell, "lab show \(directory)/lb-01/haproxy.cfg")
            #expect(absolute.ok && absolute.text.contains("balance roundrobin"), "\(absolute.text)")
            try Data(Array("# caf".utf8) + HostileFiles.latin1E + Array("\n".utf8)).write(to: URL(fileURLWithPath: directory + "/notes.txt"))
            let latin1 = await out.of(shell, "lab show notes.txt")
            #expect(latin1.ok && latin1.text == "# caf\u{FFFD}\n", "\(latin1.text)")
        }
    }
}

/// A plain listening TCP socket: another program holding a port.
final class ListeningSocket {
    private let descriptor: Int32

    init(host: String, port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 8) == 0 else {
            Glibc.close(descriptor)
            throw CocoaError(.fileWriteFileExists)
        }
    }

    func close() { Glibc.close(descriptor) }
}
