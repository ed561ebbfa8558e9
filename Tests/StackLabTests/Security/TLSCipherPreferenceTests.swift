import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

/// TLS 1.2 cipher choice, beside the real HAProxy 2.6: HAProxy picks by its own order (server preference, its
/// default), lb-01's TLS library by the client's. So the directives that set a server order or a cipher list are
/// refused where they are read, with that reason, and the handshakes below show why.
@Suite("TLS: lb-01 says it cannot prefer the server's ciphers, as the wire shows", .serialized)
struct TLSCipherPreferenceTests {
    /// The client lists CBC first, AES-GCM second (the lab's certificates are ECDSA P-256).
    static let clientOrder = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256"

    /// The cipher a TLS 1.2 handshake settled on, as `openssl s_client` names it.
    static func negotiated(_ openssl: String, host: String, port: Int) async throws -> String? {
        let result = try await ChildProcess.run(openssl, ["s_client", "-connect", "\(host):\(port)", "-tls1_2", "-cipher", clientOrder, "-brief"],
                                                input: "", mergingStderr: true, timeout: 60)
        return result.stdout.split(separator: "\n").first { $0.contains("Ciphersuite: ") }
            .map { String($0.split(separator: " ").last ?? "") }
    }

    @Test func theServerCipherOrderIsRefusedWhereItIsRead() throws {
        for keyword in ["ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256", "ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256"] {
            let text = "global\n    \(keyword)\ndefaults\n    mode http\nfrontend www\n    bind 127.0.1.1:8080\n"
            let error = try #require(throws: ConfigError.self) { _ = try HAProxyConfigParser.parse(text, file: "lb-01/haproxy.cfg") }
            #expect(error.line == 2 && error.reason.hasPrefix("not supported: stacklab's TLS library cannot prefer the server's cipher order"),
                    "\(error)")
        }
        let bind = "frontend www\n    mode http\n    bind 127.0.1.1:8443 ssl crt site.pem ciphers ECDHE-ECDSA-AES128-GCM-SHA256\n"
        let bindError = try #require(throws: ConfigError.self) { _ = try HAProxyConfigParser.parse(bind, file: "lb-01/haproxy.cfg") }
        #expect(bindError.reason.contains("cannot prefer the server's cipher order"), "\(bindError)")
        for directive in ["ssl_prefer_server_ciphers on;", "ssl_ciphers HIGH:!aNULL;"] {
            let text = "events {}\nhttp {\n    \(directive)\n    server {\n        listen 127.0.1.11:8080;\n    }\n}\n"
            let error = try #require(throws: ConfigError.self) { _ = try NginxConfigParser.parse(text, file: "web-01/nginx.conf") }
            #expect(error.reason.contains("cannot prefer the server's cipher order"), "\(error)")
        }
    }

    /// The wire: with the client's order CBC-first, the real HAProxy (from the hardened lab's crt, with
    /// `ssl-default-bind-ciphers` GCM-first) picks AES-GCM; lb-01 picks the client's CBC.
    @Test(.enabled(if: RealTool.find("openssl") != nil, "openssl is not installed"))
    func aClientsOrderPicksLb01sCipherWhereHAProxyPicksItsOwn() async throws {
        let openssl = try #require(RealTool.find("openssl"))
        let running = try await RunningLab.start("foobar-hardened")
        let ours: String?
        do {
            ours = try await Self.negotiated(openssl, host: "127.0.1.1", port: running.port(8443))
        } catch {
            await running.cleanup()
            throw error
        }
        if let haproxy = RealTool.haproxy {
            let port = running.port(8443) + 7
            let config = """
                global
                    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA
                defaults
                    mode http
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend www
                    bind 127.0.9.1:\(port) ssl crt www.foobar.com.pem
                    http-request return status 200

                """
            let lb = running.folder + "/lb-01"
            try config.write(toFile: lb + "/haproxy-ciphers.cfg", atomically: true, encoding: .utf8)
            let server = try ChildProcess.start(haproxy, ["-db", "-f", "haproxy-ciphers.cfg"], directory: lb)
            var theirs: String?
            do {
                try await waitUntil(timeout: 30, "the real haproxy on 127.0.9.1:\(port)") {
                    theirs = try? await Self.negotiated(openssl, host: "127.0.9.1", port: port)
                    return theirs != nil
                }
            } catch {
                await server.stop(SIGKILL)
                await running.cleanup()
                throw error
            }
            await server.stop(SIGKILL)
            #expect(theirs == "ECDHE-ECDSA-AES128-GCM-SHA256", "the real haproxy prefers its own order")
        }
        await running.cleanup()
        #expect(ours == "ECDHE-ECDSA-AES128-SHA", "lb-01 follows the client's order: \(ours ?? "no handshake")")
    }
}
