import Testing
@testable import StackLab

@Suite struct HAProxyConfigParserTests {
    let file = "lb-01/haproxy.cfg"

    /// Parses `text` as a file saved by an editor, which ends it with a line feed (HAProxy requires one).
    func parse(_ text: String) throws -> HAProxyConfig {
        try HAProxyConfigParser.parse(text.hasSuffix("\n") ? text : text + "\n", file: file)
    }

    /// A complete minimal proxy, with the timeouts that keep HAProxy quiet.
    func config(_ backendLines: String, frontendLines: String = "", defaults: String = "") -> String {
        """
        defaults
            mode http
            timeout connect 5s
            timeout client 30s
            timeout server 30s
        \(defaults)
        frontend www
            bind 127.0.1.1:8080
            default_backend web
        \(frontendLines)
        backend web
        \(backendLines)
        """
    }

    @Test func builtInLabParsesWithFrontendBackendAndChecks() throws {
        let config = try parse(try builtInFile("lb-01/haproxy.cfg"))
        #expect(config.global.maxconn == 4096)
        #expect(config.frontends.count == 1)
        let www = try #require(config.frontends.first)
        #expect(www.name == "www")
        #expect(www.binds == [HAProxyConfig.Bind(host: "127.0.1.1", port: 8080, line: 18)])
        #expect(www.defaultBackend == "web")
        #expect(www.httpLog && www.dontLogNull && www.forwardFor)
        #expect(www.timeouts.client == 30_000)
        let web = try #require(config.backend(named: "web"))
        #expect(web.balance == .roundrobin)
        #expect(web.httpCheck == HAProxyConfig.HTTPCheck(method: "GET", uri: "/health", version: "HTTP/1.0"))
        #expect(web.retries == 3)
        #expect(web.timeouts == HAProxyConfig.Timeouts(connect: 5000, server: 30_000))
        #expect(web.servers.map(\.name) == ["web-01", "web-02"])
        #expect(web.servers[0] == HAProxyConfig.Server(name: "web-01", line: 26, host: "127.0.1.11", port: 8080, check: true,
                                                        inter: 2000, fall: 3, rise: 2))
        #expect(config.warnings.isEmpty)
    }

    @Test func serverDefaultsMatchHAProxy() throws {
        let server = try #require(try parse(config("    server a 127.0.0.1:80")).backends[0].servers.first)
        #expect(!server.check)
        #expect(server.inter == 2000)
        #expect(server.fall == 3)
        #expect(server.rise == 2)
        #expect(server.weight == 1)
        #expect(server.fastinter == nil && server.downinter == nil)
        #expect(!server.backup)
        let backend = try parse(config("    server a 127.0.0.1:80")).backends[0]
        #expect(backend.retries == 3)
        #expect(backend.redispatch == nil)
        #expect(backend.httpCheck == nil)
        #expect(backend.balance == .roundrobin)
    }

    @Test func serverFlagsParse() throws {
        let servers = try parse(config("    server a 127.0.0.1:80 check\n    server b 127.0.0.1:81 backup")).backends[0].servers
        #expect(servers[0].check && !servers[0].backup)
        #expect(servers[1].backup && !servers[1].check)
    }

    static func field(_ server: HAProxyConfig.Server, _ name: String) -> Int {
        switch name {
        case "inter": server.inter
        case "fall": server.fall
        case "rise": server.rise
        default: server.weight
        }
    }

    @Test(arguments: [
        ("inter 3s", "inter", 3000),
        ("inter 1500", "inter", 1500),
        ("fall 5", "fall", 5),
        ("rise 1", "rise", 1),
        ("weight 0", "weight", 0),
        ("weight 256", "weight", 256),
    ])
    func serverNumbersParse(options: String, name: String, value: Int) throws {
        let server = try parse(config("    server a 127.0.0.1:80 check " + options)).backends[0].servers[0]
        #expect(Self.field(server, name) == value)
    }

    @Test func fastinterAndDowninterParseAsTimes() throws {
        let server = try parse(config("    server a 127.0.0.1:80 check fastinter 500 downinter 10s")).backends[0].servers[0]
        #expect(server.fastinter == 500)
        #expect(server.downinter == 10_000)
    }

    @Test func defaultServerAppliesToFollowingServersOnly() throws {
        let servers = try parse(config("""
                server a 127.0.0.1:80
                default-server inter 3s fall 5 check
                server b 127.0.0.1:81
                server c 127.0.0.1:82 fall 2
            """)).backends[0].servers
        #expect(servers[0].inter == 2000 && !servers[0].check)
        #expect(servers[1].inter == 3000 && servers[1].fall == 5 && servers[1].check)
        #expect(servers[2].fall == 2 && servers[2].inter == 3000)
    }

    @Test func defaultsFoldIntoLaterSectionsAndANewDefaultsStartsAgain() throws {
        let config = try parse("""
            defaults
                mode http
                balance leastconn
                retries 5
                option redispatch
                timeout connect 1s
                timeout server 2s
                timeout client 3s
            backend one
                server a 127.0.0.1:80
            defaults
                mode http
                timeout connect 1s
                timeout server 2s
            backend two
                server a 127.0.0.1:80
            """)
        let one = try #require(config.backend(named: "one"))
        #expect(one.balance == .leastconn && one.retries == 5 && one.redispatch == -1)
        #expect(one.timeouts == HAProxyConfig.Timeouts(connect: 1000, server: 2000))
        let two = try #require(config.backend(named: "two"))
        #expect(two.balance == .roundrobin && two.retries == 3 && two.redispatch == nil)
    }

    @Test(arguments: [
        ("option httpchk", HAProxyConfig.HTTPCheck()),
        ("option httpchk /health", HAProxyConfig.HTTPCheck(uri: "/health")),
        ("option httpchk GET /health", HAProxyConfig.HTTPCheck(method: "GET", uri: "/health")),
        ("option httpchk HEAD / HTTP/1.1", HAProxyConfig.HTTPCheck(method: "HEAD", uri: "/", version: "HTTP/1.1")),
    ])
    func httpchkFormsParse(line: String, expected: HAProxyConfig.HTTPCheck) throws {
        #expect(try parse(config("    " + line + "\n    server a 127.0.0.1:80 check")).backends[0].httpCheck == expected)
    }

    @Test func redispatchTakesAnIntervalAndNoOptionTurnsItOff() throws {
        #expect(try parse(config("    option redispatch 2")).backends[0].redispatch == 2)
        #expect(try parse(config("    option redispatch\n    no option redispatch")).backends[0].redispatch == nil)
        #expect(try parse(config("    retries 0")).backends[0].retries == 0)
    }

    @Test(arguments: ["roundrobin", "leastconn", "source"])
    func balanceAlgorithmsParse(name: String) throws {
        #expect(try parse(config("    balance \(name)")).backends[0].balance.rawValue == name)
    }

    @Test func timeoutsUseHAProxyUnitsWithMillisecondsByDefault() throws {
        let backend = try parse(config("    timeout check 1500\n    timeout connect 2m", defaults: "")).backends[0]
        #expect(backend.timeouts.check == 1500)
        #expect(backend.timeouts.connect == 120_000)
    }

    @Test func bindWithSSLCertificateParses() throws {
        let bind = try parse(config("", frontendLines: "    bind 127.0.1.1:8443 ssl crt site.pem")).frontends[0].binds[1]
        #expect(bind.port == 8443 && bind.certificateFile == "site.pem")
    }

    @Test func bindWithoutAddressMeansAllAddresses() throws {
        #expect(try parse(config("", frontendLines: "    bind :8081")).frontends[0].binds[1].host == "0.0.0.0")
        #expect(try parse(config("", frontendLines: "    bind *:8081")).frontends[0].binds[1].host == "0.0.0.0")
    }

    @Test func listenSectionIsAFrontendAndABackendOfTheSameName() throws {
        let config = try parse("""
            defaults
                mode http
                timeout connect 5s
                timeout client 5s
                timeout server 5s
            listen web
                bind 127.0.1.1:8080
                server a 127.0.1.11:8080 check
            """)
        #expect(config.frontends.map(\.name) == ["web"])
        #expect(config.frontends[0].defaultBackend == "web")
        #expect(config.frontends[0].binds.map(\.port) == [8080])
        #expect(config.backends.map(\.name) == ["web"])
        #expect(config.backends[0].servers.map(\.name) == ["a"])
    }

    @Test func globalAcceptsLogAndProcessKeywords() throws {
        let config = try parse("""
            global
                log stdout format raw local0
                maxconn 100
                daemon
                user haproxy
                group haproxy
                chroot /var/lib/haproxy
                pidfile /run/haproxy.pid
                stats socket /run/haproxy/admin.sock mode 660 level admin
                stats timeout 30s
            """)
        #expect(config.global.maxconn == 100)
    }

    @Test func commentsBlankLinesIndentationAndEscapedSpacesAreAccepted() throws {
        let config = try parse("""
            # a comment
            defaults   # trailing comment
            mode http
                    timeout connect 5s
              timeout client 5s

            timeout server 5s
            backend web
            option httpchk GET /a\\ b
            server a 127.0.0.1:80   # the first one
            """)
        #expect(config.backends[0].httpCheck?.uri == "/a b")
        #expect(config.backends[0].servers.count == 1)
    }

    // MARK: warnings

    @Test func missingTimeoutsWarnInHAProxysWords() throws {
        let config = try parse("""
            defaults
                mode http
            frontend www
                bind 127.0.0.1:8080
                default_backend web
            backend web
                server a 127.0.0.1:80
            """)
        #expect(config.warnings.count == 2)
        #expect(config.warnings[0].hasPrefix("missing timeouts for frontend 'www'. While not properly invalid, you will certainly encounter various problems"))
        #expect(config.warnings[1].hasPrefix("missing timeouts for backend 'web'."))
        #expect(config.warnings[1].hasSuffix("please ensure that all following timeouts are set to a non-zero value: 'client', 'connect', 'server'."))
    }

    /// `haproxy -c` 2.6 on this file: the warning below, and the http-request redirect (code 302) is the one applied.
    @Test func anHTTPRequestRuleAfterARedirectRuleWarnsAsHAProxyDoes() throws {
        let parsed = try parse(config("    server a 127.0.0.1:80", frontendLines: """
                redirect scheme https code 301 if !{ ssl_fc }
                redirect scheme https code 308 if !{ ssl_fc }
                http-request redirect scheme https unless { ssl_fc }
            """))
        #expect(parsed.warnings == ["parsing [lb-01/haproxy.cfg:12] : a 'http-request' rule placed after a 'redirect' rule will still be processed before."])
        #expect(parsed.frontends.first?.httpsRedirect?.code == 302)
        #expect(try parse(config("    server a 127.0.0.1:80", frontendLines: "    redirect scheme https code 301 if !{ ssl_fc }\n"
            + "    redirect scheme https code 308 if !{ ssl_fc }")).frontends.first?.httpsRedirect?.code == 301)
    }

    @Test func backendWithOnlyTimeoutClientMissingIsFine() throws {
        let config = try parse("""
            defaults
                mode http
                timeout connect 5s
                timeout server 5s
            backend web
                server a 127.0.0.1:80
            """)
        #expect(config.warnings.isEmpty)
    }

    @Test func backendKeywordInFrontendIsIgnoredWithHAProxysWarning() throws {
        let config = try parse(config("    server a 127.0.0.1:80", frontendLines: "    balance leastconn"))
        #expect(config.warnings == ["parsing [lb-01/haproxy.cfg:10] : 'balance' ignored because frontend 'www' has no backend capability."])
    }

    @Test func httplogWithoutALogAddressWarnsAsHAProxyDoes() throws {
        let quiet = try parse(config("", defaults: "    option httplog\n    log global"))
        #expect(quiet.warnings == ["log format ignored for frontend 'www' since it has no log address."])
        let logged = try parse("global\n    log stdout format raw local0\n" + config("", defaults: "    option httplog\n    log global"))
        #expect(logged.warnings.isEmpty)
    }

    // MARK: errors

    @Test func unknownKeywordIsAnErrorWithFileAndLine() throws {
        let error = configError { _ = try parse(config("    frobnicate yes")) }
        #expect(error?.file == file)
        #expect(error?.line == 12)
        #expect(error?.directive == "frobnicate")
        #expect(error?.description.hasPrefix("lb-01/haproxy.cfg:12: \"frobnicate\": unknown keyword") == true)
    }

    @Test func typoSuggestsTheNearestKeyword() throws {
        let error = configError { _ = try parse(config("    balence roundrobin")) }
        #expect(error?.reason == "unknown keyword — did you mean \"balance\"?")
        let option = configError { _ = try parse(config("    option httpchek GET /")) }
        #expect(option?.reason == "unknown option — did you mean \"httpchk\"?")
        let serverOption = configError { _ = try parse(config("    server a 127.0.0.1:80 chek")) }
        #expect(serverOption?.reason.contains("did you mean \"check\"?") == true)
    }

    @Test func realKeywordOutsideTheSubsetSaysNotSupported() throws {
        let error = configError { _ = try parse(config("    http-request deny")) }
        #expect(error?.reason.hasPrefix("not supported by stacklab's haproxy") == true)
    }

    @Test func modeTCPIsAnError() throws {
        let error = configError { _ = try parse("defaults\n    mode tcp\n") }
        #expect(error?.line == 2)
        #expect(error?.reason.contains("mode tcp is not supported") == true)
    }

    @Test func proxyWithoutModeHTTPIsAnErrorBecauseHAProxyDefaultsToTCP() throws {
        let error = configError { _ = try parse("backend web\n    server a 127.0.0.1:80\n") }
        #expect(error?.line == 1)
        #expect(error?.reason.contains("mode tcp") == true)
    }

    @Test func defaultBackendMustNameAnExistingBackend() throws {
        let error = configError { _ = try parse(config("    server a 127.0.0.1:80").replacingOccurrences(of: "default_backend web", with: "default_backend wbe")) }
        #expect(error?.line == 9)
        #expect(error?.reason.hasPrefix("unable to find required default_backend: 'wbe'") == true)
    }

    @Test func listenThatIsItsOwnDefaultBackendIsALoop() throws {
        let error = configError { _ = try parse("defaults\n    mode http\n    default_backend web\nlisten web\n    bind :8080\n    server a 127.0.0.1:80\n") }
        #expect(error?.line == 3)
        #expect(error?.reason.hasPrefix("loop detected for default_backend: 'web'") == true)
    }

    @Test func listenInheritsDefaultBackendFromDefaults() throws {
        let config = try parse("defaults\n    mode http\n    default_backend web\nbackend web\n    server a 127.0.0.1:80\nlisten site\n    bind :8080\n")
        #expect(config.frontends.first?.defaultBackend == "web")
    }

    @Test func duplicateServerNamesAreAnError() throws {
        let error = configError { _ = try parse(config("    server a 127.0.0.1:80\n    server a 127.0.0.1:81")) }
        #expect(error?.line == 13)
        #expect(error?.reason.contains("another server named 'a' was already defined at line 12") == true)
    }

    @Test(arguments: [
        "server a 127.0.0.1:0",
        "server a 127.0.0.1:65536",
        "server a 127.0.0.1",
        "server a web-01:80",
        "server a 127.0.0.1:80 fall 0",
        "server a 127.0.0.1:80 rise 0",
        "server a 127.0.0.1:80 inter 0",
        "server a 127.0.0.1:80 inter 2x",
        "server a 127.0.0.1:80 weight 257",
        "server a 127.0.0.1:80 weight",
        "retries -1",
        "timeout connect soon",
        "timeout queue 5s",
        "balance static-rr",
        "option httpchk get /",
        "option httpchk GET health",
        "server a 127.0.0.1:80 maxconn 10",
    ])
    func badValueIsAnErrorOnItsLine(line: String) throws {
        let error = configError { _ = try parse(config("    " + line)) }
        #expect(error?.line == 12)
        #expect(error?.file == file)
    }

    @Test func serverInFrontendIsAnError() throws {
        let error = configError { _ = try parse(config("", frontendLines: "    server a 127.0.0.1:80")) }
        #expect(error?.line == 10)
        #expect(error?.reason.contains("has no backend capability") == true)
    }

    @Test func sslWithoutCertificateIsAnError() throws {
        let error = configError { _ = try parse(config("", frontendLines: "    bind 127.0.1.1:8443 ssl")) }
        #expect(error?.reason.contains("crt FILE") == true)
    }

    @Test func keywordBeforeAnySectionIsAnError() throws {
        let error = configError { _ = try parse("maxconn 10\n") }
        #expect(error?.line == 1)
        #expect(error?.directive == "maxconn")
    }

    @Test func lastLineWithoutLineFeedIsAnErrorAsInHAProxy() throws {
        let error = configError { _ = try HAProxyConfigParser.parse("defaults\n    mode http\n# end", file: file) }
        #expect(error?.line == 3)
        #expect(error?.reason.hasPrefix("missing LF on last line") == true)
    }

    @Test func windowsLineEndsAreAccepted() throws {
        let config = try HAProxyConfigParser.parse("defaults\r\n    mode http\r\nbackend web\r\n    server a 127.0.0.1:80 check\r\n", file: file)
        #expect(config.backends[0].servers[0].check)
    }

    @Test func nameWithASpaceIsAnErrorAsInHAProxy() throws {
        let error = configError { _ = try parse(config("    server web\\ 02 127.0.0.1:80")) }
        #expect(error?.line == 12)
        #expect(error?.reason.hasPrefix("character ' ' is not permitted in server name 'web 02'") == true)
    }

    @Test func unclosedQuoteIsAnError() throws {
        let error = configError { _ = try parse(config("    option httpchk GET \"/health")) }
        #expect(error?.line == 12)
        #expect(error?.reason.contains("quote") == true)
    }
}
