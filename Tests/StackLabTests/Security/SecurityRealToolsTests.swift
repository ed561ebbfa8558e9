import Foundation
import Testing
import StackLabTestSupport
@testable import StackLab

/// The hardened lab's files must pass the real tools too (DESIGN principle 3): haproxy -c with the minted crt file
/// (read, as by the runtime, relative to lb-01's folder), nginx -t for both web servers.
@Suite("Security: the hardened lab passes haproxy -c and nginx -t", .runsALab)
struct SecurityRealToolsTests {
    func hardenedCopy() throws -> URL {
        let folder = try temporaryFolder().appendingPathComponent("foobar-hardened")
        try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: folder.path)
        try TLSMaterial.mintMissing(for: try LabDefinition.load(directory: folder.path))
        return folder
    }

    @Test(.enabled(if: RealTool.haproxy != nil, "haproxy is not installed"))
    func hardenedBalancerConfigPassesHAProxyCheck() async throws {
        let lab = try hardenedCopy()
        defer { try? FileManager.default.removeItem(at: lab.deletingLastPathComponent()) }
        let result = try await RealTool.haproxyCheck("haproxy.cfg", in: lab.appendingPathComponent("lb-01"))
        #expect(result.status == 0, "haproxy -c said:\n\(result.output)")
        #expect(!result.output.contains("[WARNING]"), "haproxy -c warned:\n\(result.output)")
    }

    @Test(.enabled(if: RealTool.nginx != nil, "nginx is not installed"), arguments: ["web-01", "web-02"])
    func hardenedWebServerConfigPassesNginxTest(server: String) async throws {
        let lab = try hardenedCopy()
        defer { try? FileManager.default.removeItem(at: lab.deletingLastPathComponent()) }
        let result = try await RealTool.nginxTest(serverFolder: lab.appendingPathComponent(server))
        #expect(result.status == 0, "nginx -t said:\n\(result.output)")
    }

    /// nginx's TLS directives, with files minted by the lab: stacklab and the real nginx agree.
    @Test(.enabled(if: RealTool.nginx != nil, "nginx is not installed"))
    func nginxListenSSLWithMintedFilesPassesNginxTest() async throws {
        let lab = try hardenedCopy()
        defer { try? FileManager.default.removeItem(at: lab.deletingLastPathComponent()) }
        let web = lab.appendingPathComponent("web-01")
        let config = """
        events {
        }
        http {
            server {
                listen 127.0.1.11:8443 ssl;
                server_name www.foobar.com;
                ssl_certificate web-01.crt;
                ssl_certificate_key web-01.key;
                ssl_protocols TLSv1.2 TLSv1.3;
                root www;
            }
        }

        """
        try config.write(to: web.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        let definition = try LabDefinition.load(directory: lab.path)
        let minted = try TLSMaterial.mintMissing(for: definition)
        #expect(minted.map(\.path) == [web.appendingPathComponent("web-01.crt").path])
        let result = try await RealTool.nginxTest(serverFolder: web)
        #expect(result.status == 0, "nginx -t said:\n\(result.output)")
        _ = try TLSMaterial.serverContext(certificateFile: web.appendingPathComponent("web-01.crt").path,
                                          keyFile: web.appendingPathComponent("web-01.key").path)
    }
}

/// `scan` names ports as nmap does: every port the lab's processes listen on, read from nmap's own
/// nmap-services file (a port missing there is "unknown" for nmap, and must be missing from the table too).
@Suite("Security: scan's service names are nmap's", .runsALab)
struct ScanServiceNamesTests {
    static let nmapServices = "/usr/share/nmap/nmap-services"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: nmapServices), "nmap is not installed"))
    func everyPortOfTheLabHasNmapsName() async throws {
        let text = try String(contentsOfFile: Self.nmapServices, encoding: .utf8)
        var nmap: [Int: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t")
            guard fields.count >= 2, fields[1].hasSuffix("/tcp"), let port = Int(fields[1].dropLast(4)) else { continue }
            nmap[port] = String(fields[0])
        }
        let running = try await RunningLab.start("foobar")
        let ports = Set(Scanner.defaultPorts(in: running.lab))
        await running.cleanup()
        for port in ports.sorted() {
            #expect(Scanner.services[port] == nmap[port], "port \(port): nmap says \(nmap[port] ?? "unknown")")
        }
        for (port, name) in Scanner.services { #expect(nmap[port] == name, "port \(port): the table says \(name)") }
    }
}
