import Foundation
import Testing
import StackLabTestSupport
@testable import StackLab

/// The hardened foobar lab from its files: TLS at lb-01 with a certificate minted from the lab CA, the redirect,
/// HSTS and X-Forwarded-Proto, checked with the real curl and openssl.
@Suite("Security: TLS at the balancer, with the real curl and openssl", .serialized, .runsALab)
struct SecurityTLSTests {
    static let tools = Tool.curl != nil && Tool.openssl != nil

    func curl(_ running: RunningLab, _ arguments: [String]) async throws -> Tool.Result {
        let https = running.port(8443), http = running.port(8080)
        return try await Tool.run(Tool.curl!, ["-sS", "--max-time", "20", "--cacert", running.caFile,
                                               "--resolve", "www.foobar.com:\(https):127.0.1.1", "--resolve", "www.foobar.com:\(http):127.0.1.1"]
                                               + arguments)
    }

    @Test(.enabled(if: tools, "curl and openssl are needed")) func curlWithTheLabCAGets200AndHSTSOverHTTPS() async throws {
        let running = try await RunningLab.start("foobar-hardened")
        let https = running.port(8443)
        let page = try await curl(running, ["-i", "https://www.foobar.com:\(https)/"])
        let byAddress = try await curl(running, ["-o", "/dev/null", "-w", "%{http_code}", "https://127.0.1.1:\(https)/health"])
        let untrusted = try await Tool.run(Tool.curl!, ["-sS", "--max-time", "20", "https://127.0.1.1:\(https)/"])
        let minted = running.lab.mintedTLS
        let pem = try String(contentsOfFile: running.folder + "/lb-01/www.foobar.com.pem", encoding: .utf8)
        await running.cleanup()

        #expect(page.status == 0, "curl said: \(page.output)")
        #expect(page.output.hasPrefix("HTTP/1.1 200 OK"), "\(page.output.prefix(300))")
        #expect(page.output.lowercased().contains("strict-transport-security: max-age=63072000"))
        #expect(page.output.contains("<h1>www.foobar.com</h1>"))
        #expect(byAddress.output == "200", "the certificate names 127.0.1.1 too: \(byAddress.output)")
        // Without the lab CA, curl refuses the certificate (60: SSL certificate problem).
        #expect(untrusted.status == 60, "\(untrusted.output)")
        #expect(minted.map(\.path).contains { $0.hasSuffix("/lb-01/www.foobar.com.pem") })
        #expect(pem.contains("-----BEGIN CERTIFICATE-----") && pem.contains("-----BEGIN PRIVATE KEY-----"))
    }

    @Test(.enabled(if: tools, "curl and openssl are needed")) func plainHTTPIsRedirectedToHTTPS() async throws {
        let running = try await RunningLab.start("foobar-hardened")
        let http = running.port(8080), https = running.port(8443)
        let redirect = try await curl(running, ["-i", "http://www.foobar.com:\(http)/login?next=1"])
        let closing = try await curl(running, ["-i", "-H", "Connection: close", "http://www.foobar.com:\(http)/"])
        let followed = try await curl(running, ["-L", "-o", "/dev/null", "-w", "%{http_code} %{url_effective}", "http://www.foobar.com:\(http)/"])
        await running.cleanup()

        // Header for header as the real HAProxy 2.6.12 answers `http-request redirect scheme https` (checked here):
        // no date, and connection: close only when the client asked to close.
        let location = "location: https://www.foobar.com:\(https)"
        #expect(redirect.output.replacingOccurrences(of: "\r", with: "")
                    == "HTTP/1.1 302 Found\ncontent-length: 0\n\(location)/login?next=1\ncache-control: no-cache\n\n", "\(redirect.output)")
        #expect(closing.output.replacingOccurrences(of: "\r", with: "")
                    == "HTTP/1.1 302 Found\ncontent-length: 0\n\(location)/\ncache-control: no-cache\nconnection: close\n\n", "\(closing.output)")
        #expect(redirect.output.contains("location: https://www.foobar.com:\(https)/login?next=1"))
        // HSTS only on real responses over HTTPS, not on the redirect (HAProxy applies no http-response rule there).
        #expect(!redirect.output.lowercased().contains("strict-transport-security"))
        #expect(followed.output == "200 https://www.foobar.com:\(https)/", "\(followed.output)")
    }

    @Test(.enabled(if: tools, "curl and openssl are needed")) func opensslVerifiesTheChainAndOldTLSIsRefused() async throws {
        let running = try await RunningLab.start("foobar-hardened")
        let address = "127.0.1.1:\(running.port(8443))"
        func sClient(_ extra: [String]) async throws -> Tool.Result {
            try await Tool.run(Tool.openssl!, ["s_client", "-connect", address, "-servername", "www.foobar.com", "-CAfile", running.caFile,
                                               "-verify_return_error"] + extra, input: "Q\n")
        }
        let verified = try await sClient([])
        let tls12 = try await sClient(["-tls1_2", "-cipher", "DEFAULT@SECLEVEL=0"])
        let tls11 = try await sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        let tls10 = try await sClient(["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"])
        let wrongCA = try await Tool.run(Tool.openssl!, ["s_client", "-connect", address, "-verify_return_error"], input: "Q\n")
        await running.cleanup()

        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("Verify return code: 0 (ok)"))
        #expect(verified.output.contains("TLSv1.3"))
        #expect(verified.output.contains("CN = www.foobar.com") || verified.output.contains("CN=www.foobar.com"))
        #expect(tls12.status == 0 && tls12.output.contains("TLSv1.2"), "TLS 1.2 must work: \(tls12.output)")
        #expect(tls11.status != 0, "TLS 1.1 was accepted: \(tls11.output)")
        #expect(tls11.output.contains("protocol version") || tls11.output.contains("unsupported protocol"), "\(tls11.output)")
        #expect(tls10.status != 0, "TLS 1.0 was accepted: \(tls10.output)")
        #expect(wrongCA.status != 0, "an unknown CA must not verify: \(wrongCA.output)")
    }

    @Test(.enabled(if: tools, "curl and openssl are needed")) func theLoginOverHTTPSShowsOnlyTLSRecordsInTheTap() async throws {
        let running = try await RunningLab.start("foobar-hardened")
        let outside = try running.lab.tap("internet>lb-01")
        let inside = try running.lab.tap("lb-01>web-01")
        let wire = TapRecorder(outside), backstage = TapRecorder(inside)
        var answers: [String] = []
        for _ in 0..<2 {
            let login = try await curl(running, ["-d", "username=alice&password=wonderland", "https://www.foobar.com:\(running.port(8443))/login"])
            answers.append(login.output)
        }
        try await wire.wait(for: "TLS records on internet>lb-01") { messages in
            messages.contains { $0.kind == .tls && $0.toServer && $0.text.contains("application_data") }
        }
        try await backstage.wait(for: "the decrypted login on lb-01>web-01") { $0.contains { $0.text.contains("password=wonderland") } }
        outside.stop()
        inside.stop()
        await running.cleanup()

        #expect(answers.allSatisfy { $0.contains("Welcome, alice!") }, "\(answers)")
        #expect(wire.messages.allSatisfy { $0.kind == .tls }, "\(wire.messages.filter { $0.kind != .tls })")
        #expect(!wire.messages.contains { $0.text.contains("wonderland") })
        #expect(wire.messages.contains { $0.text.contains("TLS record: handshake (ClientHello)") })
        // TLS ends at lb-01: behind it the request is plain again, and says how it came in (in HAProxy's spelling).
        let forwarded = try #require(backstage.messages.first { $0.text.contains("password=wonderland") })
        #expect(forwarded.text.contains("x-forwarded-proto: https"), "\(forwarded.text)")
    }

    @Test func aSecondStartReusesTheLabCAAndCertificate() async throws {
        let folder = makeLabFolder("hardened") + "/lab"
        defer { try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent) }
        try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: folder)
        let definition = try LabDefinition.load(directory: folder)
        let first = try TLSMaterial.mintMissing(for: definition)
        let ca = try String(contentsOfFile: folder + "/ca.pem", encoding: .utf8)
        let second = try TLSMaterial.mintMissing(for: definition)
        #expect(first.count == 1)
        #expect(second.isEmpty)
        #expect(try String(contentsOfFile: folder + "/ca.pem", encoding: .utf8) == ca)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/ca-key.pem")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        _ = try TLSMaterial.serverContext(certificateFile: folder + "/lb-01/www.foobar.com.pem")
    }
}
