import Foundation
import Testing
import StackLabTestSupport
@testable import StackLab

@Suite("nginx static files", .runsALab)
struct StaticFilesTests {
    @Test func staticFileIsServedByNginxNotTheApp() async throws {
        let (lab, folder) = try await TestLabBuilder().start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let response = try await lab.get("/static/hello.txt")
        let hops = lab.traces.trace(response.traceID).map(\.process)
        await lab.shutdown()
        #expect(response.status == 200)
        #expect(response.body == "static from web-01\n")
        #expect(response.header("Content-Type") == "text/plain")
        #expect(hops == ["lb-01/haproxy", "web-01/nginx"])
    }

    @Test(arguments: ["/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2f..%2fetc/passwd",
                      "/static/../../secret.txt"])
    func pathTraversalGets400Or404AndNoFileOutsideRoot(path: String) async throws {
        let (lab, folder) = try await TestLabBuilder().start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "top secret\n".write(toFile: "\(folder)/web-01/secret.txt", atomically: true, encoding: .utf8)
        let response = try await lab.internetClient.request(host: "127.0.1.11", port: lab.network.port(8080), path: path)
        await lab.shutdown()
        #expect([400, 404].contains(response.status), "got \(response.status) for \(path)")
        #expect(!response.body.contains("root:"))
        #expect(!response.body.contains("top secret"))
    }

    @Test func normalisationFollowsNginx() {
        #expect(StaticFiles.normalise("/a//b/./c") == "/a/b/c")
        #expect(StaticFiles.normalise("/a/b/../c") == "/a/c")
        #expect(StaticFiles.normalise("/../x") == nil)
        #expect(StaticFiles.normalise("/a/%00") == nil)
        #expect(StaticFiles.normalise("/static/") == "/static/")
    }

    @Test func missingFileGetsNginx404Page() async throws {
        let (lab, folder) = try await TestLabBuilder().start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let response = try await lab.get("/static/nope.txt")
        await lab.shutdown()
        #expect(response.status == 404)
        #expect(response.body == NginxErrorPage.body(404))
    }
}
