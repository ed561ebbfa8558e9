import NIOCore
import NIOHTTP1

/// Where each process serves `/metrics`: on its own server's address, at the port its real exporter uses, so a
/// Prometheus config written for the lab reads like one written for real machines. Ports are configured ports; the
/// lab's port plan (`--port-base`) moves them like every other port.
///
/// | process  | real exporter                                                        | port |
/// |----------|----------------------------------------------------------------------|------|
/// | haproxy  | built-in `http-request use-service prometheus-exporter` on a `bind :8405` frontend | 8405 |
/// | nginx    | nginx-prometheus-exporter (reads stub_status)                         | 9113 |
/// | gunicorn | the app's prometheus_flask_exporter, through statsd_exporter's port   | 9102 |
/// | mysql    | mysqld_exporter                                                       | 9104 |
/// | monitor  | Prometheus itself                                                     | 9090 |
///
/// The exporter lives and dies with its process: a crashed, stopped or hung process does not answer its scrape,
/// which is what `up == 0` means.
public enum MetricsEndpoint {
    public static let path = "/metrics"
    /// The Prometheus text exposition format, version 0.0.4.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func configuredPort(for kind: Topology.ProcessKind) -> Int {
        switch kind {
        case .haproxy: 8405
        case .nginx: 9113
        case .gunicorn: 9102
        case .mysql: 9104
        }
    }

    /// The monitor's own port (Prometheus's default `--web.listen-address`).
    public static let monitorPort = 9090

    /// The Prometheus job name for a process kind (what `up{job=…}` says).
    public static func job(for kind: Topology.ProcessKind) -> String {
        switch kind {
        case .haproxy: "haproxy"
        case .nginx: "nginx"
        case .gunicorn: "gunicorn"
        case .mysql: "mysql"
        }
    }
}

/// A process that knows how to put its state into its metrics registry at scrape time.
public protocol MetricsSource: Sendable {
    func collectMetrics(into metrics: ProcessMetrics)
}

extension LabProcess {
    /// `127.0.1.11:9113` — where this process's metrics are served (real port).
    public var metricsAddress: String {
        "\(runtime.serverAddress):\(runtime.network.port(MetricsEndpoint.configuredPort(for: kind)))"
    }

    /// This process's metrics in the Prometheus text format, read now (what a scrape of `/metrics` returns).
    public func metricsText() -> String {
        (self as? any MetricsSource)?.collectMetrics(into: runtime.metrics)
        return runtime.metrics.exposition()
    }

    /// Opens the process's metrics port. Called after `start()`; the port closes with the process's others.
    func startExporter() async throws {
        let responder = MetricsResponder(process: self)
        try await runtime.listen(host: runtime.serverAddress, configuredPort: MetricsEndpoint.configuredPort(for: kind)) { channel in
            HTTPServerHandler.install(on: channel, responder: responder, serverHeader: nil)
        }
    }
}

/// Answers `GET /metrics` with the process's metrics; 404 for anything else, as the exporters do.
struct MetricsResponder: HTTPResponder {
    let process: any LabProcess

    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse> {
        let path = request.head.uri.prefix { $0 != "?" }
        var headers = HTTPHeaders()
        guard path == MetricsEndpoint.path, request.head.method == .GET || request.head.method == .HEAD else {
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            return request.eventLoop.makeSucceededFuture(ServerResponse(status: .notFound, headers: headers,
                                                                        body: ByteBuffer(string: "404 page not found\n")))
        }
        headers.add(name: "Content-Type", value: MetricsEndpoint.contentType)
        return request.eventLoop.makeSucceededFuture(ServerResponse(status: .ok, headers: headers,
                                                                    body: ByteBuffer(string: process.metricsText())))
    }
}

extension Lab {
    /// A process's metrics as its `/metrics` endpoint would answer them (for `metrics TARGET`), optionally only the
    /// lines of the families whose name starts with `name`.
    public func metricsText(for process: any LabProcess, name: String? = nil) -> String {
        let text = process.metricsText()
        guard let name, !name.isEmpty else { return text }
        return text.split(separator: "\n", omittingEmptySubsequences: true).filter { line in
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                return line.dropFirst(7).hasPrefix(name)
            }
            return line.hasPrefix(name)
        }.joined(separator: "\n") + "\n"
    }
}
