import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import StackLab
import StackLabTestSupport

/// The built-in foobar lab from its own files, with lines of them changed for a test (short timeouts, low limits).
struct PatchedLab {
    let lab: Lab
    let folder: String

    /// `patches`: file (relative to the lab folder) → [(text to find, text to put instead)].
    static func start(_ patches: [String: [(String, String)]] = [:]) async throws -> PatchedLab {
        let folder = makeLabFolder("stacklab-limits")
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
        for (file, changes) in patches {
            let path = (folder as NSString).appendingPathComponent(file)
            var text = try String(contentsOfFile: path, encoding: .utf8)
            for (old, new) in changes {
                guard text.contains(old) else { throw WaitTimeout(what: "\(file) to contain \(old)") }
                text = text.replacingOccurrences(of: old, with: new)
            }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let lab = try await Lab.start(LabDefinition.load(directory: folder), options: LabOptions(portOffset: TestPorts.offset()))
        await lab.waitForFirstChecks(timeout: .seconds(20))
        return PatchedLab(lab: lab, folder: folder)
    }

    func stop() async {
        await lab.shutdown()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Starts the lab, runs `body`, and shuts the lab down whatever `body` did.
    static func run(_ patches: [String: [(String, String)]] = [:], _ body: (PatchedLab) async throws -> Void) async throws {
        let lab = try await start(patches)
        do {
            try await body(lab)
        } catch {
            await lab.stop()
            throw error
        }
        await lab.stop()
    }

    /// The real address of a server's port as the config files write it.
    func address(_ server: String, _ configured: Int) -> (host: String, port: Int) {
        (lab.topology.servers.first { $0.name == server }?.address ?? "127.0.0.1", lab.network.port(configured))
    }

    func log(_ server: String, _ kind: Topology.ProcessKind) -> [String] { lab.process(server, kind)?.log.tail() ?? [] }
}

/// One raw client connection: bytes out as the test says, every byte that comes back kept, and whether the server
/// has closed it.
final class RawClient: Sendable {
    let channel: Channel
    private let received: ReceivedBytes

    private init(channel: Channel, received: ReceivedBytes) {
        self.channel = channel
        self.received = received
    }

    /// `first`: bytes written the moment the connection is up, on its event loop — a test of a timeout that starts
    /// at accept must not depend on when a busy machine runs the test's next line.
    static func connect(_ address: (host: String, port: Int), group: EventLoopGroup, first: String? = nil) async throws -> RawClient {
        let received = ReceivedBytes()
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let first { try channel.pipeline.syncOperations.addHandler(FirstBytes(first)) }
                    try channel.pipeline.syncOperations.addHandler(received)
                }
            }
            .connect(host: address.host, port: address.port).get()
        return RawClient(channel: channel, received: received)
    }

    /// Writes its bytes when the channel becomes active.
    private final class FirstBytes: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let text: String
        init(_ text: String) { self.text = text }
        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
            context.fireChannelActive()
        }
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    var bytes: [UInt8] { received.bytes }
    var text: String { String(decoding: bytes, as: UTF8.self) }
    var isClosed: Bool { received.isClosed }

    func close() async { try? await channel.close() }
}

@Suite("Every HTTP hop's limits, on a running lab", .serialized, .runsALab)
struct HTTPLimitsLabTests {
    @Test func slowlorisAtTheBalancerGets408AfterTimeoutHttpRequest() async throws {
        try await PatchedLab.run(["lb-01/haproxy.cfg": [("    timeout client 30s\n", "    timeout client 30s\n    timeout http-request 3s\n")]]) { lab in
            // With `option dontlognull`, a connection whose first bytes came after the 3 s is not logged: they go at once.
            let client = try await RawClient.connect(lab.address("lb-01", 8080), group: lab.lab.group, first: "GET / HTTP/1.1\r\n")
            // A byte at every poll: a connection that never goes silent, and never finishes its head.
            try await waitUntil(timeout: 30, "lb-01 to close the slow connection") {
                if !client.isClosed { try? await client.send("X") }
                return client.isClosed
            }
            #expect(client.text.hasPrefix("HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\n"))
            #expect(client.text.hasSuffix("<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n"))
            try await waitUntil("the 408 in lb-01's log") { lab.log("lb-01", .haproxy).contains { $0.contains(" 408 0 - - cR-- ") } }
            let line = try #require(lab.log("lb-01", .haproxy).last { $0.contains("cR--") })
            #expect(line.contains(" www www/<NOSRV> -1/-1/-1/-1/"))
            #expect(line.hasSuffix(" 0/0 \"<BADREQ>\""))
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTimeoutHttpKeepAlive() async throws {
        try await PatchedLab.run(["lb-01/haproxy.cfg": [("    timeout client 30s\n", "    timeout client 30s\n    timeout http-keep-alive 300ms\n")]]) { lab in
            let client = try await RawClient.connect(lab.address("lb-01", 8080), group: lab.lab.group)
            try await client.send("GET /static/hello.txt HTTP/1.1\r\nHost: www.foobar.com\r\n\r\n")
            try await waitUntil(timeout: 30, "lb-01 to close the idle keep-alive connection") { client.isClosed }
            #expect(client.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(client.text.components(separatedBy: "HTTP/1.1").count == 2, "one answer, then a silent close:\n\(client.text)")
        }
    }

    @Test func aConnectionPastTheFrontendsMaxconnWaitsInTheAcceptQueueUntilOneCloses() async throws {
        try await PatchedLab.run(["lb-01/haproxy.cfg": [("    bind 127.0.1.1:8080\n", "    bind 127.0.1.1:8080\n    maxconn 2\n")]]) { lab in
            let balancer = try #require(lab.lab.balancers.first)
            let first = try await RawClient.connect(lab.address("lb-01", 8080), group: lab.lab.group)
            let second = try await RawClient.connect(lab.address("lb-01", 8080), group: lab.lab.group)
            try await waitUntil("lb-01 to hold two connections and stop accepting") {
                balancer.connections(frontend: "www") == 2 && balancer.runtime.listeners.contains { $0.port == lab.address("lb-01", 8080).port && $0.isPaused }
            }
            // The kernel completes the third connection (HAProxy's listen backlog), but HAProxy does not accept it.
            let third = try await RawClient.connect(lab.address("lb-01", 8080), group: lab.lab.group)
            try await third.send("GET /static/hello.txt HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n")
            #expect(balancer.connections(frontend: "www") == 2)
            #expect(third.text.isEmpty)
            await first.close()
            try await waitUntil(timeout: 30, "the waiting connection to be served once one closes") { third.text.hasPrefix("HTTP/1.1 200 OK") }
            await second.close()
            await third.close()
        }
    }

    @Test func nginxAnswers413PastClientMaxBodySize() async throws {
        try await PatchedLab.run(["web-01/nginx.conf": [("    access_log logs/access.log combined;\n",
                                                                       "    access_log logs/access.log combined;\n    client_max_body_size 1k;\n")]]) { lab in
            let client = try await RawClient.connect(lab.address("web-01", 8080), group: lab.lab.group)
            try await client.send("POST /api/posts HTTP/1.1\r\nHost: www.foobar.com\r\nContent-Length: 2000\r\n\r\n")
            try await waitUntil("nginx to answer 413") { client.text.contains("</html>\r\n") }
            #expect(client.text.hasPrefix("HTTP/1.1 413 Request Entity Too Large\r\nServer: nginx/1.22.1\r\n"))
            #expect(client.text.contains("\r\n\r\n" + NginxErrorPage.body(413)))
            try await waitUntil("the error-log line") {
                lab.log("web-01", .nginx).contains { $0.contains("[error]") && $0.contains("client intended to send too large body: 2000 bytes, client: 127.0.0.1, server: www.foobar.com, request: \"POST /api/posts HTTP/1.1\", host: \"www.foobar.com\"") }
            }
            await client.close()
            // Within the limit, the same request reaches the app.
            let small = try await RawClient.connect(lab.address("web-01", 8080), group: lab.lab.group)
            let form = "author=a&body=limits"
            try await small.send("POST /api/posts HTTP/1.1\r\nHost: www.foobar.com\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: \(form.utf8.count)\r\nConnection: close\r\n\r\n\(form)")
            try await waitUntil("the small post to be answered") { small.isClosed }
            #expect(!small.text.contains(" 413 "))
        }
    }

    @Test func nginxClosesASlowHeadWithoutAWordAndLogsIt() async throws {
        try await PatchedLab.run(["web-01/nginx.conf": [
            ("error_log logs/error.log;", "error_log logs/error.log info;"),
            ("    access_log logs/access.log combined;\n", "    access_log logs/access.log combined;\n    client_header_timeout 3s;\n"),
        ]]) { lab in
            let client = try await RawClient.connect(lab.address("web-01", 8080), group: lab.lab.group, first: "GET / HT")
            try await waitUntil(timeout: 30, "nginx to close the slow connection") { client.isClosed }
            #expect(client.text.isEmpty, "nginx sends nothing for a 408: \(client.text)")
            try await waitUntil("nginx's info line") {
                lab.log("web-01", .nginx).contains { $0.contains("[info]") && $0.contains("client timed out (110: Connection timed out) while reading client request line, client: 127.0.0.1, server: www.foobar.com, request: \"GET / HT\"") }
            }
        }
    }

    @Test func gunicornAnswers400PastLimitRequestLine() async throws {
        try await PatchedLab.run(["web-01/gunicorn.conf.py": [("timeout = 30\n", "timeout = 30\nlimit_request_line = 100\n")]]) { lab in
            let client = try await RawClient.connect(lab.address("web-01", 8000), group: lab.lab.group)
            try await client.send("GET /\(String(repeating: "a", count: 100)) HTTP/1.1\r\nHost: x\r\n\r\n")
            try await waitUntil("gunicorn to answer") { client.isClosed }
            let page = "<html>\n  <head>\n    <title>Bad Request</title>\n  </head>\n  <body>\n    <h1><p>Bad Request</p></h1>\n"
                + "    Request Line is too large (114 &gt; 100)\n  </body>\n</html>\n"
            #expect(client.text == "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: \(page.utf8.count)\r\n\r\n\(page)")
            #expect(lab.log("web-01", .gunicorn).contains { $0.contains("[WARNING] Invalid request from ip=127.0.0.1: Request Line is too large (114 > 100)") })
        }
    }

    @Test func gunicornKillsTheWorkerThatASlowClientHolds() async throws {
        try await PatchedLab.run(["web-01/gunicorn.conf.py": [("timeout = 30\n", "timeout = 1\n")]]) { lab in
            let client = try await RawClient.connect(lab.address("web-01", 8000), group: lab.lab.group, first: "GET / HTTP/1.1\r\n")
            try await waitUntil(timeout: 30, "gunicorn to drop the slow client") { client.isClosed }
            #expect(client.text.isEmpty)
            #expect(lab.log("web-01", .gunicorn).contains { $0.contains("[CRITICAL] WORKER TIMEOUT (pid:") })
        }
    }

    @Test func nginxOutOfWorkerConnectionsClosesTheOldestIdleConnections() async throws {
        try await PatchedLab.run(["web-01/nginx.conf": [
            ("error_log logs/error.log;", "error_log logs/error.log warn;"),
            ("worker_connections 1024;", "worker_connections 8;"),
        ]]) { lab in
            var clients: [RawClient] = []
            for _ in 0..<10 { clients.append(try await RawClient.connect(lab.address("web-01", 8080), group: lab.lab.group)) }
            try await waitUntil("nginx to close its oldest idle connections") { clients.first?.isClosed == true }
            #expect(clients.last?.isClosed == false)
            #expect(lab.log("web-01", .nginx).contains { $0.contains("[warn]") && $0.hasSuffix(": 8 worker_connections are not enough, reusing connections") })
            // The newest connection is served.
            let last = try #require(clients.last)
            try await last.send("GET /static/hello.txt HTTP/1.1\r\nHost: www.foobar.com\r\n\r\n")
            try await waitUntil("the newest connection to be served") { last.text.hasPrefix("HTTP/1.1 200 OK") }
            for client in clients { await client.close() }
        }
    }

    /// The issue's flood: before the limits, about 1,000 idle connections to lb-01 used up a 1,024 descriptor limit
    /// and took every server down at once.
    @Test func fifteenHundredIdleConnectionsToTheBalancerLeaveNginxAndMySQLAnswering() async throws {
        let limits = OpenFileLimit.raiseToHardLimit()
        try #require(limits.soft >= 4096, "this test needs an open-file limit of 4096 or more (ulimit -Hn is \(limits.hard))")
        try await PatchedLab.run { lab in
            let before = ProcessMetricsProbe.now()
            var idle: [RawClient] = []
            for _ in 0..<1500 { idle.append(try await RawClient.connect(lab.address("lb-01", 8080), group: lab.lab.group)) }
            let balancer = try #require(lab.lab.balancers.first)
            try await waitUntil("lb-01 to hold the 1,500 connections") { balancer.connections(frontend: "www") >= 1500 }
            let during = ProcessMetricsProbe.now()
            print("1,500 idle connections to lb-01: descriptors \(before.descriptors) → \(during.descriptors), resident memory "
                  + "\(before.residentMB) → \(during.residentMB) MB")
            // web-01's nginx, directly.
            let web = try await RawClient.connect(lab.address("web-01", 8080), group: lab.lab.group)
            try await web.send("GET /static/hello.txt HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n")
            try await waitUntil("web-01's nginx to answer") { web.text.hasPrefix("HTTP/1.1 200 OK") }
            // web-01's MySQL greets a client (the protocol's first packet: version 10, then the server version).
            let mysql = try await RawClient.connect(lab.address("web-01", 3306), group: lab.lab.group)
            try await waitUntil("web-01's MySQL to greet") { mysql.bytes.count > 5 && mysql.bytes[4] == 10 }
            await mysql.close()
            // lb-01 still serves a new client, and still sees both web servers UP.
            let site = try await RawClient.connect(lab.address("lb-01", 8080), group: lab.lab.group)
            try await site.send("GET / HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n")
            try await waitUntil("lb-01 to answer the 1,501st") { site.text.hasPrefix("HTTP/1.1 200 OK") }
            #expect(balancer.serverStatuses.allSatisfy { $0.status == "UP" })
            for client in idle { await client.close() }
        }
    }
}

/// The test process's descriptors and resident memory (Linux /proc), for the numbers a flood test prints.
enum ProcessMetricsProbe {
    static func now() -> (descriptors: Int, residentMB: Int) {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        return (descriptors, rss / 1024)
    }
}
