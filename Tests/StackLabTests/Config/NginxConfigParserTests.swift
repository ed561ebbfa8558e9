import Testing
@testable import StackLab

@Suite struct NginxConfigParserTests {
    let file = "web-01/nginx.conf"

    func parse(_ text: String) throws -> NginxConfig { try NginxConfigParser.parse(text, file: file) }

    /// A minimal nginx.conf around `http` (whose first line is line 3) and, inside it, a server (line 5 onwards).
    func config(http: String = "", server: String = "", location: String = "") -> String {
        """
        events { }
        http {
        \(http)
            server {
        \(server)
                location / {
        \(location)
                }
            }
        }
        """
    }

    func onlyLocation(_ text: String) throws -> NginxConfig.Location {
        try #require(try parse(text).servers.first?.locations.first)
    }

    @Test func builtInLabParsesWithUpstreamServerAndLocations() throws {
        let config = try parse(try builtInFile("web-01/nginx.conf"))
        #expect(config.workerConnections == 1024)
        #expect(config.errorLog == "logs/error.log")
        #expect(config.upstreams == [NginxConfig.Upstream(name: "app", servers: [NginxConfig.UpstreamServer(host: "127.0.1.11", port: 8000, line: 13)], line: 12)])
        let server = try #require(config.servers.first)
        #expect(server.listens == [NginxConfig.Listen(host: "127.0.1.11", port: 8080, line: 17)])
        #expect(server.serverNames == ["www.foobar.com"])
        #expect(server.fallback.root == "www")
        let statics = server.location(for: "/static/style.css")
        #expect(statics.match == .prefix("/static/"))
        #expect(statics.root == "www")
        #expect(statics.proxyPass == nil)
        let app = server.location(for: "/api/posts")
        #expect(app.match == .prefix("/"))
        #expect(app.proxyPass == "http://app")
        #expect(app.proxySetHeaders.map(\.name) == ["Host", "X-Real-IP", "X-Forwarded-For"])
        #expect(app.proxySetHeaders.map(\.value) == ["$host", "$remote_addr", "$proxy_add_x_forwarded_for"])
        #expect(app.proxyConnectTimeout == 5000)
        #expect(app.proxyReadTimeout == 10_000)
        #expect(app.proxySendTimeout == 60_000)
        #expect(app.accessLog == .file("logs/access.log"))
        #expect(app.root == "www")   // inherited from the server
    }

    @Test func defaultsMatchNginx() throws {
        let config = try parse(config(location: "proxy_pass http://app;", ).replacingOccurrences(of: "http {\n", with: "http {\nupstream app { server 127.0.0.1:8000; }\n"))
        let upstreamServer = try #require(config.upstreams.first?.servers.first)
        #expect(upstreamServer.weight == 1)
        #expect(upstreamServer.maxFails == 1)
        #expect(upstreamServer.failTimeout == 10_000)
        #expect(!upstreamServer.backup)
        #expect(config.upstreams[0].keepalive == 0)
        let location = try #require(config.servers.first?.locations.first)
        #expect(location.proxyConnectTimeout == 60_000)
        #expect(location.proxyReadTimeout == 60_000)
        #expect(location.proxySendTimeout == 60_000)
        #expect(location.proxyNextUpstream == ["error", "timeout"])
        #expect(location.proxyHTTPVersion == "1.0")
        #expect(location.index == ["index.html"])
        #expect(location.serverTokens)
        #expect(location.accessLog == nil)
        #expect(location.defaultType == "text/plain")
        #expect(config.workerConnections == 512)
        #expect(config.errorLog == nil)
        #expect(config.servers[0].keepaliveTimeout == 75_000)
        #expect(config.servers[0].sslProtocols == ["TLSv1.2", "TLSv1.3"])
    }

    @Test func upstreamServerParametersParse() throws {
        let config = try parse(config(http: """
            upstream app {
                server 127.0.1.11:8000 weight=3 max_fails=2 fail_timeout=30s;
                server 127.0.1.12:8000 backup;
                server 127.0.1.13;
                keepalive 16;
            }
            """))
        let servers = config.upstreams[0].servers
        #expect(servers[0].weight == 3 && servers[0].maxFails == 2 && servers[0].failTimeout == 30_000)
        #expect(servers[1].backup)
        #expect(servers[2].port == 80)
        #expect(config.upstreams[0].keepalive == 16)
    }

    @Test func locationDirectivesParse() throws {
        let location = try onlyLocation(config(location: """
            root html;
            index index.html index.htm;
            proxy_pass http://127.0.0.1:8000/app/;
            proxy_http_version 1.1;
            proxy_connect_timeout 500ms;
            proxy_read_timeout 2m;
            proxy_send_timeout 15;
            proxy_next_upstream error timeout http_502 http_503 http_504;
            add_header X-Served-By web-01 always;
            add_header X-Plain yes;
            access_log off;
            server_tokens off;
            default_type application/octet-stream;
            """))
        #expect(location.root == "html")
        #expect(location.index == ["index.html", "index.htm"])
        #expect(location.proxyPass == "http://127.0.0.1:8000/app/")
        #expect(location.proxyHTTPVersion == "1.1")
        #expect(location.proxyConnectTimeout == 500)
        #expect(location.proxyReadTimeout == 120_000)
        #expect(location.proxySendTimeout == 15_000)
        #expect(location.proxyNextUpstream == ["error", "timeout", "http_502", "http_503", "http_504"])
        #expect(location.addHeaders.map { "\($0.name)=\($0.value)/\($0.always)" } == ["X-Served-By=web-01/true", "X-Plain=yes/false"])
        #expect(location.accessLog == .off)
        #expect(!location.serverTokens)
        #expect(location.defaultType == "application/octet-stream")
    }

    @Test func proxyNextUpstreamOffIsEmpty() throws {
        #expect(try onlyLocation(config(location: "proxy_next_upstream off;")).proxyNextUpstream == [])
    }

    @Test(arguments: [
        ("return 404;", 404, nil),
        ("return 200 \"ok\";", 200, "ok"),
        ("return 301 https://www.foobar.com$request_uri;", 301, "https://www.foobar.com$request_uri"),
        ("return https://www.foobar.com/;", 302, "https://www.foobar.com/"),
    ] as [(String, Int, String?)])
    func returnFormsParse(line: String, code: Int, text: String?) throws {
        let location = try onlyLocation(config(location: line))
        #expect(location.returnDirective?.code == code)
        #expect(location.returnDirective?.text == text)
    }

    @Test func serverReturnAnswersEveryLocation() throws {
        let server = try #require(try parse(config(server: "return 301 https://$host$request_uri;")).servers.first)
        #expect(server.location(for: "/").returnDirective?.code == 301)
        #expect(server.location(for: "/other").returnDirective?.code == 301)
    }

    @Test func serverDirectivesParse() throws {
        let server = try #require(try parse(config(server: """
            listen 127.0.1.11:8443 ssl default_server;
            listen 8080;
            server_name www.foobar.com foobar.com;
            ssl_certificate site.crt;
            ssl_certificate_key site.key;
            ssl_protocols TLSv1.3;
            keepalive_timeout 0;
            """)).servers.first)
        #expect(server.listens[0] == NginxConfig.Listen(host: "127.0.1.11", port: 8443, ssl: true, defaultServer: true, line: 5))
        #expect(server.listens[1].host == "0.0.0.0" && server.listens[1].port == 8080)
        #expect(server.serverNames == ["www.foobar.com", "foobar.com"])
        #expect(server.sslCertificate == "site.crt" && server.sslCertificateKey == "site.key")
        #expect(server.sslProtocols == ["TLSv1.3"])
        #expect(server.keepaliveTimeout == 0)
    }

    @Test func settingsInheritFromHTTPToServerToLocation() throws {
        let config = try parse(config(http: """
                root /srv/http;
                proxy_read_timeout 5s;
                server_tokens off;
                access_log logs/http.log;
                proxy_set_header X-From http;
                add_header X-Level http;
            """, server: """
                proxy_read_timeout 7s;
                proxy_set_header X-From server;
                proxy_set_header X-Other server;
            """, location: """
                add_header X-Level location;
            """))
        let location = try #require(config.servers.first?.locations.first)
        #expect(location.root == "/srv/http")
        #expect(location.proxyReadTimeout == 7000)
        #expect(!location.serverTokens)
        #expect(location.accessLog == .file("logs/http.log"))
        // Inherited only when the inner level sets none: the server's two replace the http one.
        #expect(location.proxySetHeaders.map(\.value) == ["server", "server"])
        #expect(location.addHeaders.map(\.value) == ["location"])
    }

    @Test func exactAndPrefixLocationsBothParse() throws {
        let server = try #require(try parse(config(server: "location = /health { return 200; }\nlocation ^~ /static/ { root www; }")).servers.first)
        #expect(server.location(for: "/health").match == .exact("/health"))
        #expect(server.location(for: "/static/a").match == .prefix("/static/"))
    }

    @Test func quotesEscapesAndCommentsAreRead() throws {
        let location = try onlyLocation(config(location: """
            # a comment; with { braces }
            add_header 'X-Quote' "say \\"hi\\"; ok";  # trailing
            """))
        #expect(location.addHeaders.first?.name == "X-Quote")
        #expect(location.addHeaders.first?.value == "say \"hi\"; ok")
    }

    @Test func includeMimeTypesIsAccepted() throws {
        _ = try parse(config(http: "include mime.types;"))
        _ = try parse(config(http: "include /etc/nginx/mime.types;"))
    }

    @Test func upstreamMayBeDefinedAfterItsUse() throws {
        let text = config(location: "proxy_pass http://app;") .replacingOccurrences(of: "\n}", with: "\nupstream app { server 127.0.0.1:8000; }\n}")
        #expect(try parse(text).upstreams.map(\.name) == ["app"])
    }

    @Test func mainDirectivesAreAccepted() throws {
        _ = try parse("user www-data;\nworker_processes auto;\npid logs/nginx.pid;\nerror_log logs/error.log warn;\n" + config())
    }

    // MARK: errors

    @Test func unknownDirectiveIsAnErrorWithFileAndLine() throws {
        let error = configError { _ = try parse(config(location: "frobnicate on;")) }
        #expect(error?.file == file)
        #expect(error?.line == 7)
        #expect(error?.directive == "frobnicate")
        #expect(error?.reason.hasPrefix("unknown directive") == true)
    }

    @Test func typoSuggestsTheNearestDirective() throws {
        let error = configError { _ = try parse(config(location: "proxy_pas http://127.0.0.1:8000;")) }
        #expect(error?.description == "web-01/nginx.conf:7: \"proxy_pas\": unknown directive — did you mean \"proxy_pass\"?")
    }

    @Test func realDirectiveOutsideTheSubsetSaysNotSupported() throws {
        let error = configError { _ = try parse(config(http: "gzip on;")) }
        #expect(error?.line == 3)
        #expect(error?.reason.hasPrefix("not supported by stacklab's nginx (supported here:") == true)
    }

    @Test func directiveInTheWrongBlockIsNotAllowedHere() throws {
        let error = configError { _ = try parse(config(server: "proxy_pass http://127.0.0.1:8000;")) }
        #expect(error?.line == 5)
        #expect(error?.reason.hasPrefix("\"proxy_pass\" directive is not allowed here") == true)
        let listen = configError { _ = try parse(config(location: "listen 8080;")) }
        #expect(listen?.reason.hasPrefix("\"listen\" directive is not allowed here") == true)
    }

    @Test func missingSemicolonBeforeClosingBraceIsAnErrorAtItsLine() throws {
        let error = configError { _ = try parse("events { }\nhttp {\n    server {\n        root www\n    }\n}\n") }
        #expect(error?.line == 4)
        #expect(error?.reason.hasPrefix("unexpected \"}\"") == true)
        #expect(error?.reason.contains("missing \";\"") == true)
    }

    @Test func missingSemicolonBetweenDirectivesPointsAtTheLine() throws {
        let error = configError { _ = try parse(config(location: "proxy_read_timeout 5s\nproxy_connect_timeout 5s;")) }
        #expect(error?.line == 7)
        #expect(error?.reason == "invalid number of arguments in \"proxy_read_timeout\" directive — missing \";\" at the end of line 7?")
    }

    @Test func missingSemicolonAtEndOfFileIsNginxsError() throws {
        let error = configError { _ = try parse("events { }\nworker_processes 1\n") }
        #expect(error?.line == 2)
        #expect(error?.reason == "unexpected end of file, expecting \";\" or \"}\"")
    }

    @Test func extraClosingBraceIsUnexpected() throws {
        let error = configError { _ = try parse("events { }\n}\n") }
        #expect(error?.line == 2)
        #expect(error?.reason == "unexpected \"}\"")
    }

    @Test func unclosedBlockIsAnError() throws {
        let error = configError { _ = try parse("events { }\nhttp {\n    server {\n") }
        #expect(error?.reason.hasPrefix("unexpected end of file, expecting \"}\"") == true)
    }

    @Test func duplicateLocationIsAnError() throws {
        let error = configError { _ = try parse(config(server: "location / { }")) }
        #expect(error?.line == 6)
        #expect(error?.reason.hasPrefix("duplicate location \"/\"") == true)
    }

    @Test func proxyPassToUnknownUpstreamIsHostNotFound() throws {
        let error = configError { _ = try parse(config(location: "proxy_pass http://app;")) }
        #expect(error?.line == 7)
        #expect(error?.reason.hasPrefix("host not found in upstream \"app\"") == true)
    }

    @Test func missingEventsIsNginxsError() throws {
        let error = configError { _ = try parse("http { }\n") }
        #expect(error?.reason.hasPrefix("no \"events\" section in configuration") == true)
    }

    @Test func sslListenWithoutCertificateIsAnError() throws {
        let error = configError { _ = try parse(config(server: "listen 127.0.0.1:8443 ssl;")) }
        #expect(error?.reason.hasPrefix("no \"ssl_certificate\" is defined") == true)
    }

    @Test(arguments: [
        "ssl_protocols TLSv1.1 TLSv1.2;",
        "ssl_protocols TLSv1;",
        "ssl_protocols SSLv3;",
    ])
    func oldTLSProtocolsAreRejectedWithAReason(line: String) throws {
        let error = configError { _ = try parse(config(server: line)) }
        #expect(error?.line == 5)
        #expect(error?.reason.contains("old and insecure") == true)
    }

    @Test(arguments: [
        "root;",
        "root a b;",
        "proxy_read_timeout soon;",
        "proxy_http_version 2.0;",
        "proxy_next_upstream error http_500;",
        "proxy_next_upstream eror;",
        "server_tokens yes;",
        "access_log logs/a.log main;",
        "return abc;",
        "add_header X-A b never;",
        "proxy_pass https://127.0.0.1:8000;",
        "proxy_pass http://$host;",
        "proxy_pass http://127.0.0.1:99999;",
        "root a;\nroot b;",
    ])
    func badValueIsAnErrorOnItsLine(line: String) throws {
        let error = configError { _ = try parse(config(location: line)) }
        #expect(error?.line == 7 || error?.line == 8)
        #expect(error?.file == file)
    }

    @Test(arguments: [
        "upstream app { }",
        "upstream app { server web-01:8000; }",
        "upstream app { server 127.0.0.1:8000 max_conns=5; }",
        "upstream app { server 127.0.0.1:8000 wieght=2; }",
        "upstream app { least_conn; server 127.0.0.1:8000; }",
        "include conf.d/*.conf;",
        "upstream app { server 127.0.0.1:8000; }\nupstream app { server 127.0.0.1:8001; }",
    ])
    func badHTTPLevelDirectiveIsAnError(text: String) throws {
        let error = configError { _ = try parse(config(http: text)) }
        #expect(error.map { (3...4).contains($0.line) } == true)
    }

    @Test func locationRegexIsNotSupported() throws {
        let error = configError { _ = try parse(config(server: "location ~ \\.php$ { }")) }
        #expect(error?.reason.contains("regular-expression locations are not supported") == true)
    }
}
