import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("Every process serves /metrics with the real exporters' names", .runsALab)
struct MonitoringExporterTests {
    /// Scrapes a target over the wire, as Prometheus does.
    func scrape(_ lab: Lab, _ target: MetricsTarget) async throws -> ClientResponse {
        try await lab.internetClient.request(host: target.host, port: target.port, path: "/metrics", timeout: 5)
    }

    @Test func everyProcessServesMetricsWithTheExporterNamesAndPromtoolAcceptsThem() async throws {
        let (lab, folder) = try await startMonitoringLab()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for _ in 0..<6 { _ = try await lab.get("/") }
        _ = try await lab.get("/api/posts")
        var pages: [String: String] = [:]
        for target in lab.metricsTargets {
            let response = try await scrape(lab, target)
            #expect(response.status == 200, "\(target.instance)")
            #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            pages[target.instance] = response.body
        }
        let notFound = try await lab.internetClient.request(host: "127.0.1.1", port: lab.network.port(8405), path: "/stats", timeout: 5)
        await lab.shutdown()

        #expect(lab.metricsTargets.map(\.instance) == ["lb-01/haproxy", "web-01/nginx", "web-01/gunicorn", "web-02/nginx", "web-02/gunicorn"])
        #expect(notFound.status == 404)
        let haproxy = try #require(pages["lb-01/haproxy"])
        #expect(haproxy.contains("haproxy_server_status{proxy=\"web\",server=\"web-01\",state=\"UP\"} 1"))
        #expect(haproxy.contains("haproxy_server_status{proxy=\"web\",server=\"web-01\",state=\"DOWN\"} 0"))
        #expect(haproxy.contains("haproxy_backend_active_servers{proxy=\"web\"} 2"))
        #expect(haproxy.contains("haproxy_backend_http_responses_total{proxy=\"web\",code=\"2xx\"} 6"))
        // /api/posts without a database: the app answers 503, the balancer counts it as 5xx.
        #expect(haproxy.contains("haproxy_backend_http_responses_total{proxy=\"web\",code=\"5xx\"} 1"))
        #expect(haproxy.contains("# TYPE haproxy_server_check_failures_total counter"))
        #expect(!haproxy.contains("haproxy_server_up"))
        // In the order HAProxy's exporter writes them: a family's samples together, a server's states together,
        // servers in config order.
        let statusLines = haproxy.split(separator: "\n").filter { $0.hasPrefix("haproxy_server_status{") }
        #expect(statusLines.map { $0.contains("server=\"web-01\"") } == Array(repeating: true, count: 5) + Array(repeating: false, count: 5),
                "\(statusLines)")
        #expect(statusLines.first?.hasPrefix("haproxy_server_status{proxy=\"web\",server=\"web-01\",state=\"DOWN\"}") == true)
        let families = haproxy.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(families.first == "haproxy_process_current_connections" && Set(families).count == families.count)
        let nginx = try #require(pages["web-01/nginx"])
        #expect(nginx.contains("# TYPE nginx_connections_active gauge"))
        #expect(nginx.contains("# TYPE nginx_http_requests_total counter"))
        let app = try #require(pages["web-01/gunicorn"])
        #expect(app.contains("# TYPE flask_http_request_duration_seconds histogram"))
        #expect(app.contains("flask_http_request_duration_seconds_bucket{method=\"GET\",path=\"/\",le=\"+Inf\"}"))
        #expect(app.contains("flask_http_request_total{method=\"GET\",status=\"200\"}"))
        #expect(app.contains("flask_http_request_duration_seconds_count{method=\"GET\",path=\"/api/posts\"} 1"))
        #expect(app.contains("gunicorn_workers 2"))
        // Every page parses, and real promtool (when installed) finds nothing to complain about but the real
        // nginx exporter's own two counters without `_total`.
        for (instance, page) in pages {
            #expect(throws: Never.self, "\(instance)") { try ExpositionParser.parse(page) }
            if let promtool = installedTool("promtool") {
                let check = try await promtoolCheck(promtool, page)
                #expect(promtoolAccepts(check), "promtool on \(instance): \(check)\n\(page)")
                #expect(instance.hasSuffix("/nginx") == (check.status == 3), "promtool on \(instance): \(check)")
            }
        }
    }

    @Test func theBalancerExporterShowsAKilledServerDown() async throws {
        let (lab, folder) = try await startMonitoringLab()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await lab.apply(.crash, to: .server("web-02"))
        let balancer = try #require(lab.process("lb-01", .haproxy))
        try await waitUntil("lb-01 marks web-02 DOWN") {
            lab.metricsText(for: balancer).contains("haproxy_server_status{proxy=\"web\",server=\"web-02\",state=\"DOWN\"} 1")
        }
        let text = lab.metricsText(for: balancer, name: "haproxy_backend_active_servers")
        let web02 = try #require(lab.process("web-02", .nginx))
        let refused = await #expect(throws: ClientError.self) {
            _ = try await lab.internetClient.request(host: "127.0.1.12", port: lab.network.port(9113), path: "/metrics", timeout: 5)
        }
        await lab.shutdown()
        #expect(text.contains("haproxy_backend_active_servers{proxy=\"web\"} 1"))
        #expect(!text.contains("haproxy_server_status"))
        #expect(web02.state == .crashed)
        #expect(refused == .refused("127.0.1.12:\(lab.network.port(9113))"))
    }

    @Test func aRevivedProcessServesMetricsAgain() async throws {
        let (lab, folder) = try await startMonitoringLab()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await lab.apply(.crash, to: .process(server: "web-01", process: .gunicorn))
        try await lab.apply(.revive, to: .process(server: "web-01", process: .gunicorn))
        let response = try await lab.internetClient.request(host: "127.0.1.11", port: lab.network.port(9102), path: "/metrics", timeout: 5)
        await lab.shutdown()
        #expect(response.status == 200)
        #expect(response.body.contains("gunicorn_workers 2"))
    }

    @Test func totalsReadFromStateBecomeCountersThatResetWhenTheTotalDoes() {
        let metrics = ProcessMetrics()
        metrics.counter("x_total", "X.", [], 5)
        metrics.counter("x_total", "X.", [], 8)
        #expect(metrics.exposition().contains("x_total 8\n"))
        metrics.counter("x_total", "X.", [], 2)   // the process restarted its count
        #expect(metrics.exposition().contains("x_total 2\n"))
        metrics.routes.record(method: .GET, uri: "/api/posts?limit=3", status: 200, seconds: 0.02)
        metrics.routes.record(method: .GET, uri: "/nope", status: 404, seconds: 20)
        let text = metrics.exposition()
        #expect(text.contains("flask_http_request_duration_seconds_bucket{method=\"GET\",path=\"/api/posts\",le=\"0.01\"} 0"))
        #expect(text.contains("flask_http_request_duration_seconds_bucket{method=\"GET\",path=\"/api/posts\",le=\"0.025\"} 1"))
        #expect(text.contains("flask_http_request_duration_seconds_bucket{method=\"other\",path=\"other\",le=\"10.0\"} 0"))
        #expect(text.contains("flask_http_request_duration_seconds_bucket{method=\"other\",path=\"other\",le=\"+Inf\"} 1"))
        #expect(text.contains("flask_http_request_duration_seconds_sum{method=\"other\",path=\"other\"} 20.0"))
    }
}
