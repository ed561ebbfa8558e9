import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

/// The real HAProxy and nginx, where installed: what stacklab accepts, they must accept too (DESIGN principle 3).
enum RealTool {
    /// The program's path: PATH first, then the sbin folders that a non-root PATH often lacks.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin", "/opt/homebrew/bin", "/usr/local/bin"]
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let haproxy = find("haproxy")
    static let nginx = find("nginx")
    static let python3 = find("python3")

    /// Runs the program to its end; returns its exit status and everything it printed.
    static func run(_ executable: String, _ arguments: [String], in folder: URL) async throws -> (status: Int32, output: String) {
        let result = try await ChildProcess.run(executable, arguments, directory: folder.path, mergingStderr: true)
        return (result.status, result.stdout)
    }

    static func haproxyCheck(_ file: String, in folder: URL) async throws -> (status: Int32, output: String) {
        try await run(haproxy!, ["-c", "-f", file], in: folder)
    }

    /// `nginx -t` with the server's folder as prefix, as the runtime resolves relative paths. `-e` sends nginx's
    /// start-up log into the folder too, so the check needs no root rights; `-t` writes no pid file.
    static func nginxTest(serverFolder: URL) async throws -> (status: Int32, output: String) {
        try FileManager.default.createDirectory(at: serverFolder.appendingPathComponent("logs"), withIntermediateDirectories: true)
        return try await run(nginx!, ["-t", "-p", serverFolder.path + "/", "-c", "nginx.conf", "-e", "logs/error.log"], in: serverFolder)
    }
}

@Suite(.runsALab) struct RealToolsTests {
    func labCopy() throws -> URL {
        let folder = try temporaryFolder().appendingPathComponent("foobar")
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder.path)
        return folder
    }

    @Test(.enabled(if: RealTool.haproxy != nil, "haproxy is not installed"))
    func builtInBalancerConfigPassesHAProxyCheck() async throws {
        let lab = try labCopy()
        defer { try? FileManager.default.removeItem(at: lab.deletingLastPathComponent()) }
        let result = try await RealTool.haproxyCheck("lb-01/haproxy.cfg", in: lab)
        #expect(result.status == 0, "haproxy -c said:\n\(result.output)")
        #expect(!result.output.contains("[WARNING]"), "haproxy -c warned:\n\(result.output)")
    }

    @Test(.enabled(if: RealTool.nginx != nil, "nginx is not installed"), arguments: ["web-01", "web-02"])
    func builtInWebServerConfigPassesNginxTest(server: String) async throws {
        let lab = try labCopy()
        defer { try? FileManager.default.removeItem(at: lab.deletingLastPathComponent()) }
        let result = try await RealTool.nginxTest(serverFolder: lab.appendingPathComponent(server))
        #expect(result.status == 0, "nginx -t said:\n\(result.output)")
    }

    /// Configs stacklab accepts, outside the built-in lab: HAProxy must accept them too, and warn exactly when we do.
    @Test(.enabled(if: RealTool.haproxy != nil, "haproxy is not installed"), arguments: [
        """
        global
            log stdout format raw local0
            maxconn 100
        defaults
            mode http
            timeout connect 5s
            timeout client 30s
            timeout server 30s
            option redispatch 1
            retries 2
        listen web
            bind 127.0.1.1:18080
            balance leastconn
            option httpchk /health
            default-server inter 3s fastinter 1s downinter 5s fall 2 rise 4
            server web-01 127.0.1.11:8080 check weight 10
            server web-02 127.0.1.12:8080 check backup
        """,
        """
        defaults
            mode http
        frontend www
            bind :18080
            default_backend web
        backend web
            option httpchk HEAD / HTTP/1.1
            no option redispatch
            server a 127.0.0.1:18081 check inter 500
        """,
        """
        global
            daemon
            pidfile /tmp/stacklab-haproxy-test.pid
            stats socket /tmp/stacklab-haproxy-test.sock mode 660 level admin
            stats timeout 30s
        defaults
            mode http
            log global
            option httplog
            option dontlognull
            option forwardfor
            timeout connect 5000
            timeout client 1m
            timeout server 30s
            timeout check 2s
        frontend www
            bind 127.0.1.1:18080
            bind 127.0.1.1:18081
            maxconn 50
            option httpchk GET /
            default_backend web
        backend web
            balance source
            option httplog
            server web-01 127.0.1.11:8080 check inter 2s fall 3 rise 2
            server web-02 127.0.1.12:8080 weight 0
        """,
        """
        defaults
            mode http
            timeout connect 5s
            timeout client 5s
            timeout server 5s
        frontend www
            bind 127.0.1.1:18080
            retries 2
            option redispatch
            timeout connect 1s
            timeout server 1s
            balance roundrobin
            default_backend web
        backend web
            maxconn 10
            bind 127.0.1.1:18090
            timeout client 1s
            option dontlognull
            server a 127.0.0.1:18081
        """,
        """
        defaults
            mode http
            default_backend web
        frontend www
        backend web
            server a 127.0.0.1:18081
        listen site
            bind 127.0.1.1:18080
            option httplog
            server b 127.0.0.1:18082
        """,
    ])
    func acceptedHAProxyConfigsPassHAProxyCheck(text: String) async throws {
        let text = text + "\n"   // as an editor saves it; HAProxy requires the last line feed
        let parsed = try HAProxyConfigParser.parse(text, file: "haproxy.cfg")
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try text.write(to: folder.appendingPathComponent("haproxy.cfg"), atomically: true, encoding: .utf8)
        let result = try await RealTool.haproxyCheck("haproxy.cfg", in: folder)
        #expect(result.status == 0, "haproxy -c said:\n\(result.output)")
        // HAProxy's warning lines, without their "[WARNING]  (pid) : config : " heading; ours say the same, in order
        // (ours go on where HAProxy continues a warning on "   | " lines).
        let theirs = result.output.split(separator: "\n")
            .filter { $0.hasPrefix("[WARNING]") }
            .map { line in line.range(of: "config : ").map { String(line[$0.upperBound...]) } ?? String(line) }
        #expect(theirs.count == parsed.warnings.count, "stacklab warned:\n\(parsed.warnings.joined(separator: "\n"))\nhaproxy said:\n\(result.output)")
        for (ours, haproxys) in zip(parsed.warnings, theirs) {
            #expect(ours.hasPrefix(haproxys), "stacklab: \(ours)\nhaproxy:  \(haproxys)")
        }
    }

    /// Configs stacklab accepts, outside the built-in lab: nginx -t must accept them too.
    @Test(.enabled(if: RealTool.nginx != nil, "nginx is not installed"), arguments: [
        """
        user root;
        worker_processes auto;
        events { worker_connections 64; }
        http {
            include mime.types;
            server_tokens off;
            proxy_read_timeout 5s;
            add_header X-Level http;
            upstream app {
                server 127.0.1.11:8000 weight=2 max_fails=3 fail_timeout=5s;
                server 127.0.1.12:8000 backup;
                keepalive 8;
            }
            server {
                listen 127.0.1.11:18080 default_server;
                server_name www.foobar.com;
                location = /health { return 200 "ok"; }
                location /old { return https://www.foobar.com/; }
                location ^~ /static/ { root www; index index.html; access_log off; }
                location / {
                    proxy_pass http://app/;
                    proxy_http_version 1.1;
                    proxy_next_upstream error timeout http_502;
                    proxy_set_header 'Host' "$host";
                    add_header X-Served-By web-01 always;
                }
            }
        }
        """,
        """
        pid logs/nginx.pid;
        error_log logs/error.log warn;
        events {
            worker_connections 16;
        }
        http {
            sendfile on;
            keepalive_timeout 65 60;
            default_type application/octet-stream;
            access_log logs/access.log combined;
            error_log logs/http-error.log;
            root www;
            index index.html index.htm;
            proxy_connect_timeout 500ms;
            proxy_send_timeout 15;
            proxy_next_upstream off;
            server {
                listen 18081;
                listen 127.0.1.12:18082;
                server_name _;
                keepalive_timeout 0;
                return 301 https://$host$request_uri;
            }
            server {
                listen 127.0.1.12:18083;
                location / { proxy_pass http://127.0.1.12:8000; }
                location /api/ { proxy_pass http://localhost:8000/v1/; proxy_read_timeout 1m30s; }
            }
        }
        """,
    ])
    func acceptedNginxConfigsPassNginxTest(text: String) async throws {
        _ = try NginxConfigParser.parse(text, file: "nginx.conf")
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try text.write(to: folder.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        // nginx needs the file that `include mime.types` names; stacklab has the types built in.
        try "types { text/html html; }\n".write(to: folder.appendingPathComponent("mime.types"), atomically: true, encoding: .utf8)
        let result = try await RealTool.nginxTest(serverFolder: folder)
        #expect(result.status == 0, "nginx -t said:\n\(result.output)")
    }

    /// gunicorn runs its config file as Python: what stacklab accepts must run there and set the same names.
    @Test(.enabled(if: RealTool.python3 != nil, "python3 is not installed"))
    func acceptedGunicornConfigsAreValidPython() async throws {
        let lab = try labCopy()
        defer { try? FileManager.default.removeItem(at: lab.deletingLastPathComponent()) }
        let text = try String(contentsOf: lab.appendingPathComponent("web-01/gunicorn.conf.py"), encoding: .utf8) + """
            graceful_timeout = 1_0  # digits may be grouped
            errorlog = '-'
            loglevel = "warning"
            worker_class = 'sync'
            keepalive = 2
            accesslog = None
            raw_env = (
                "A=1",
                'B=2',
            )

            """
        _ = try GunicornConfigParser.parse(text, file: "gunicorn.conf.py")
        try text.write(to: lab.appendingPathComponent("check.py"), atomically: true, encoding: .utf8)
        let script = "ns = {}; exec(open('check.py').read(), ns); print(sorted(k for k in ns if k != '__builtins__'))"
        let result = try await RealTool.run(RealTool.python3!, ["-c", script], in: lab)
        #expect(result.status == 0, "python3 said:\n\(result.output)")
        #expect(result.output == "['accesslog', 'bind', 'errorlog', 'graceful_timeout', 'keepalive', 'loglevel', 'raw_env', 'timeout', 'worker_class', 'workers', 'wsgi_app']\n")
    }
}
