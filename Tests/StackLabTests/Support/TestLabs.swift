import Foundation
import NIOConcurrencyHelpers
@testable import StackLab
import StackLabTestSupport

/// Ports for test labs: every lab started by a test gets its own port offset, so tests run side by side in one
/// `swift test` process and beside a developer's own `stacklab`.
///
/// The plan for every suite (a lab listens on its offset plus 3306, 8000, 8080, 8405, 8443, 9090, 9102, 9104, 9113):
/// - offsets that are multiples of 100: lab tests 10100–17900, shell 18000–18900, monitoring 19000–19800 and
///   20000–20400 (each suite its own range, so equal offsets never meet);
/// - multiples of 100 plus 50: lessons 12050–14950, security 15050–22950; plus 68: exercises 16068–23568. No two
///   of the ports above differ by an amount ending in 50, 68 or 18, so these can never meet the others' ports;
/// - every offset stays at or below 23600, so every port stays below Linux's ephemeral range (32768+), where an
///   outgoing connection could hold it.
enum TestPorts {
    private static let next = NIOLockedValueBox(10_000 + (Int(getpid()) % 70) * 100)
    static func offset() -> Int {
        next.withLockedValue { value in
            value += 100
            if value > 17_900 { value = 10_100 }
            return value
        }
    }
}

/// A temporary folder, removed by the caller.
func makeLabFolder(_ name: String = "stacklab-test") -> String {
    let path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The foobar design built in code: lb-01 in front of web-01 and web-02 (nginx + gunicorn each), with knobs tests turn.
struct TestLabBuilder {
    var checkInter = 1000
    /// HAProxy's `fastinter` and `downinter` (checks while a server changes state and while it is DOWN); nil: inter.
    var fastInter: Int? = nil
    var downInter: Int? = nil
    /// Generous, so a busy CI machine does not fail a check by accident.
    var timeoutCheck = 3000
    var fall = 3
    var rise = 2
    var weights = [1, 1]
    var backup = [false, false]
    var retries = 3
    var redispatch: Int? = nil
    var httpCheck: HAProxyConfig.HTTPCheck? = HAProxyConfig.HTTPCheck(method: "GET", uri: "/health")
    var timeoutConnect = 1000
    var timeoutServer = 10_000
    var proxyReadTimeout = 1500
    var workers = 2
    var appTimeout = 30

    func definition(directory: String) -> LabDefinition {
        let servers = [
            Topology.Server(name: "lb-01", address: "127.0.1.1", processes: [.haproxy]),
            Topology.Server(name: "web-01", address: "127.0.1.11", processes: [.nginx, .gunicorn]),
            Topology.Server(name: "web-02", address: "127.0.1.12", processes: [.nginx, .gunicorn]),
        ]
        let backendServers = [("web-01", "127.0.1.11"), ("web-02", "127.0.1.12")].enumerated().map { index, server in
            HAProxyConfig.Server(name: server.0, host: server.1, port: 8080, check: true, inter: checkInter, fastinter: fastInter,
                                 downinter: downInter, fall: fall, rise: rise, weight: weights[index], backup: backup[index])
        }
        let haproxy = HAProxyConfig(
            frontends: [HAProxyConfig.Frontend(name: "www", binds: [HAProxyConfig.Bind(host: "127.0.1.1", port: 8080)], defaultBackend: "web",
                                               httpLog: true, forwardFor: true)],
            backends: [HAProxyConfig.Backend(name: "web", servers: backendServers, httpCheck: httpCheck, retries: retries,
                                             redispatch: redispatch,
                                             timeouts: HAProxyConfig.Timeouts(connect: timeoutConnect, client: 30_000, server: timeoutServer, check: timeoutCheck))])
        var nginx: [String: NginxConfig] = [:]
        var gunicorn: [String: GunicornConfig] = [:]
        for (name, address) in [("web-01", "127.0.1.11"), ("web-02", "127.0.1.12")] {
            let www = "\(directory)/\(name)/www/static"
            try? FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
            try? "static from \(name)\n".write(toFile: "\(www)/hello.txt", atomically: true, encoding: .utf8)
            let proxy = NginxConfig.Location(match: .prefix("/"), proxyPass: "http://app", proxyReadTimeout: proxyReadTimeout,
                                             proxySetHeaders: [("Host", "$host"), ("X-Forwarded-For", "$proxy_add_x_forwarded_for")],
                                             accessLog: .file("logs/access.log"))
            let statics = NginxConfig.Location(match: .prefix("/static/"), root: "www", accessLog: .file("logs/access.log"))
            nginx[name] = NginxConfig(
                upstreams: [NginxConfig.Upstream(name: "app", servers: [NginxConfig.UpstreamServer(host: address, port: 8000)])],
                servers: [NginxConfig.Server(listens: [NginxConfig.Listen(host: address, port: 8080)], serverNames: ["www.foobar.com"],
                                             locations: [statics, proxy],
                                             fallback: NginxConfig.Location(match: .prefix("/"), root: "www", accessLog: .file("logs/access.log")))])
            gunicorn[name] = GunicornConfig(bindHost: address, bindPort: 8000, workers: workers, timeout: appTimeout, accessLog: "-")
        }
        return LabDefinition(directory: directory, topology: Topology(name: "test", servers: servers), haproxy: ["lb-01": haproxy],
                             nginx: nginx, gunicorn: gunicorn)
    }

    /// Starts the lab and waits until lb-01 has seen every web server pass a check (they start at `UP 1/3`).
    func start() async throws -> (Lab, String) {
        let folder = makeLabFolder()
        let lab = try await Lab.start(definition(directory: folder), options: LabOptions(portOffset: TestPorts.offset()))
        try await waitUntil("lb-01 sees every server UP") { lab.balancers[0].serverStatuses.allSatisfy { $0.status == "UP" } }
        return (lab, folder)
    }
}

