import Foundation
import Testing
import StackLabTestSupport
@testable import StackLab

/// The limit and timeout directives of the HTTP hops: each with the real tool's default, each refused where the real
/// tool refuses it, and accepted by the real tool where it is installed.
@Suite(.runsALab) struct LimitDirectivesTests {
    // MARK: haproxy.cfg

    func haproxy(_ text: String) throws -> HAProxyConfig { try HAProxyConfigParser.parse(text, file: "lb-01/haproxy.cfg") }

    static let haproxyLimits = """
        global
            maxconn 500
        defaults
            mode http
            timeout connect 5s
            timeout client 30s
            timeout server 30s
            timeout http-request 10s
            timeout http-keep-alive 2s
        frontend www
            bind 127.0.1.1:18080
            maxconn 200
            backlog 64
            default_backend web
        frontend other
            bind 127.0.1.1:18081
            timeout http-request 0
            default_backend web
        backend web
            timeout http-request 3s
            server web-01 127.0.1.11:8080

        """

    @Test func haproxyTimeoutsAndMaxconnReachTheFrontends() throws {
        let config = try haproxy(Self.haproxyLimits)
        #expect(config.global.maxconn == 500)
        let www = try #require(config.frontends.first { $0.name == "www" })
        #expect(www.timeouts.httpRequest == 10_000)
        #expect(www.timeouts.httpKeepAlive == 2_000)
        #expect(www.timeouts.client == 30_000)
        #expect(www.maxconn == 200)
        #expect(www.backlog == 64)
        let other = try #require(config.frontends.first { $0.name == "other" })
        #expect(other.timeouts.httpRequest == nil, "0 means no timeout")
        #expect(other.maxconn == nil, "a frontend without maxconn takes global's")
    }

    @Test func haproxyWithoutTheNewDirectivesHasNoLimitsOfItsOwn() throws {
        let config = try haproxy(try builtInFile("lb-01/haproxy.cfg"))
        let www = try #require(config.frontends.first)
        #expect(www.timeouts.httpKeepAlive == nil)
        #expect(www.maxconn == nil && www.backlog == nil)
        let limits = HAProxyConnectionPolicy.limits(for: www)
        // Without http-request and http-keep-alive, timeout client covers both (HAProxy 2.6's HTTP/1 layer).
        #expect(limits.headTimeout == .milliseconds(Int64(www.timeouts.httpRequest ?? 30_000)))
        #expect(limits.keepAliveTimeout == limits.headTimeout)
        #expect(limits.maxHeadBytes == 15_360)
    }

    @Test func haproxyRefusesATimeoutThatIsNotATime() {
        let text = "defaults\n    mode http\n    timeout http-request soon\n"
        #expect(throws: ConfigError.self) { try haproxy(text) }
    }

    // MARK: nginx.conf

    func nginx(_ text: String) throws -> NginxConfig { try NginxConfigParser.parse(text, file: "web-01/nginx.conf") }

    static let nginxLimits = """
        error_log logs/error.log info;
        events { worker_connections 64; }
        http {
            client_header_timeout 5s;
            client_max_body_size 10m;
            large_client_header_buffers 2 1k;
            server {
                listen 127.0.1.11:18080;
                client_body_timeout 7s;
                keepalive_timeout 0;
                location /upload/ {
                    client_max_body_size 0;
                    return 200 ok;
                }
                location / {
                    return 200 ok;
                }
            }
        }

        """

    @Test func nginxLimitsInheritFromHttpToServerToLocation() throws {
        let config = try nginx(Self.nginxLimits)
        #expect(config.errorLogLevel == "info")
        #expect(config.workerConnections == 64)
        let server = try #require(config.servers.first)
        #expect(server.clientHeaderTimeout == 5_000)
        #expect(server.largeHeaderBuffers == 2 && server.largeHeaderBufferSize == 1024)
        #expect(server.keepaliveTimeout == 0)
        #expect(server.location(for: "/upload/x").clientMaxBodySize == 0)
        #expect(server.location(for: "/other").clientMaxBodySize == 10 << 20)
        #expect(server.location(for: "/other").clientBodyTimeout == 7_000)
        let limits = NginxConnectionPolicy.limits(for: server)
        #expect(!limits.keepAlive, "keepalive_timeout 0 turns keep-alive off")
        #expect(limits.maxRequestLine == 1022 && limits.maxHeadBytes == 2048)
    }

    @Test func nginxDefaultsAreTheRealOnes() throws {
        let config = try nginx("events { }\nhttp { server { listen 127.0.1.11:18080; } }\n")
        #expect(config.workerConnections == 512)
        #expect(config.errorLogLevel == "error")
        let server = try #require(config.servers.first)
        #expect(server.clientHeaderTimeout == 60_000)
        #expect(server.keepaliveTimeout == 75_000)
        #expect(server.largeHeaderBuffers == 4 && server.largeHeaderBufferSize == 8192)
        #expect(server.fallback.clientMaxBodySize == 1 << 20)
        #expect(server.fallback.clientBodyTimeout == 60_000)
    }

    @Test(arguments: [
        ("client_max_body_size 1x;", "is not a size"),
        ("client_max_body_size 99999999999999999999k;", "is not a size"),
        ("large_client_header_buffers 0 8k;", "invalid value \"0\""),
        ("large_client_header_buffers 4 100;", "connection_pool_size"),
        ("large_client_header_buffers 4096 8k;", "within 1m"),
        ("client_header_timeout forever;", "is not a time"),
    ])
    func nginxRefusesBadLimits(line: String, reason: String) {
        let text = "events { }\nhttp {\n    \(line)\n    server { listen 127.0.1.11:18080; }\n}\n"
        do {
            _ = try nginx(text)
            Issue.record("accepted: \(line)")
        } catch let error as ConfigError {
            #expect(error.line == 3)
            #expect(error.reason.contains(reason), "\(error.reason)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func nginxRefusesClientHeaderTimeoutInALocationAsNginxDoes() {
        let text = "events { }\nhttp { server { listen 127.0.1.11:18080; location / { client_header_timeout 5s; } } }\n"
        #expect(throws: ConfigError.self) { try nginx(text) }
    }

    // MARK: gunicorn.conf.py

    func gunicorn(_ text: String) throws -> GunicornConfig { try GunicornConfigParser.parse(text, file: "web-01/gunicorn.conf.py") }

    @Test func gunicornLimitsHaveGunicornsDefaults() throws {
        let config = try gunicorn("# nothing\n")
        #expect(config.backlog == 2048)
        #expect(config.workerConnections == 1000)
        #expect(config.limitRequestLine == 4094)
        #expect(config.limitRequestFields == 100)
        #expect(config.limitRequestFieldSize == 8190)
    }

    @Test func gunicornLimitsReadAsGunicornReadsThem() throws {
        let config = try gunicorn("backlog = 64\nworker_connections = 10\nlimit_request_line = 9000\nlimit_request_fields = 0\nlimit_request_field_size = 0\n")
        #expect(config.backlog == 64)
        #expect(config.limitRequestLine == 8190, "gunicorn caps the request line at 8190")
        #expect(config.limitRequestFields == 32768, "0 means gunicorn's largest")
        #expect(config.limitRequestFieldSize == 0, "0 means no limit")
        let limits = GunicornConnectionPolicy.limits(for: config)
        #expect(limits.maxHeaderLine == nil && limits.maxHeaderCount == 32768)
        #expect(limits.maxHeadBytes <= 4 << 20)
        #expect(try gunicorn("limit_request_line = 0\n").limitRequestLine == 0)
    }

    @Test func gunicornRefusesNegativeLimits() {
        #expect(throws: ConfigError.self) { try gunicorn("limit_request_line = -1\n") }
        #expect(throws: ConfigError.self) { try gunicorn("workers = 1000000000\n") }
        #expect(throws: ConfigError.self) { try gunicorn("backlog = \"lots\"\n") }
    }

    @Test func hugeTimeoutsAndLimitsDoNotOverflow() throws {
        let config = try gunicorn("timeout = 9223372036854775807\nlimit_request_field_size = 9223372036854775807\nlimit_request_fields = 32768\n")
        let limits = GunicornConnectionPolicy.limits(for: config)
        #expect(limits.headTimeout == .seconds(100 * 365 * 86_400))
        #expect(limits.maxHeadBytes == 4 << 20)
    }

    // MARK: the real tools accept them

    @Test(.enabled(if: RealTool.haproxy != nil, "haproxy is not installed"))
    func haproxyAcceptsTheLimits() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.haproxyLimits.write(to: folder.appendingPathComponent("haproxy.cfg"), atomically: true, encoding: .utf8)
        let result = try await RealTool.haproxyCheck("haproxy.cfg", in: folder)
        #expect(result.status == 0, "haproxy -c said:\n\(result.output)")
    }

    @Test(.enabled(if: RealTool.nginx != nil, "nginx is not installed"))
    func nginxAcceptsTheLimits() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.nginxLimits.write(to: folder.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        let result = try await RealTool.nginxTest(serverFolder: folder)
        #expect(result.status == 0, "nginx -t said:\n\(result.output)")
    }
}
