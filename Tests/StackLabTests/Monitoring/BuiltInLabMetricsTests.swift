import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("The built-in foobar lab's metrics, with the store", .runsALab)
struct MonitoringBuiltInLabMetricsTests {
    /// `offset`: the port plan's offset (default: the monitoring tests' own range).
    func startFoobar(_ name: String = "foobar", offset: Int? = nil) async throws -> (Lab, String) {
        let root = makeLabFolder("foobar-metrics")
        let folder = root + "/lab"
        try LabDefinition.writeBuiltIn(named: name, to: folder)
        let lab = try await Lab.start(try LabDefinition.load(directory: folder), options: LabOptions(portOffset: offset ?? MonitoringPorts.offset()))
        return (lab, root)
    }

    @Test func everyEndpointIncludingTheStoresPassesPromtool() async throws {
        let (lab, root) = try await startFoobar()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try await lab.get("/")
        _ = try await lab.get("/api/posts")
        let replica = try #require(lab.process("web-02", .mysql))
        try await waitUntil("the replica reports its lag") {
            lab.metricsText(for: replica).contains("mysql_slave_status_seconds_behind_source{")
        }
        var pages: [String: String] = [:]
        for target in lab.metricsTargets {
            pages[target.instance] = try await lab.internetClient.request(host: target.host, port: target.port, path: "/metrics", timeout: 5).body
        }
        await lab.shutdown()
        #expect(pages.keys.sorted() == ["lb-01/haproxy", "web-01/gunicorn", "web-01/mysql", "web-01/nginx", "web-02/gunicorn", "web-02/mysql", "web-02/nginx"])
        let primary = try #require(pages["web-01/mysql"])
        #expect(primary.contains("mysql_up 1"))
        #expect(primary.contains("# TYPE mysql_global_status_queries gauge"))
        #expect(!primary.contains("mysql_slave_status"))
        let replicaPage = try #require(pages["web-02/mysql"])
        #expect(replicaPage.contains("mysql_global_variables_read_only 1"))
        #expect(replicaPage.contains("mysql_slave_status_replica_io_running{channel_name=\"\",connection_name=\"\",master_host=\"127.0.1.11\""))
        if let promtool = installedTool("promtool") {
            for (instance, page) in pages {
                let check = try await promtoolCheck(promtool, page)
                #expect(promtoolAccepts(check), "promtool on \(instance): \(check)")
            }
        }
    }

    /// A real Prometheus from the prometheus.yml the lab wrote at its start: every target up. In the hardened lab the
    /// exporters take only the monitor's address; the file sends the scrapes through the relay there.
    @Test(.enabled(if: installedTool("prometheus") != nil, "prometheus is not installed: the real scrape is not compared"),
          arguments: ["foobar", "foobar-hardened"])
    func aRealPrometheusScrapesTheLabFromTheGeneratedConfig(labName: String) async throws {
        let prometheus = try #require(installedTool("prometheus"))
        // On the wider port plan: a real Prometheus's lab stays up a while, and the monitoring range is small.
        let (lab, root) = try await startFoobar(labName, offset: TestPorts.offset())
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The file the lab wrote at its start, with the lab's alert rules beside it.
        let config = root + "/lab/monitor/prometheus.yml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        #expect(text.contains("proxy_url: http://127.0.1.20:") == (labName == "foobar-hardened"), "\(text)")
        let expected = lab.metricsTargets.count
        let webPort = lab.network.port(MetricsEndpoint.monitorPort)
        let server = try ChildProcess.start(prometheus, ["--config.file=\(config)", "--storage.tsdb.path=\(root)/data",
                                                         "--web.listen-address=127.0.0.1:\(webPort)"])
        var answer = ""
        let web02: ClientResponse
        do {
            try await waitUntil(timeout: 60, "Prometheus reports \(expected) targets up in \(labName)") {
                guard let response = try? await lab.internetClient.request(host: "127.0.0.1", port: webPort,
                                                                         path: "/api/v1/query?query=sum(up)", timeout: 2) else { return false }
                answer = response.body
                return response.body.contains("\"\(expected)\"]")
            }
            web02 = try await lab.internetClient.request(host: "127.0.0.1", port: webPort,
                                                         path: "/api/v1/query?query=haproxy_server_status%7Bserver%3D%22web-02%22%2Cstate%3D%22UP%22%7D",
                                                         timeout: 5)
        } catch {
            // Stopped before the folder it writes in is removed.
            let targets = try? await lab.internetClient.request(host: "127.0.0.1", port: webPort, path: "/api/v1/targets", timeout: 5)
            Issue.record("sum(up): \(answer)\ntargets: \(targets?.body ?? "-")")
            await server.stop()
            await lab.shutdown()
            throw error
        }
        await server.stop()
        await lab.shutdown()
        #expect(expected == 7)
        #expect(answer.contains("\"status\":\"success\""))
        #expect(web02.body.contains("\"instance\":\"lb-01/haproxy\""), "\(web02.body)")
    }

    /// The hardened lab's relay on the monitor's address fetches the lab's metrics targets, from that address, and
    /// nothing else.
    @Test func theHardenedLabsScrapeRelayFetchesOnlyMetricsTargets() async throws {
        let (lab, root) = try await startFoobar("foobar-hardened", offset: TestPorts.offset())
        defer { try? FileManager.default.removeItem(atPath: root) }
        let relay = try #require(lab.scrapeRelay.withLockedValue { $0 })
        let exporter = try #require(lab.metricsTargets.first { $0.instance == "web-01/nginx" })
        let scraped: ClientResponse
        let site: ClientResponse
        let post: ClientResponse
        do {
            scraped = try await lab.internetClient.request(host: relay.address, port: relay.port, path: "http://\(exporter.address)/metrics", timeout: 10)
            site = try await lab.internetClient.request(host: relay.address, port: relay.port,
                                                        path: "http://127.0.1.11:\(lab.network.port(8080))/", timeout: 10)
            post = try await lab.internetClient.request(method: "POST", host: relay.address, port: relay.port,
                                                        path: "http://\(exporter.address)/metrics", body: "x", timeout: 10)
        } catch {
            await lab.shutdown()
            throw error
        }
        await lab.shutdown()
        #expect(scraped.status == 200 && scraped.body.contains("nginx_up 1"), "\(scraped.status) \(scraped.body)")
        #expect(scraped.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(site.status == 403, "\(site.status) \(site.body)")
        #expect(post.status == 405, "\(post.status) \(post.body)")
    }
}
