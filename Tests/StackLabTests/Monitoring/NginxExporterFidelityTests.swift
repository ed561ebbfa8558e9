import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import StackLab
import StackLabTestSupport

/// web-0N/nginx's metrics page beside the real nginx-prometheus-exporter reading the real nginx's stub_status: the
/// same families in the same order, with the same help and types, Reading/Writing/Waiting counted as nginx counts
/// them, and the same words from promtool.
@Suite("nginx's metrics as nginx-prometheus-exporter writes them", .serialized, .runsALab)
struct NginxExporterFidelityTests {
    static let exporter = installedTool("prometheus-nginx-exporter") ?? installedTool("nginx-prometheus-exporter")

    /// The `# HELP` and `# TYPE` lines of a page, in order, without the exporter's own build-information gauge.
    static func families(_ page: String) -> [String] {
        page.split(separator: "\n").map(String.init)
            .filter { ($0.hasPrefix("# HELP ") || $0.hasPrefix("# TYPE ")) && !$0.contains("exporter_build_info") }
    }

    /// A sample's value on a page (`3`, as the Go exporter writes it, or `3.0`).
    static func value(_ page: String, _ name: String) -> Int? {
        page.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }.map { Int($0) }
    }

    static func scrape(_ address: (host: String, port: Int), group: EventLoopGroup) async throws -> String {
        let response = try await exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", at: address, group: group)
        return response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    }

    @Test func readingWritingAndWaitingAreStubStatusesAndTheNamesTheExporters() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        var real: String?
        if let nginx = RealTool.nginx, let exporter = Self.exporter {
            let offset = TestPorts.offset()
            let web = ("127.0.9.2", 8080 + offset)
            let config = """
                daemon off;
                master_process off;
                pid logs/nginx.pid;
                error_log logs/error.log;
                events { worker_connections 64; }
                http {
                    access_log off;
                    server {
                        listen \(web.0):\(web.1);
                        location = /stub_status { stub_status; }
                        location / { return 200 ok; }
                    }
                }

                """
            try await RealServer.with(nginx, ["-p", "./", "-c", "nginx.conf", "-e", "logs/error.log"], files: ["nginx.conf": config],
                                      address: web, group: group) { _ in
                let metrics = ("127.0.9.2", 9113 + offset)
                let process = try ChildProcess.start(exporter, ["-nginx.scrape-uri", "http://\(web.0):\(web.1)/stub_status",
                                                                "-web.listen-address", "\(metrics.0):\(metrics.1)"])
                do {
                    // One connection idle, one half-way through its request head; the exporter's own request is writing.
                    let idle = try await RawClient.connect(web, group: group)
                    let half = try await RawClient.connect(web, group: group)
                    try await half.send("GET / HTTP/1.1\r\nHo")
                    try await waitUntil(timeout: 30, "the real exporter to see one connection reading") {
                        guard let page = try? await Self.scrape(metrics, group: group) else { return false }
                        real = page
                        return Self.value(page, "nginx_connections_reading") == 1 && Self.value(page, "nginx_connections_active") == 3
                    }
                    await idle.close()
                    await half.close()
                } catch {
                    await process.stop(SIGKILL)
                    throw error
                }
                await process.stop(SIGKILL)
            }
            let page = try #require(real)
            #expect(Self.value(page, "nginx_connections_writing") == 1, "\(page)")
            #expect(Self.value(page, "nginx_connections_waiting") == 1, "\(page)")
        }

        try await PatchedLab.run { lab in
            let web = lab.address("web-01", 8080)
            let metrics = lab.address("web-01", 9113)
            let nginx = try #require(lab.lab.process("web-01", .nginx) as? WebServer)
            // One idle, one half-way through its head, one sending the body of a POST (working on it: writing).
            let idle = try await RawClient.connect(web, group: lab.lab.group)
            let half = try await RawClient.connect(web, group: lab.lab.group)
            try await half.send("GET / HTTP/1.1\r\nHo")
            let posting = try await RawClient.connect(web, group: lab.lab.group)
            try await posting.send("POST /api/posts HTTP/1.1\r\nHost: www.foobar.com\r\nContent-Length: 10\r\n\r\nabc")
            let seen = NIOLockedValueBox("")
            do {
                try await waitUntil(timeout: 30, "web-01's exporter to see one connection reading and one writing") {
                    let page = try await Self.scrape(metrics, group: lab.lab.group)
                    seen.withLockedValue { $0 = page }
                    // (lb-01's health checks come and go: a moment between two of them.)
                    return Self.value(page, "nginx_connections_reading") == 1 && Self.value(page, "nginx_connections_writing") == 1
                        && Self.value(page, "nginx_connections_waiting") == 1 && Self.value(page, "nginx_connections_active") == 3
                }
            } catch {
                Issue.record("the last page:\n\(seen.withLockedValue { $0 })")
                throw error
            }
            let page = seen.withLockedValue { $0 }
            #expect(nginx.connectionStates.waiting(active: 0) == 0)
            await idle.close()
            await half.close()
            await posting.close()
            try await waitUntil(timeout: 30, "the closed connections to leave the counts") {
                let after = try await Self.scrape(metrics, group: lab.lab.group)
                return Self.value(after, "nginx_connections_active") == 0 && Self.value(after, "nginx_connections_reading") == 0
                    && Self.value(after, "nginx_connections_writing") == 0 && Self.value(after, "nginx_connections_waiting") == 0
            }
            #expect(!page.contains("nginx_http_errors_total") && !page.contains("nginx_connections_accepted_total"))
            let expected = [
                ("nginx_connections_accepted", "Accepted client connections", "counter"),
                ("nginx_connections_active", "Active client connections", "gauge"),
                ("nginx_connections_handled", "Handled client connections", "counter"),
                ("nginx_connections_reading", "Connections where NGINX is reading the request header", "gauge"),
                ("nginx_connections_waiting", "Idle client connections", "gauge"),
                ("nginx_connections_writing", "Connections where NGINX is writing the response back to the client", "gauge"),
                ("nginx_http_requests_total", "Total http requests", "counter"),
                ("nginx_up", "Status of the last metric scrape", "gauge"),
            ].flatMap { ["# HELP \($0.0) \($0.1)", "# TYPE \($0.0) \($0.2)"] }
            #expect(Self.families(page) == expected, "\(page)")
            if let real { #expect(Self.families(real) == Self.families(page), "real:\n\(real)\nstacklab:\n\(page)") }
            if let promtool = installedTool("promtool") {
                let ours = try await promtoolCheck(promtool, page)
                #expect(ours.status == 3 && Set(ours.problems) == realExporterLint, "\(ours)")
                if let real {
                    let theirs = try await promtoolCheck(promtool, real)
                    #expect(theirs.status == ours.status && Set(theirs.problems) == Set(ours.problems), "\(theirs)")
                }
            }
        }
    }
}
