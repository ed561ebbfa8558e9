import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import StackLab
import StackLabTestSupport

/// A real server (haproxy, nginx, gunicorn) running from a temporary folder on 127.0.9.x until the test ends.
final class RealServer: Sendable {
    let process: ChildProcess.Background
    let folder: URL
    let address: (host: String, port: Int)

    init(_ executable: String, _ arguments: [String], folder: URL, address: (host: String, port: Int)) throws {
        process = try ChildProcess.start(executable, arguments, directory: folder.path)
        self.folder = folder
        self.address = address
    }

    /// Waits until the port accepts connections.
    func ready(group: EventLoopGroup) async throws {
        try await waitUntil(timeout: 30, "the real server on \(address.host):\(address.port)") {
            guard process.isRunning else { return false }
            let client = try await RawClient.connect(address, group: group)
            await client.close()
            return true
        }
    }

    /// SIGKILL: gone at once, whatever the server does on SIGTERM. Waits for the exit on a Dispatch thread.
    func stop() async {
        await process.stop(SIGKILL)
        try? FileManager.default.removeItem(at: folder)
    }

    /// Starts a real server, runs `body`, stops the server whatever `body` did.
    static func with(_ executable: String, _ arguments: [String], files: [String: String], address: (host: String, port: Int),
                     group: EventLoopGroup, _ body: (RealServer) async throws -> Void) async throws {
        let folder = try temporaryFolder()
        for (name, text) in files {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("logs"), withIntermediateDirectories: true)
        let server = try RealServer(executable, arguments, folder: folder, address: address)
        do {
            try await server.ready(group: group)
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}

/// Sends `request` on a new connection and returns everything that came back once the server closed it.
func exchange(_ request: String, at address: (host: String, port: Int), group: EventLoopGroup,
              keepSending: String? = nil) async throws -> String {
    let client = try await RawClient.connect(address, group: group, first: request)
    try await waitUntil(timeout: 30, "\(address.host):\(address.port) to answer and close") {
        if let more = keepSending, !client.isClosed { try? await client.send(more) }
        return client.isClosed
    }
    return client.text
}

/// Without the `Date:` line, which differs from second to second.
func withoutDate(_ response: String) -> String {
    response.components(separatedBy: "\r\n").filter { !$0.hasPrefix("Date: ") }.joined(separator: "\r\n")
}

/// The limits' answers side by side with the real HAProxy 2.6, nginx 1.22 and gunicorn: byte for byte.
@Suite("HTTP limits beside the real tools", .serialized, .runsALab)
struct HTTPLimitsRealToolsTests {
    static let gunicorn = RealTool.find("gunicorn")

    @Test(.enabled(if: RealTool.haproxy != nil, "haproxy is not installed"))
    func haproxys408And400AreTheRealOnes() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let port = TestPorts.offset() + 8080
        // The 400 is asked of a frontend without `timeout http-request`: a busy machine may take longer than 300 ms
        // to write the request, and the answer would then be the 408.
        let config = """
            defaults
                mode http
                timeout connect 5s
                timeout client 30s
                timeout server 30s
            frontend www
                bind 127.0.9.1:\(port)
                timeout http-request 300ms
                default_backend web
            frontend patient
                bind 127.0.9.1:\(port + 1)
                default_backend web
            backend web
                server web-01 127.0.9.1:1

            """
        var real: [String] = []
        try await RealServer.with(try #require(RealTool.haproxy), ["-db", "-f", "haproxy.cfg"], files: ["haproxy.cfg": config],
                                  address: ("127.0.9.1", port), group: group) { server in
            real.append(try await exchange("GET / HTTP/1.1\r\n", at: server.address, group: group, keepSending: "X"))
            real.append(try await exchange("GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", at: ("127.0.9.1", port + 1), group: group))
        }
        var ours: [String] = []
        try await PatchedLab.run(["lb-01/haproxy.cfg": [("    timeout client 30s\n", "    timeout client 30s\n    timeout http-request 300ms\n")]]) { lab in
            ours.append(try await exchange("GET / HTTP/1.1\r\n", at: lab.address("lb-01", 8080), group: group, keepSending: "X"))
        }
        try await PatchedLab.run { lab in
            ours.append(try await exchange("GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", at: lab.address("lb-01", 8080), group: group))
        }
        #expect(real.first?.hasPrefix("HTTP/1.1 408") == true)
        #expect(real.last?.hasPrefix("HTTP/1.1 400") == true)
        #expect(ours == real)
    }

    @Test(.enabled(if: RealTool.nginx != nil, "nginx is not installed"))
    func nginxs413And414And400AreTheRealOnes() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let port = TestPorts.offset() + 8080
        let config = """
            daemon off;
            master_process off;
            pid logs/nginx.pid;
            error_log logs/error.log;
            events { worker_connections 64; }
            http {
                access_log off;
                client_max_body_size 1k;
                large_client_header_buffers 4 1k;
                server {
                    listen 127.0.9.2:\(port);
                    server_name www.foobar.com;
                    location / { return 200 ok; }
                }
            }

            """
        let long = String(repeating: "a", count: 1100)
        let requests = [
            "POST / HTTP/1.1\r\nHost: www.foobar.com\r\nContent-Length: 2000\r\n\r\n",
            "GET /\(long) HTTP/1.1\r\nHost: www.foobar.com\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: www.foobar.com\r\nX-Long: \(long)\r\n\r\n",
        ]
        var real: [String] = []
        try await RealServer.with(try #require(RealTool.nginx), ["-p", "./", "-c", "nginx.conf", "-e", "logs/error.log"],
                                  files: ["nginx.conf": config], address: ("127.0.9.2", port), group: group) { server in
            for request in requests { real.append(withoutDate(try await exchange(request, at: server.address, group: group))) }
        }
        try await PatchedLab.run(["web-01/nginx.conf": [("    access_log logs/access.log combined;\n",
                                                         "    access_log logs/access.log combined;\n    client_max_body_size 1k;\n    large_client_header_buffers 4 1k;\n")]]) { lab in
            var ours: [String] = []
            for request in requests { ours.append(withoutDate(try await exchange(request, at: lab.address("web-01", 8080), group: group))) }
            #expect(real.map { $0.prefix(12) } == ["HTTP/1.1 413", "HTTP/1.1 414", "HTTP/1.1 400"])
            for (mine, theirs) in zip(ours, real) { #expect(mine == theirs) }
        }
    }

    @Test(.enabled(if: HTTPLimitsRealToolsTests.gunicorn != nil, "gunicorn is not installed"))
    func gunicorns431IsTheRealOne() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let port = TestPorts.offset() + 8000
        let app = "def app(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'ok']\n"
        let requests = [
            "GET / HTTP/1.1\r\nHost: x\r\nX-Long: \(String(repeating: "b", count: 100))\r\n\r\n",
            "GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\n\r\n",
            "GET /\(String(repeating: "a", count: 100)) HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        var real: [String] = []
        try await RealServer.with(try #require(Self.gunicorn),
                                  ["-b", "127.0.9.3:\(port)", "--limit-request-field_size", "50", "--limit-request-fields", "5",
                                   "--limit-request-line", "100", "app:app"],
                                  files: ["app.py": app], address: ("127.0.9.3", port), group: group) { server in
            for request in requests { real.append(try await exchange(request, at: server.address, group: group)) }
        }
        try await PatchedLab.run(["web-01/gunicorn.conf.py": [("timeout = 30\n",
                                                               "timeout = 30\nlimit_request_field_size = 50\nlimit_request_fields = 5\nlimit_request_line = 100\n")]]) { lab in
            var ours: [String] = []
            for request in requests { ours.append(try await exchange(request, at: lab.address("web-01", 8000), group: group)) }
            #expect(ours[0] == real[0])
            #expect(ours[1] == real[1])
            // gunicorn 23, which stacklab's is, answers a long request line with 400 Bad Request; newer ones (27 here)
            // with 414 URI Too Long. The message is the same.
            #expect(ours[2].hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
            let message = "    Request Line is too large (114 &gt; 100)\n"
            #expect(real[2].contains(message) && ours[2].contains(message))
        }
    }
}
