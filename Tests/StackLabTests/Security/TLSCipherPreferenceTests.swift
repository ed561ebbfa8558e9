import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

/// TLS 1.2 cipher choice, beside the real HAProxy 2.6: HAProxy picks by its own order (server preference, its
/// default), lb-01's TLS library by the client's. So the directives that set a server order or a cipher list are
/// refused where they are read, with that reason, and the handshakes below show why.
@Suite("TLS: lb-01 says it cannot prefer the server's ciphers, as the wire shows", .serialized, .runsALab)
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

    /// `ssl-default-bind-options ssl-min-ver TLSv1.3`: a TLS 1.2 client is refused and a TLS 1.3 one served, by the
    /// real HAProxy and by lb-01 alike; bad values get HAProxy's words.
    @Test(.enabled(if: RealTool.find("openssl") != nil, "openssl is not installed"))
    func sslDefaultBindOptionsSetTheVersionsAsHAProxyDoes() async throws {
        let openssl = try #require(RealTool.find("openssl"))
        func handshake(_ version: String, _ host: String, _ port: Int) async throws -> Bool {
            let result = try await ChildProcess.run(openssl, ["s_client", "-connect", "\(host):\(port)", version, "-brief"], input: "",
                                                    mergingStderr: true, timeout: 60)
            return result.stdout.contains("Protocol version: ")
        }
        let folder = makeLabFolder("tls-versions") + "/lab"
        try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: folder)
        let cfg = folder + "/lb-01/haproxy.cfg"
        let text = try String(contentsOfFile: cfg, encoding: .utf8)
        try text.replacingOccurrences(of: "    maxconn 4096\n", with: "    maxconn 4096\n    ssl-default-bind-options ssl-min-ver TLSv1.3\n")
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let lab = try await Lab.start(try LabDefinition.load(directory: folder), options: LabOptions(portOffset: SecurityPorts.offset()))
        let ours: (tls12: Bool, tls13: Bool)
        do {
            let port = lab.network.port(8443)
            ours = (try await handshake("-tls1_2", "127.0.1.1", port), try await handshake("-tls1_3", "127.0.1.1", port))
        } catch {
            await lab.shutdown()
            throw error
        }
        await lab.shutdown()
        #expect(ours == (false, true), "lb-01 with ssl-min-ver TLSv1.3: \(ours)")
        if let haproxy = RealTool.haproxy {
            let port = lab.network.port(8443) + 9
            let real = """
                global
                    ssl-default-bind-options ssl-min-ver TLSv1.3
                defaults
                    mode http
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend www
                    bind 127.0.9.1:\(port) ssl crt www.foobar.com.pem
                    http-request return status 200

                """
            let lb = folder + "/lb-01"
            try real.write(toFile: lb + "/haproxy-versions.cfg", atomically: true, encoding: .utf8)
            let server = try ChildProcess.start(haproxy, ["-db", "-f", "haproxy-versions.cfg"], directory: lb)
            var theirs = (tls12: true, tls13: false)
            do {
                try await waitUntil(timeout: 30, "the real haproxy on 127.0.9.1:\(port)") {
                    theirs.tls13 = (try? await handshake("-tls1_3", "127.0.9.1", port)) ?? false
                    return theirs.tls13
                }
                theirs.tls12 = try await handshake("-tls1_2", "127.0.9.1", port)
            } catch {
                await server.stop(SIGKILL)
                throw error
            }
            await server.stop(SIGKILL)
            #expect(theirs == (false, true), "the real haproxy with ssl-min-ver TLSv1.3: \(theirs)")
        }
        try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent)
        // HAProxy's words for what it refuses (haproxy -c, 2.6.12).
        let refusals = [
            ("ssl-min-ver TLSv9", "'TLSv9' : unknown ssl/tls version on global statement 'ssl-default-bind-options'."),
            ("bogus", "unknown option 'bogus' on global statement 'ssl-default-bind-options'."),
            ("ssl-min-ver", "'ssl-min-ver' : missing the ssl/tls version on global statement 'ssl-default-bind-options'."),
        ]
        for (options, words) in refusals {
            let config = "global\n    ssl-default-bind-options \(options)\ndefaults\n    mode http\n"
            let error = try #require(throws: ConfigError.self) { _ = try HAProxyConfigParser.parse(config, file: "lb-01/haproxy.cfg") }
            #expect(error.line == 2 && error.reason == words, "\(error)")
        }
        let old = try #require(throws: ConfigError.self) {
            _ = try HAProxyConfigParser.parse("global\n    ssl-default-bind-options ssl-min-ver TLSv1.0\n", file: "lb-01/haproxy.cfg")
        }
        #expect(old.reason.contains("TLSv1.0 is old and insecure"), "\(old)")
        let parsed = try HAProxyConfigParser.parse("global\n    ssl-default-bind-options no-sslv3 no-tlsv10 no-tlsv11 prefer-client-ciphers\n"
            + "defaults\n    mode http\n", file: "lb-01/haproxy.cfg")
        #expect(parsed.global.tlsProtocols == ["TLSv1.2", "TLSv1.3"])
    }
}
