import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import StackLab
import StackLabTestSupport

/// HTTP off the happy path, one case per point, each asserting what HAProxy 2.6 and nginx 1.22 answer — and run
/// against the real ones too when they are installed (`SideBySide`), from the lab's own haproxy.cfg and nginx.conf.
@Suite("HTTP as the real HAProxy and nginx answer it", .serialized, .runsALab)
struct HTTPFidelityTests {
    /// Health checks that ask nginx for a static file: the real side has no app behind nginx.
    static let staticChecks = ("    option httpchk GET /health\n", "    option httpchk GET /static/hello.txt\n")
    static let hello = "GET /static/hello.txt HTTP/1.1\r\nHost: www.foobar.com\r\n\r\n"

    /// lb-01's servers replaced by raw test servers (no checks), with `option redispatch`.
    static func rawServers(_ first: String, _ second: String) -> [String: [(String, String)]] {
        ["lb-01/haproxy.cfg": [
            ("    retries 3\n", "    retries 3\n    option redispatch\n"),
            ("    server web-01 127.0.1.11:8080 check inter 2s fall 3 rise 2\n", "    server web-01 \(first)\n"),
            ("    server web-02 127.0.1.12:8080 check inter 2s fall 3 rise 2\n", "    server web-02 \(second)\n"),
        ]]
    }

    // 1
    @Test func aClientThatHalfClosesAfterItsRequestGetsItsAnswer() async throws {
        try await SideBySide.run(["lb-01/haproxy.cfg": [Self.staticChecks]]) { side in
            for _ in 0..<10 {
                let client = try await RawClient.connect(side.lb, group: side.group)
                try await client.send(Self.hello)
                try await client.channel.close(mode: .output)
                try await waitUntil(timeout: 30, "\(side.name): the answer to a half-closed request") { client.isClosed }
                #expect(client.text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(client.text)")
                #expect(client.text.hasSuffix("static from web-01\n") || client.text.hasSuffix("static from web-02\n"))
            }
        }
    }

    // 2
    @Test func expect100ContinueIsAnsweredByTheHopThatOwnsTheBody() async throws {
        try await SideBySide.run(["lb-01/haproxy.cfg": [Self.staticChecks]]) { side in
            // Too large for client_max_body_size 1m: nginx's 413 comes through lb-01 before a byte of body is sent.
            let large = try await RawClient.connect(side.lb, group: side.group)
            try await large.send("POST /api/posts HTTP/1.1\r\nHost: www.foobar.com\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n")
            try await waitUntil(timeout: 30, "\(side.name): the 413 before the body") { large.text.contains("</html>\r\n") }
            #expect(large.text.hasPrefix("HTTP/1.1 413 Request Entity Too Large\r\n"), "\(side.name): \(large.text)")
            #expect(large.text.hasSuffix(NginxErrorPage.body(413)))
            #expect(!large.text.contains("100 Continue"))
            await large.close()
            // A small body: nginx says 100 Continue (relayed by lb-01) and the client sends it.
            let small = try await RawClient.connect(side.lb, group: side.group)
            try await small.send("POST /api/posts HTTP/1.1\r\nHost: www.foobar.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            try await waitUntil(timeout: 30, "\(side.name): 100 Continue") { small.text.contains("\r\n\r\n") }
            #expect(small.text == "HTTP/1.1 100 Continue\r\n\r\n", "\(side.name): \(small.text)")
            try await small.send("hello")
            try await waitUntil(timeout: 30, "\(side.name): the final answer") { small.text.components(separatedBy: "HTTP/1.1 ").count > 2 }
            await small.close()
        }
    }

    @Test func gunicornAnswers100ContinueItself() async throws {
        try await PatchedLab.run { lab in
            let client = try await RawClient.connect(lab.address("web-01", 8000), group: lab.lab.group)
            try await client.send("POST /api/posts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
            try await waitUntil(timeout: 30, "gunicorn's 100 Continue") { client.text.contains("\r\n\r\n") }
            #expect(client.text == "HTTP/1.1 100 Continue\r\n\r\n")
            await client.close()
        }
    }

    // 3
    @Test func redispatchWithRoundRobinIsImmediateAndLogsPlusOne() async throws {
        try await SideBySide.run(Self.rawServers("127.0.9.5:8091", "127.0.9.6:8092")) { side in
            try await RawHTTPServer.with(host: "127.0.9.6", port: 8092 + side.offset, swallow: false, group: side.group) { good in
                let started = NIODeadline.now()
                for _ in 0..<2 {
                    let response = try await exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", at: side.lb, group: side.group)
                    #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(response)")
                }
                // Two requests, one redispatched: far from the 1 s turn-around a retry on the same server waits.
                #expect(NIODeadline.now() - started < .milliseconds(2500), "\(side.name)")
                try await waitUntil(timeout: 30, "\(side.name): the log lines") { side.lbLog().filter { $0.contains("\"GET / HTTP/1.1\"") }.count == 2 }
                let lines = side.lbLog().filter { $0.contains("\"GET / HTTP/1.1\"") }
                #expect(lines.contains { $0.contains(" www web/web-02 ") && $0.contains(" ---- 1/1/0/0/+1 0/0 ") }, "\(side.name): \(lines)")
                #expect(good.requests.count == 2)
            }
        }
    }

    // 4
    @Test func aRequestThatReachedAServerIsNotSentAgain() async throws {
        try await SideBySide.run(Self.rawServers("127.0.9.5:8093", "127.0.9.6:8094")) { side in
            try await RawHTTPServer.with(host: "127.0.9.5", port: 8093 + side.offset, swallow: true, group: side.group) { dying in
                try await RawHTTPServer.with(host: "127.0.9.6", port: 8094 + side.offset, swallow: false, group: side.group) { good in
                    let post = "POST /api/posts HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nConnection: close\r\n\r\nx=hello"
                    let started = NIODeadline.now()
                    let first = try await exchange(post, at: side.lb, group: side.group)
                    #expect(NIODeadline.now() - started < .seconds(5), "\(side.name): 502 at once")
                    #expect(first.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"), "\(side.name): \(first)")
                    #expect(first.hasSuffix(HAProxyErrorPage.body(502)))
                    try await waitUntil(timeout: 30, "\(side.name): the 502 in the log") { side.lbLog().contains { $0.contains(" 502 ") } }
                    let line = try #require(side.lbLog().first { $0.contains(" 502 ") })
                    #expect(line.contains(" www web/web-01 ") && line.contains(" SH-- ") && line.contains("/0 0/0 \"POST /api/posts HTTP/1.1\""),
                            "\(side.name): \(line)")
                    #expect(dying.requests == ["POST /api/posts HTTP/1.1"])
                    #expect(good.requests.isEmpty, "\(side.name): the POST went to web-02 too")
                }
            }
        }
    }

    /// A server that answered once, kept the connection, and dies while working on a later request: 502 SH--, and
    /// the request is not sent again — whether lb-01 sent it on the kept connection or a new one.
    @Test func aRequestAServerDiedHoldingIsNotSentAgain() async throws {
        try await SideBySide.run(Self.rawServers("127.0.9.5:8097", "127.0.9.6:8098")) { side in
            try await RawHTTPServer.with(host: "127.0.9.5", port: 8097 + side.offset, swallow: false, dieAfterFirst: .milliseconds(400),
                                         group: side.group) { dying in
                try await RawHTTPServer.with(host: "127.0.9.6", port: 8098 + side.offset, swallow: false, group: side.group) { good in
                    var statuses: [String] = []
                    for path in ["/one", "/two", "/three"] {
                        let response = try await exchange("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
                                                          at: side.lb, group: side.group)
                        statuses.append(String(response.prefix(12)))
                    }
                    #expect(statuses == ["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 502"], "\(side.name)")
                    #expect(dying.requests == ["POST /one HTTP/1.1", "POST /three HTTP/1.1"], "\(side.name)")
                    #expect(good.requests == ["POST /two HTTP/1.1"], "\(side.name)")
                    try await waitUntil(timeout: 30, "\(side.name): the 502 in the log") { side.lbLog().contains { $0.contains(" SH-- ") } }
                }
            }
        }
    }

    // 5
    @Test func headAnswersCarryTheGetsContentLength() async throws {
        try await SideBySide.run(["lb-01/haproxy.cfg": [Self.staticChecks]]) { side in
            let head = try await exchange("HEAD /static/hello.txt HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n",
                                          at: side.lb, group: side.group)
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(head)")
            #expect(headerValue(head, "content-length") == "19", "\(side.name): \(head)")
            #expect(head.hasSuffix("\r\n\r\n"))
        }
        // Through nginx's proxy to the app (the real side has no app).
        try await PatchedLab.run { lab in
            let get = try await exchange("GET / HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n", at: lab.address("lb-01", 8080),
                                         group: lab.lab.group)
            let head = try await exchange("HEAD / HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n", at: lab.address("lb-01", 8080),
                                          group: lab.lab.group)
            let length = try #require(headerValue(get, "content-length"))
            #expect(Int(length) ?? 0 > 0)
            #expect(headerValue(head, "content-length") == length, "\(head)")
        }
    }

    // 7
    @Test func staticFilesAnswerRangesAndConditionalRequestsAsNginx() async throws {
        try await SideBySide.run { side in
            func ask(_ extra: String) async throws -> String {
                try await exchange("GET /static/hello.txt HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\(extra)\r\n",
                                   at: side.web, group: side.group)
            }
            let plain = try await ask("")
            let etag = try #require(headerValue(plain, "ETag"))
            let modified = try #require(headerValue(plain, "Last-Modified"))
            #expect(headerValue(plain, "Accept-Ranges") == "bytes")
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("-13\""), "\(side.name): \(etag)")

            let part = try await ask("Range: bytes=0-4\r\n")
            #expect(part.hasPrefix("HTTP/1.1 206 Partial Content\r\n"), "\(side.name): \(part)")
            #expect(headerValue(part, "Content-Range") == "bytes 0-4/19")
            #expect(headerValue(part, "Content-Length") == "5")
            #expect(headerValue(part, "Accept-Ranges") == nil)
            #expect(part.hasSuffix("\r\n\r\nstati"))
            let tail = try await ask("Range: bytes=-3\r\n")
            #expect(headerValue(tail, "Content-Range") == "bytes 16-18/19", "\(side.name): \(tail)")
            let multi = try await ask("Range: bytes=0-1,3-4\r\n")
            #expect(headerValue(multi, "Content-Type")?.hasPrefix("multipart/byteranges; boundary=") == true, "\(side.name): \(multi)")
            #expect(headerValue(multi, "Content-Length") == "198")
            for unsatisfiable in ["bytes=100-", "bytes=abc"] {
                let past = try await ask("Range: \(unsatisfiable)\r\n")
                #expect(past.hasPrefix("HTTP/1.1 416 Requested Range Not Satisfiable\r\n"), "\(side.name): \(past)")
                #expect(headerValue(past, "Content-Range") == "bytes */19")
                #expect(past.hasSuffix(NginxErrorPage.body(416)))
            }
            let otherUnit = try await ask("Range: items=0-1\r\n")
            #expect(otherUnit.hasPrefix("HTTP/1.1 200 OK\r\n"))

            for condition in ["If-None-Match: \(etag)", "If-None-Match: W/\(etag)", "If-Modified-Since: \(modified)"] {
                let same = try await ask(condition + "\r\n")
                #expect(same.hasPrefix("HTTP/1.1 304 Not Modified\r\n"), "\(side.name) \(condition): \(same)")
                #expect(headerValue(same, "Content-Length") == nil && headerValue(same, "Content-Type") == nil)
                #expect(headerValue(same, "ETag") == etag)
                #expect(same.hasSuffix("\r\n\r\n"))
            }
            let changed = try await ask("If-None-Match: \"other\"\r\n")
            #expect(changed.hasPrefix("HTTP/1.1 200 OK\r\n"))
            let resumed = try await ask("Range: bytes=0-1\r\nIf-Range: \(etag)\r\n")
            #expect(resumed.hasPrefix("HTTP/1.1 206 "), "\(side.name): \(resumed)")
            let stale = try await ask("Range: bytes=0-1\r\nIf-Range: \"other\"\r\n")
            #expect(stale.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(stale)")
            let byDate = try await ask("Range: bytes=0-1\r\nIf-Range: \(modified)\r\n")
            #expect(byDate.hasPrefix("HTTP/1.1 206 "), "\(side.name): \(byDate)")
        }
    }

    // 8
    /// A directory asked for without its slash: nginx's 301 to the name from Host, the port it listens on, the
    /// slash and the query.
    @Test func aDirectoryWithoutItsSlashIsRedirectedAsNginxDoes() async throws {
        try await SideBySide.run(["web-01/nginx.conf": [("location /static/ {", "location /static {")]]) { side in
            let answer = try await exchange("GET /static?x=1 HTTP/1.1\r\nHost: www.foobar.com:8080\r\nConnection: close\r\n\r\n",
                                            at: side.web, group: side.group)
            #expect(answer.hasPrefix("HTTP/1.1 301 Moved Permanently\r\n") && answer.hasSuffix(NginxErrorPage.body(301)), "\(side.name): \(answer)")
            #expect(headerValue(answer, "Location") == "http://www.foobar.com:\(side.web.port)/static/?x=1", "\(side.name): \(answer)")
            let old = try await exchange("GET /static HTTP/1.0\r\n\r\n", at: side.web, group: side.group)
            #expect(headerValue(old, "Location") == "http://\(side.web.host):\(side.web.port)/static/", "\(side.name): \(old)")
        }
    }

    @Test func badRequestsGetEachHopsOwnAnswer() async throws {
        try await SideBySide.run(["lb-01/haproxy.cfg": [Self.staticChecks]]) { side in
            let garbage = try await exchange("\u{1}\u{2} hello\r\n\r\n", at: side.lb, group: side.group)
            #expect(garbage == "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\n"
                + "Content-Type: text/html\r\n\r\n" + HAProxyErrorPage.body(400), "\(side.name): \(garbage)")
            try await waitUntil(timeout: 30, "\(side.name): the <BADREQ> line") { side.lbLog().contains { $0.hasSuffix("\"<BADREQ>\"") } }
            let line = try #require(side.lbLog().first { $0.hasSuffix("\"<BADREQ>\"") })
            #expect(line.contains(" www www/<NOSRV> -1/-1/-1/-1/") && line.contains(" 400 0 - - PR-- "), "\(side.name): \(line)")

            let noHost = try await exchange("GET /static/hello.txt HTTP/1.1\r\n\r\n", at: side.web, group: side.group)
            #expect(noHost.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(side.name): \(noHost)")
            #expect(noHost.hasSuffix(NginxErrorPage.body(400)))

            // A request target that is neither a path nor an absolute URI is an invalid request to nginx; lb-01 passes
            // `OPTIONS *` on, so through it the answer is nginx's 400 too.
            for line in ["OPTIONS * HTTP/1.1", "GET index.html HTTP/1.1", "GET htt%p://x/ HTTP/1.1"] {
                let answer = try await exchange("\(line)\r\nHost: www.foobar.com\r\n\r\n", at: side.web, group: side.group)
                #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n") && answer.hasSuffix(NginxErrorPage.body(400)), "\(side.name): \(line): \(answer)")
            }
            // Lines typed into nc end in a bare LF: HAProxy and nginx take them.
            for address in [side.lb, side.web] {
                let typed = try await exchange("GET /static/hello.txt HTTP/1.1\nHost: www.foobar.com\nConnection: close\n\n", at: address, group: side.group)
                #expect(typed.hasPrefix("HTTP/1.1 200 OK\r\n") && typed.contains("\r\n\r\nstatic from web-0"), "\(side.name): \(typed)")
            }

            // Host headers: nginx takes exactly one valid name; HAProxy refuses two that differ and sends one on when
            // they agree.
            for hosts in ["Host: x\r\nHost: y", "Host: x\r\nHost: x", "Host: ", "Host: a b", "Host: x, y", "Host: a..b", "Host: a/b"] {
                let answer = try await exchange("GET /static/hello.txt HTTP/1.1\r\n\(hosts)\r\n\r\n", at: side.web, group: side.group)
                #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n") && answer.hasSuffix(NginxErrorPage.body(400)), "\(side.name): \(hosts): \(answer)")
            }
            for host in ["x.", "www.foobar.com:8080", "[::1]:80"] {
                let answer = try await exchange("GET /static/hello.txt HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n", at: side.web, group: side.group)
                #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(host): \(answer)")
            }
            let differ = try await exchange("GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", at: side.lb, group: side.group)
            #expect(differ.hasPrefix("HTTP/1.1 400 Bad request\r\n") && differ.hasSuffix(HAProxyErrorPage.body(400)), "\(side.name): \(differ)")
            let agree = try await exchange("GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nHost: X\r\nConnection: close\r\n\r\n", at: side.lb, group: side.group)
            #expect(agree.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(agree)")

            let star = try await exchange("OPTIONS * HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n", at: side.lb, group: side.group)
            #expect(star.hasPrefix("HTTP/1.1 400 Bad Request\r\n") && star.hasSuffix(NginxErrorPage.body(400)), "\(side.name): \(star)")
            let absolute = try await exchange("GET http://www.foobar.com/static/hello.txt HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n",
                                              at: side.web, group: side.group)
            #expect(absolute.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(absolute)")

            // An HTTP/1.0 keep-alive client: answered in HTTP/1.1, told the connection stays.
            let client = try await RawClient.connect(side.web, group: side.group)
            try await client.send("GET /static/hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            try await waitUntil(timeout: 30, "\(side.name): the 1.0 answer") { client.text.hasSuffix("static from web-01\n") }
            #expect(client.text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(client.text)")
            #expect(headerValue(client.text, "Connection") == "keep-alive")
            #expect(!client.isClosed)
            await client.close()

            // Through lb-01 too: an HTTP/1.0 request is answered in HTTP/1.1.
            let through = try await exchange("GET /static/hello.txt HTTP/1.0\r\n\r\n", at: side.lb, group: side.group)
            #expect(through.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(through)")
            #expect(through.hasSuffix("\r\n\r\nstatic from web-01\n") || through.hasSuffix("\r\n\r\nstatic from web-02\n"))
        }
    }

    /// HAProxy 2.6 (HTX) writes every header name in lower case, to the server and to the client; nginx and the
    /// app keep the spelling they were given.
    @Test func lb01SpellsHeaderNamesInLowerCaseBothWaysAndNginxKeepsItsOwn() async throws {
        try await SideBySide.run(Self.rawServers("127.0.9.5:8099", "127.0.9.6:8100")) { side in
            try await RawHTTPServer.with(host: "127.0.9.5", port: 8099 + side.offset, swallow: false, group: side.group) { first in
                try await RawHTTPServer.with(host: "127.0.9.6", port: 8100 + side.offset, swallow: false, group: side.group) { second in
                    let response = try await exchange("GET /spelled HTTP/1.1\r\nHost: www.foobar.com\r\nUser-Agent: Probe/1\r\n"
                        + "X-Custom-Thing: 1\r\nConnection: close\r\n\r\n", at: side.lb, group: side.group)
                    #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(side.name): \(response)")
                    let names = headerNames(response)
                    #expect(names.contains("content-type") && names.contains("content-length") && names.contains("x-served-by"),
                            "\(side.name): \(names)")
                    #expect(names.allSatisfy { $0 == $0.lowercased() }, "\(side.name): \(names)")
                    let head = try #require((first.heads + second.heads).first, "\(side.name): no request reached a server")
                    for line in ["host: www.foobar.com", "user-agent: Probe/1", "x-custom-thing: 1", "x-forwarded-for: 127.0.0.1"] {
                        #expect(head.contains(line), "\(side.name): \(head)")
                    }
                    #expect(head.dropFirst().allSatisfy { !$0.prefix { $0 != ":" }.contains(where: \.isUppercase) }, "\(side.name): \(head)")
                }
            }
            // nginx answers with its own spelling.
            let direct = try await exchange(Self.hello.replacingOccurrences(of: "\r\n\r\n", with: "\r\nConnection: close\r\n\r\n"),
                                            at: side.web, group: side.group)
            let names = headerNames(direct)
            for name in ["Server", "Date", "Content-Type", "Content-Length", "Last-Modified", "Connection", "ETag", "Accept-Ranges"] {
                #expect(names.contains(name), "\(side.name): \(names)")
            }
        }
        // Through the whole lab: the app's `X-Served-By` reaches the client as `x-served-by`; gunicorn keeps it.
        try await PatchedLab.run { lab in
            let request = "GET / HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n"
            let through = try await exchange(request, at: lab.address("lb-01", 8080), group: lab.lab.group)
            #expect(headLines(through).contains { $0.hasPrefix("x-served-by: web-0") }, "\(through)")
            let app = try await exchange(request, at: lab.address("web-01", 8000), group: lab.lab.group)
            #expect(headLines(app).contains("X-Served-By: web-01"), "\(app)")
            let web = try await exchange(request, at: lab.address("web-01", 8080), group: lab.lab.group)
            #expect(headLines(web).contains("X-Served-By: web-01"), "\(web)")
        }
    }

    @Test func haproxysErrorPagesKeepTheClientsConnection() async throws {
        try await SideBySide.run(Self.rawServers("127.0.9.5:8095", "127.0.9.6:8096")) { side in
            let client = try await RawClient.connect(side.lb, group: side.group)
            try await client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            try await waitUntil(timeout: 30, "\(side.name): two 503 pages") {
                client.text.components(separatedBy: "HTTP/1.1 503 Service Unavailable\r\n").count == 3
            }
            #expect(!client.text.contains("connection: close"), "\(side.name): \(client.text)")
            #expect(client.text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\n"
                + "content-type: text/html\r\n\r\n" + HAProxyErrorPage.body(503)))
            #expect(!client.isClosed)
            await client.close()
            try await waitUntil(timeout: 30, "\(side.name): the log lines") { side.lbLog().filter { $0.contains(" SC-- ") }.count == 2 }
            // Every server refused: each retry went to another server at once.
            let line = try #require(side.lbLog().first { $0.contains(" SC-- ") })
            // TR/Tw/Tc/Tr/Ta: no connection (-1), no response (-1); TR and Tw may read 1 ms on a busy machine.
            #expect(line.contains(/\s\d+\/\d+\/-1\/-1\/\d+\s503\s/) && line.contains("/+3 0/0 \"GET /a HTTP/1.1\""), "\(side.name): \(line)")
        }
    }

    /// gunicorn's `keepalive`: "sync worker does not support persistent connections and will ignore this option".
    /// With `keepalive = 75`, an HTTP/1.1 request (kept alive unless it says otherwise) is answered with
    /// `Connection: close` and the connection ends at once, as the real gunicorn's sync worker does; a negative value
    /// is gunicorn's own error.
    @Test func gunicornsSyncWorkerIgnoresKeepaliveAndClosesAfterEachAnswer() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        var answers: [(side: String, text: String)] = []
        if let gunicorn = RealTool.find("gunicorn") {
            let port = TestPorts.offset() + 8000
            let app = "def app(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'ok']\n"
            try await RealServer.with(gunicorn, ["-b", "127.0.9.3:\(port)", "--keep-alive", "75", "app:app"], files: ["app.py": app],
                                      address: ("127.0.9.3", port), group: group) { server in
                answers.append(("real", try await exchange(request, at: server.address, group: group)))
            }
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try "keepalive = -1\n".write(to: folder.appendingPathComponent("bad.conf.py"), atomically: true, encoding: .utf8)
            let refused = try await RealTool.run(gunicorn, ["-c", "bad.conf.py", "app:app"], in: folder)
            #expect(refused.status != 0 && refused.output.contains("Invalid value for keepalive: -1")
                && refused.output.contains("Value must be positive: -1"), "\(refused.output)")
        }
        try await PatchedLab.run(["web-01/gunicorn.conf.py": [("timeout = 30\n", "timeout = 30\nkeepalive = 75\n")]]) { lab in
            #expect(lab.lab.process("web-01", .gunicorn) != nil)
            answers.append(("stacklab", try await exchange(request, at: lab.address("web-01", 8000), group: lab.lab.group)))
        }
        for answer in answers {
            #expect(answer.text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer.side): \(answer.text)")
            #expect(headerValue(answer.text, "Connection") == "close", "\(answer.side): \(answer.text)")
        }
        #expect(throws: ConfigError.self) {
            _ = try GunicornConfigParser.parse("keepalive = -1\n", file: "web-01/gunicorn.conf.py")
        }
        let error = try #require(Self.gunicornError("keepalive = -1\n"))
        #expect(error.reason == "Invalid value for keepalive: -1 (Value must be positive: -1)")
        #expect(Self.gunicornError("keepalive = \"abc\"\n")?.reason.contains("invalid literal for int() with base 0: 'abc'") == true)
        #expect(try GunicornConfigParser.parse("keepalive = \"5\"\n", file: "g").keepalive == 5)
        #expect(try GunicornConfigParser.parse("", file: "g").keepalive == 2)
    }

    static func gunicornError(_ text: String) -> ConfigError? {
        do {
            _ = try GunicornConfigParser.parse(text, file: "web-01/gunicorn.conf.py")
            return nil
        } catch { return error as? ConfigError }
    }

    // 9
    @Test func lb01LogsToAFileBesideNginxsLogsWithHAProxysFields() async throws {
        try await PatchedLab.run { lab in
            let response = try await exchange(Self.hello.replacingOccurrences(of: "\r\n\r\n", with: "\r\nConnection: close\r\n\r\n"),
                                              at: lab.address("lb-01", 8080), group: lab.lab.group)
            #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
            let file = (lab.folder as NSString).appendingPathComponent("lb-01/logs/haproxy.log")
            try await waitUntil(timeout: 30, "the request's line in \(file)") {
                lab.lab.process("lb-01", .haproxy)?.log.flush()
                return ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").contains("\"GET /static/hello.txt HTTP/1.1\"")
            }
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.contains("haproxy version is 2.6.12"))
            let line = try #require(text.split(separator: "\n").first { $0.contains("\"GET /static/hello.txt HTTP/1.1\"") })
            // %B counts the whole answer, headers included; one request alone: 1/1/0/0/0.
            let fields = line.split(separator: " ")
            let bytes = try #require(fields.firstIndex(of: "200").map { Int(fields[$0 + 1]) ?? 0 })
            #expect(bytes == response.utf8.count, "\(line)")
            #expect(line.contains(" ---- 1/1/0/0/0 0/0 "), "\(line)")
            #expect(lab.lab.process("lb-01", .haproxy)?.log.history().contains(String(line)) == true)
        }
    }

    // 10
    @Test func withAPortOffsetTheLogsShowThePortsThatAnswer() async throws {
        try await PatchedLab.run { lab in
            await lab.lab.process("web-01", .gunicorn)?.crash()
            let response = try await exchange("GET / HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n", at: lab.address("web-01", 8080),
                                              group: lab.lab.group)
            #expect(response.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
            let app = lab.address("web-01", 8000)
            try await waitUntil("nginx's error line") { lab.log("web-01", .nginx).contains { $0.contains("connect() failed") } }
            let line = try #require(lab.log("web-01", .nginx).first { $0.contains("connect() failed") })
            #expect(line.contains("upstream: \"http://\(app.host):\(app.port)/\""), "\(line)")
        }
    }
}
