import Foundation
import Testing
import StackLabTestSupport
@testable import StackLab

@Suite("Security: haproxy.cfg TLS, redirect and set-header rules", .runsALab)
struct SecurityHAProxyRulesTests {
    func frontend(_ lines: String) throws -> HAProxyConfig.Frontend {
        let text = """
        defaults
            mode http
            timeout connect 5s
            timeout client 30s
            timeout server 30s
        frontend www
            bind 127.0.1.1:8080
            bind 127.0.1.1:8443 ssl crt site.pem
        \(lines)
            default_backend web
        backend web
            server web-01 127.0.1.11:8080 check

        """
        return try #require(try HAProxyConfigParser.parse(text, file: "lb-01/haproxy.cfg").frontends.first)
    }

    func reason(_ lines: String) -> String? {
        do { _ = try frontend(lines); return nil } catch let error as ConfigError { return error.reason } catch { return "\(error)" }
    }

    @Test func theHardenedLabsRulesParse() throws {
        let www = try frontend("""
            http-request redirect scheme https unless { ssl_fc }
            http-request set-header X-Forwarded-Proto https if { ssl_fc }
            http-response set-header Strict-Transport-Security "max-age=63072000; includeSubDomains"
        """)
        #expect(www.binds.map(\.certificateFile) == [nil, "site.pem"])
        #expect(www.httpsRedirect == HAProxyConfig.HTTPSRedirect(code: 302, condition: .plainHTTP, line: 9))
        #expect(www.requestHeaders == [HAProxyConfig.HeaderRule(name: "X-Forwarded-Proto", value: "https", condition: .overTLS, line: 10)])
        #expect(www.responseHeaders.first?.value == "max-age=63072000; includeSubDomains")
        #expect(www.responseHeaders.first?.condition == .always)
    }

    @Test func theOlderRedirectFormAndCodes() throws {
        #expect(try frontend("    redirect scheme https if !{ ssl_fc }").httpsRedirect?.condition == .plainHTTP)
        #expect(try frontend("    redirect scheme https code 301 if ! { ssl_fc }").httpsRedirect?.code == 301)
        #expect(try frontend("    http-request redirect scheme https code 308 unless { ssl_fc }").httpsRedirect?.code == 308)
    }

    @Test func whatTheSubsetDoesNotKnowIsAClearError() {
        #expect(reason("    http-request redirect location /elsewhere")?.contains("redirect scheme https") == true)
        #expect(reason("    http-request set-header X-Client %[src]")?.contains("log-format expressions") == true)
        #expect(reason("    http-request set-header X-Forwarded-Proto https if { path_beg /api }")?.contains("ssl_fc") == true)
        #expect(reason("    http-request deny")?.hasPrefix("not supported by stacklab's haproxy") == true)
        #expect(reason("    redirect scheme https code 305 if !{ ssl_fc }")?.contains("301, 302, 303, 307, 308") == true)
    }

    @Test(.enabled(if: RealTool.haproxy != nil, "haproxy is not installed"))
    func theSameRulesPassHAProxyCheck() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lab = folder.appendingPathComponent("lab")
        try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: lab.path)
        try TLSMaterial.mintMissing(for: try LabDefinition.load(directory: lab.path))
        let lb = lab.appendingPathComponent("lb-01")
        var text = try String(contentsOf: lb.appendingPathComponent("haproxy.cfg"), encoding: .utf8)
        text = text.replacingOccurrences(of: "http-request redirect scheme https unless { ssl_fc }", with: "redirect scheme https code 301 if !{ ssl_fc }")
        try text.write(to: lb.appendingPathComponent("haproxy.cfg"), atomically: true, encoding: .utf8)
        _ = try HAProxyConfigParser.parse(text, file: "lb-01/haproxy.cfg")
        let result = try await RealTool.haproxyCheck("haproxy.cfg", in: lb)
        #expect(result.status == 0, "haproxy -c said:\n\(result.output)")
    }
}
