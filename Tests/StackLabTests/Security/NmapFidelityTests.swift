import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

/// `scan` beside a real nmap connect scan (`nmap -sT`) of the same ports: allowed, denied, rejected and unused.
/// They agree on open, filtered (deny: the kernel drops the SYN) and closed (nobody listens). A `reject` rule is the
/// one the miniature cannot give nmap: real ufw answers the SYN with an RST (`closed`); without root the lab can only
/// accept the connection and reset it, so nmap reports `open` where `scan` — reading the firewall as the kernel
/// would — says `closed`, as nmap would of a real server (README, docs/internals.md).
@Suite("Security: scan and a real nmap", .serialized, .runsALab)
struct NmapFidelityTests {
    static let nmap = RealTool.find("nmap")

    /// `PORT → STATE` from nmap's normal output (`8080/tcp open  http-proxy`).
    static func states(_ output: String) -> [Int: String] {
        var states: [Int: String] = [:]
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count >= 2, let slash = words[0].firstIndex(of: "/"), let port = Int(words[0][..<slash]) else { continue }
            states[port] = String(words[1])
        }
        return states
    }

    @Test(.enabled(if: NmapFidelityTests.nmap != nil, "nmap is not installed"))
    func scanAndNmapAgreeOnOpenFilteredAndClosedAndAReject() async throws {
        let running = try await RunningLab.start("foobar")
        let lab = running.lab
        let firewall = try lab.firewall("web-01")
        try firewall.run(UFWCommandParser.parse("default allow incoming"))
        try firewall.run(UFWCommandParser.parse("deny from 127.0.0.1 to any port 3306 proto tcp"))
        try firewall.run(UFWCommandParser.parse("reject from 127.0.0.1 to any port 8000 proto tcp"))
        try firewall.run(UFWCommandParser.parse("enable"))
        let configured = [8080, 3306, 8000, 8443]
        let ports = configured.map { running.port($0) }
        let ours: [ScanResult]
        let theirs: Tool.Result
        do {
            ours = await Scanner.scan(lab, address: "127.0.1.11", ports: configured)
            theirs = try await Tool.run(try #require(Self.nmap), ["-sT", "-Pn", "-n", "--max-retries", "1", "--host-timeout", "60s",
                                                                  "-p", ports.map(String.init).joined(separator: ","), "127.0.1.11"])
        } catch {
            await running.cleanup()
            throw error
        }
        await running.cleanup()
        let nmapStates = Self.states(theirs.output)
        let scanStates = Dictionary(uniqueKeysWithValues: ours.map { ($0.port, "\($0.state)") })
        #expect(scanStates[8080] == "open" && nmapStates[ports[0]] == "open", "\(scanStates) / \(theirs.output)")
        #expect(scanStates[3306] == "filtered" && nmapStates[ports[1]] == "filtered", "\(scanStates) / \(theirs.output)")
        #expect(scanStates[8443] == "closed" && nmapStates[ports[3]] == "closed", "\(scanStates) / \(theirs.output)")
        // reject: what a real ufw gives nmap (closed), and what nmap sees of the lab without root (open).
        #expect(scanStates[8000] == "closed", "\(scanStates)")
        #expect(nmapStates[ports[2]] == "open", "\(theirs.output)")
    }
}
