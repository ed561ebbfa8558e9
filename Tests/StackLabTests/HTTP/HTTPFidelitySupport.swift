import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import StackLab
import StackLabTestSupport

/// One side of a side-by-side case: where lb-01 and web-01 answer, lb-01's log so far, and the port offset its
/// addresses use (a config's `127.0.9.5:8090` answers on 8090 + offset on both sides).
struct FidelitySide: Sendable {
    let name: String
    let offset: Int
    let lb: (host: String, port: Int)
    let web: (host: String, port: Int)
    let lbLog: @Sendable () -> [String]
    let group: EventLoopGroup
    var isReal: Bool { name != "stacklab" }
}

/// Runs a case against the miniature started from the built-in lab's files with `patches`, then — when haproxy and
/// nginx are installed — against the real HAProxy 2.6 and nginx 1.22 started from the same files on 127.0.9.x
/// (addresses moved, the port offset applied, nginx in the foreground, HAProxy's log lines to a file). A case that
/// fails for the real ones is a wrong case.
enum SideBySide {
    static func run(_ patches: [String: [(String, String)]] = [:], real: Bool = true,
                    _ body: (FidelitySide) async throws -> Void) async throws {
        try await PatchedLab.run(patches) { lab in
            let offset = lab.lab.network.port(0)
            let labRef = lab
            try await body(FidelitySide(name: "stacklab", offset: offset, lb: lab.address("lb-01", 8080), web: lab.address("web-01", 8080),
                                        lbLog: { labRef.log("lb-01", .haproxy) }, group: lab.lab.group))
        }
        guard real, let haproxy = RealTool.haproxy, let nginx = RealTool.nginx else { return }
        try await RealLabStack.run(patches, haproxy: haproxy, nginx: nginx, body)
    }
}

/// The lab's lb-01 and web-0N configs run by the real haproxy and nginx (no app servers: nothing behind nginx's
/// proxy_pass answers, so cases ask for static files or look at what comes before the app).
enum RealLabStack {
    static func run(_ patches: [String: [(String, String)]], haproxy: String, nginx: String,
                    _ body: (FidelitySide) async throws -> Void) async throws {
        let offset = TestPorts.offset()
        let folder = makeLabFolder("stacklab-real")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
        for (file, changes) in patches {
            let path = (folder as NSString).appendingPathComponent(file)
            var text = try String(contentsOfFile: path, encoding: .utf8)
            for (old, new) in changes { text = text.replacingOccurrences(of: old, with: new) }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        var started: [ChildProcess.Background] = []
        func stopAll() async { for process in started { await process.stop(SIGKILL) } }
        do {
            for web in ["web-01", "web-02"] {
                let dir = (folder as NSString).appendingPathComponent(web)
                try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
                let text = try String(contentsOfFile: dir + "/nginx.conf", encoding: .utf8)
                let conf = "daemon off;\nmaster_process off;\npid logs/nginx.pid;\n" + moved(text, offset: offset)
                try conf.write(toFile: dir + "/nginx-real.conf", atomically: true, encoding: .utf8)
                started.append(try ChildProcess.start(nginx, ["-p", dir + "/", "-c", "nginx-real.conf", "-e", "logs/error.log"], directory: dir))
            }
            let lb = (folder as NSString).appendingPathComponent("lb-01")
            let cfg = moved(try String(contentsOfFile: lb + "/haproxy.cfg", encoding: .utf8), offset: offset)
            try cfg.write(toFile: lb + "/haproxy-real.cfg", atomically: true, encoding: .utf8)
            let logFile = lb + "/haproxy-real.log"
            started.append(try ChildProcess.start(haproxy, ["-db", "-f", "haproxy-real.cfg"], directory: lb, output: logFile))
            let group = MultiThreadedEventLoopGroup.singleton
            let side = FidelitySide(name: "real", offset: offset, lb: ("127.0.9.1", 8080 + offset), web: ("127.0.9.11", 8080 + offset),
                                    lbLog: {
                                        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
                                        return text.split(separator: "\n").map(String.init)
                                    }, group: group)
            for address in [side.lb, side.web, ("127.0.9.12", 8080 + offset)] {
                try await waitUntil(timeout: 30, "the real server on \(address.0):\(address.1)") {
                    let client = try await RawClient.connect(address, group: group)
                    await client.close()
                    return true
                }
            }
            try await body(side)
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }

    /// `127.0.1.11:8080` → `127.0.9.11:(8080 + offset)`, and every other `a.b.c.d:port` moved by the offset too.
    static func moved(_ text: String, offset: Int) -> String {
        let pattern = try! NSRegularExpression(pattern: #"127\.0\.(\d+)\.(\d+):(\d+)"#)
        var result = ""
        var last = text.startIndex
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let whole = Range(match.range, in: text), let third = Range(match.range(at: 1), in: text),
                  let fourth = Range(match.range(at: 2), in: text), let port = Range(match.range(at: 3), in: text) else { continue }
            result += text[last..<whole.lowerBound]
            let network = text[third] == "1" ? "9" : String(text[third])
            result += "127.0.\(network).\(text[fourth]):\((Int(text[port]) ?? 0) + offset)"
            last = whole.upperBound
        }
        return result + text[last...]
    }
}

/// A raw HTTP server a test puts where a web server was: it counts the requests it reads (by their first line) and
/// answers each with a small 200, or — `swallow` — reads it and closes without a word (a server that dies).
/// `dieAfterFirst`: the first request gets a kept-alive 200, every later one is held that long and then its
/// connection closes without an answer (a server that dies while working on a request). `heads` keeps each
/// request's head lines as they came on the wire.
final class RawHTTPServer: Sendable {
    let channel: Channel
    private let seen: NIOLockedValueBox<[String]>
    private let seenHeads: NIOLockedValueBox<[[String]]>

    var requests: [String] { seen.withLockedValue { $0 } }
    var heads: [[String]] { seenHeads.withLockedValue { $0 } }

    private init(channel: Channel, seen: NIOLockedValueBox<[String]>, heads: NIOLockedValueBox<[[String]]>) {
        self.channel = channel
        self.seen = seen
        self.seenHeads = heads
    }

    static func start(host: String, port: Int, swallow: Bool, dieAfterFirst: TimeAmount? = nil,
                      group: EventLoopGroup) async throws -> RawHTTPServer {
        let seen = NIOLockedValueBox<[String]>([])
        let heads = NIOLockedValueBox<[[String]]>([])
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawHTTPServerHandler(swallow: swallow, dieAfterFirst: dieAfterFirst,
                                                                                        seen: seen, heads: heads))
                }
            }
            .bind(host: host, port: port).get()
        return RawHTTPServer(channel: channel, seen: seen, heads: heads)
    }

    func stop() async { try? await channel.close() }

    static func with(host: String, port: Int, swallow: Bool, dieAfterFirst: TimeAmount? = nil, group: EventLoopGroup,
                     _ body: (RawHTTPServer) async throws -> Void) async throws {
        let server = try await start(host: host, port: port, swallow: swallow, dieAfterFirst: dieAfterFirst, group: group)
        do { try await body(server) } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}

private final class RawHTTPServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let swallow: Bool
    let dieAfterFirst: TimeAmount?
    let seen: NIOLockedValueBox<[String]>
    let heads: NIOLockedValueBox<[[String]]>
    private var pending = ""

    init(swallow: Bool, dieAfterFirst: TimeAmount?, seen: NIOLockedValueBox<[String]>, heads: NIOLockedValueBox<[[String]]>) {
        self.swallow = swallow
        self.dieAfterFirst = dieAfterFirst
        self.seen = seen
        self.heads = heads
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += String(buffer: unwrapInboundIn(data))
        guard let end = pending.range(of: "\r\n\r\n") else { return }
        let head = pending[..<end.lowerBound]
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        guard pending[end.upperBound...].utf8.count >= length else { return }
        let line = String(head.split(separator: "\r\n").first ?? "")
        heads.withLockedValue { $0.append(head.components(separatedBy: "\r\n")) }
        let count = seen.withLockedValue { seen -> Int in
            seen.append(line)
            return seen.count
        }
        pending = ""
        if let hold = dieAfterFirst {
            guard count > 1 else {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")),
                                      promise: nil)
                return
            }
            let channel = context.channel
            channel.eventLoop.scheduleTask(in: hold) { channel.close(promise: nil) }
            return
        }
        if swallow {
            context.close(promise: nil)
            return
        }
        let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Served-By: raw\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer))).whenComplete { _ in context.close(promise: nil) }
    }
}

/// The response head's lines (status line first), without the body.
func headLines(_ response: String) -> [String] {
    let head = response.components(separatedBy: "\r\n\r\n").first ?? ""
    return head.components(separatedBy: "\r\n")
}

/// The header names of a response head, as spelled on the wire.
func headerNames(_ response: String) -> [String] {
    headLines(response).dropFirst().map { String($0.prefix { $0 != ":" }) }
}

/// A header's value in a response head, by case-insensitive name.
func headerValue(_ response: String, _ name: String) -> String? {
    headLines(response).dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
        .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
}
