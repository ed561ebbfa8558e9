import Foundation
import Testing
@testable import StackLab

@Suite("Security: ufw rules, status layout and verdicts")
struct SecurityUFWRulesTests {
    static let webRules = """
    # web-01
    default deny incoming
    default allow outgoing
    allow 8443/tcp
    allow from 127.0.1.1 to any port 8080 proto tcp
    deny 3306
    ufw reject 9000
    enable

    """

    func firewall(_ text: String = webRules) throws -> Firewall {
        Firewall(serverName: "web-01", address: "127.0.1.11", rules: try UFWRulesParser.parse(text, file: "web-01/ufw.rules")) { _ in }
    }

    @Test func statusVerboseHasUfwsExactLayout() throws {
        let expected = """
        Status: active
        Logging: on (low)
        Default: deny (incoming), allow (outgoing), disabled (routed)
        New profiles: skip

        To                         Action      From
        --                         ------      ----
        8443/tcp                   ALLOW IN    Anywhere
        8080/tcp                   ALLOW IN    127.0.1.1
        3306                       DENY IN     Anywhere
        9000                       REJECT IN   Anywhere

        """
        #expect(try firewall().status(verbose: true) == expected)
    }

    @Test func statusNumberedAndPlainStatus() throws {
        let wall = try firewall()
        #expect(wall.status(numbered: true) == """
        Status: active

             To                         Action      From
             --                         ------      ----
        [ 1] 8443/tcp                   ALLOW IN    Anywhere
        [ 2] 8080/tcp                   ALLOW IN    127.0.1.1
        [ 3] 3306                       DENY IN     Anywhere
        [ 4] 9000                       REJECT IN   Anywhere

        """)
        #expect(wall.status().contains("8443/tcp                   ALLOW       Anywhere\n"))
    }

    @Test func aFreshFirewallIsInactiveWithUfwsDefaults() throws {
        let wall = try firewall("")
        #expect(wall.status(verbose: true) == "Status: inactive\n")
        #expect(wall.incoming(from: "127.0.0.1", port: 3306) == .allow)
        #expect(wall.rules.incoming == .deny && wall.rules.outgoing == .allow)
    }

    @Test func deleteByNumberEchoesTheRuleAndRenumbers() throws {
        let wall = try firewall()
        #expect(try wall.run(UFWCommandParser.parse("delete 2")) == "Deleting:\n allow from 127.0.1.1 to any port 8080 proto tcp\nRule deleted")
        #expect(wall.rules.rules.count == 3)
        #expect(wall.status(numbered: true).contains("[ 2] 3306                       DENY IN     Anywhere"))
        #expect(throws: UFWError.self) { try wall.run(UFWCommandParser.parse("delete 9")) }
        #expect(try wall.run(UFWCommandParser.parse("allow 8443/tcp")) == "Skipping adding existing rule")
        #expect(try wall.run(UFWCommandParser.parse("disable")) == "Firewall stopped and disabled on system startup")
        #expect(wall.status() == "Status: inactive\n")
    }

    @Test func firstMatchingRuleWinsThenTheDefault() throws {
        let wall = try firewall()
        #expect(wall.incoming(from: "127.0.0.1", port: 8443) == .allow)
        #expect(wall.incoming(from: "127.0.1.1", port: 8080) == .allow)
        #expect(wall.incoming(from: "127.0.0.1", port: 8080) == .drop)       // default deny incoming
        #expect(wall.incoming(from: "127.0.1.12", port: 3306) == .drop)      // deny 3306
        #expect(wall.incoming(from: "127.0.0.1", port: 9000) == .reject)
        // ufw's before.rules: the server's own traffic on lo is always accepted.
        #expect(wall.incoming(from: "127.0.1.11", port: 3306) == .allow)
    }

    @Test func defaultPolicyBlocksAreLoggedAsUFWBlock() throws {
        let wall = try firewall()
        _ = wall.incoming(from: "127.0.0.1", sourcePort: 40522, port: 8080)
        let line = try #require(wall.log.tail().last)
        #expect(line.contains(" web-01 kernel: ["))
        #expect(line.contains("[UFW BLOCK] IN=lo OUT= MAC="))
        #expect(line.contains("SRC=127.0.0.1 DST=127.0.1.11 "))
        #expect(line.contains("PROTO=TCP SPT=40522 DPT=8080 "))
        // An explicit deny rule without "log" is not logged, as with ufw's logging low.
        _ = wall.incoming(from: "127.0.0.1", port: 3306)
        #expect(wall.log.tail().count == 1)
    }

    @Test func limitRefusesTheSixthConnectionWithin30Seconds() throws {
        let wall = try firewall("limit 22/tcp\nenable\n")
        let verdicts = (1...7).map { _ in wall.incoming(from: "127.0.0.1", port: 22) }
        #expect(verdicts == [.allow, .allow, .allow, .allow, .allow, .reject, .reject])
        #expect(wall.log.tail().last?.contains("[UFW LIMIT BLOCK]") == true)
        #expect(wall.incoming(from: "127.0.1.1", port: 22) == .allow)
    }

    @Test func outgoingDefaultsAndOutRules() throws {
        let wall = try firewall("default deny outgoing\nallow out 3306/tcp\nenable\n")
        #expect(wall.outgoing(to: "127.0.1.12", port: 3306) == .allow)
        #expect(wall.outgoing(to: "127.0.1.12", port: 8080) == .drop)
        #expect(wall.status(verbose: true).contains("3306/tcp                   ALLOW OUT   Anywhere"))
    }

    @Test func mistakesAreUfwsErrorsWithFileAndLine() throws {
        #expect(throws: UFWError("ERROR: Unsupported protocol 'xyz': tcp or udp")) { try UFWCommandParser.parse("allow 3306/xyz") }
        #expect(throws: UFWError("ERROR: Invalid syntax: unknown command 'alow' — did you mean 'allow'?")) { try UFWCommandParser.parse("alow 22") }
        #expect(throws: UFWError("ERROR: Must specify 'tcp' or 'udp' with multiple ports")) { try UFWCommandParser.parse("allow 8000:8100") }
        do {
            _ = try UFWRulesParser.parse("default deny incoming\nallow from 127.0.1.300 to any port 22\n", file: "web-01/ufw.rules")
            Issue.record("a bad address was accepted")
        } catch {
            #expect(error.description.hasPrefix("web-01/ufw.rules:2: \"allow\": ERROR: Bad source address '127.0.1.300'"))
        }
    }

    @Test func rulesRoundTripThroughTheirCommandText() throws {
        for text in ["allow 8443/tcp", "deny 3306", "allow from 127.0.1.1 to any port 8080 proto tcp", "reject from 127.0.0.0/8",
                     "limit 22/tcp", "allow out 53"] {
            guard case .add(let rule) = try UFWCommandParser.parse(text) else { Issue.record("\(text) is not a rule"); continue }
            #expect(rule.commandText == text)
            #expect(try UFWCommandParser.parse(rule.commandText) == .add(rule))
        }
    }

    @Test func theKernelProgramDropsOnlyWhatTheRulesDrop() throws {
        let wall = try firewall()
        let port8080 = try #require(wall.kernelProgram(port: 8080))
        let program = try #require(FirewallSocketFilter.program(ownAddress: "127.0.1.11", rules: port8080.rules, dropByDefault: port8080.dropByDefault))
        // own address → accept; 127.0.1.1 → accept; else drop (default deny incoming).
        #expect(program.first == FirewallSocketFilter.Instruction(code: 0x20, jt: 0, jf: 0, k: FirewallSocketFilter.sourceAddress))
        #expect(program.last == FirewallSocketFilter.Instruction(code: 0x06, jt: 0, jf: 0, k: 0))
        #expect(program.contains(FirewallSocketFilter.Instruction(code: 0x15, jt: 0, jf: 1, k: 0x7F00_0101)))
        // A port the rules allow to everyone, with nothing dropped before: no filter at all.
        let open = try #require(try firewall("allow 8443/tcp\nenable\n").kernelProgram(port: 8443))
        #expect(FirewallSocketFilter.program(ownAddress: "127.0.1.11", rules: open.rules, dropByDefault: false) == nil)
    }
}
