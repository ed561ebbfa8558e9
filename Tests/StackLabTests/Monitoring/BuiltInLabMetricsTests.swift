import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("The built-in foobar lab's metrics, with the store")
struct MonitoringBuiltInLabMetricsTests {
    func startFoobar() async throws -> (Lab, String) {
        let root = makeLabFolder("foobar-metrics")
        let folder = root + "/lab"
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
        let lab = try await Lab.start(try LabDefinition.load(directory: folder), options: LabOptions(portOffset: MonitoringPorts.offset()))
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

    @Test func aRealPrometheusScrapesTheLabFromTheGeneratedConfig() async throws {
        guard let prometheus = installedTool("prometheus") else { return }   // optional: only where Prometheus is installed
        let (lab, root) = try await startFoobar()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The file the lab wrote at its start, with the lab's alert rules beside it.
        let config = root + "/lab/monitor/prometheus.yml"
        #expect(FileManager.default.fileExists(atPath: config))
        let webPort = lab.network.port(MetricsEndpoint.monitorPort)
        let server = try ChildProcess.start(prometheus, ["--config.file=\(config)", "--storage.tsdb.path=\(root)/data",
                                                         "--web.listen-address=127.0.0.1:\(webPort)"])
        var answer = ""
        let web02: ClientResponse
        do {
            try await waitUntil(timeout: 60, "Prometheus reports 7 targets up") {
                guard let response = try? await lab.internetClient.request(host: "127.0.0.1", port: webPort,
                                                                         path: "/api/v1/query?query=sum(up)", timeout: 2) else { return false }
                answer = response.body
                return response.body.contains("\"7\"]")
            }
            web02 = try await lab.internetClient.request(host: "127.0.0.1", port: webPort,
                                                         path: "/api/v1/query?query=haproxy_server_status%7Bserver%3D%22web-02%22%2Cstate%3D%22UP%22%7D",
                                                         timeout: 5)
        } catch {
            // Stopped before the folder it writes in is removed.
            await server.stop()
            await lab.shutdown()
            throw error
        }
        await server.stop()
        await lab.shutdown()
        #expect(answer.contains("\"status\":\"success\""))
        #expect(web02.body.contains("\"instance\":\"lb-01/haproxy\""), "\(web02.body)")
    }
}
