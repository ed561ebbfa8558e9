import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

/// Random and mutated HTTP requests at lb-01, web-01's nginx and web-01's gunicorn: odd methods and URIs, header
/// counts and sizes at the edges, Content-Length and chunk sizes at the edges, pipelining, half-closes. After the
/// cases every process is still running, the attacked one serves a good request directly, lb-01 serves the site,
/// and the connections the cases opened are all gone.
@Suite("HTTP fuzz: the hops stay up", .serialized, .runsALab)
struct HTTPFuzzTests {
    @Test(arguments: [
        ("lb-01", 8080, UInt64(0x11B_0001)),
        ("web-01", 8080, UInt64(0x11B_0002)),
        ("web-01", 8000, UInt64(0x11B_0003)),
    ])
    func randomAndMutatedRequests(server: String, port: Int, seed: UInt64) async throws {
        let lab = try await FuzzLab.start()
        let target = lab.address(server, port: port)
        let budget = FuzzBudget("http \(server):\(port)", seed: seed, seconds: 4)
        var random = budget.generator()
        var cases = 0
        while budget.more(after: cases) {
            // A batch at once: a case that never finishes its request waits for its own short timeout, not the others'.
            let batch = (0..<16).map { _ in HTTPFuzzCase.make(&random) }
            await withTaskGroup(of: Void.self) { group in
                for item in batch {
                    group.addTask {
                        _ = try? await RawExchange.send(item.bytes, to: target.host, port: target.port, group: lab.lab.group,
                                                        timeout: .milliseconds(400), halfClose: item.halfClose)
                    }
                }
            }
            cases += batch.count
        }
        print(budget.summary(cases: cases))
        let process = try #require(lab.lab.processes.first { $0.serverName == server && $0.runtime.listeners.contains { $0.port == target.port } })
        #expect(lab.lab.processes.allSatisfy { $0.state == .running }, "every process still runs (seed \(budget.seed))")
        let direct = port == 8000 ? "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /static/hello.txt HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n"
        let reply = try await RawExchange.send(Array(direct.utf8), to: target.host, port: target.port, group: lab.lab.group)
        #expect(reply.starts(with: Array("HTTP/1.1 200".utf8)), "\(process.name) answers a good request (seed \(budget.seed))")
        #expect(try await lab.answersAGoodRequest(), "lb-01 serves the site (seed \(budget.seed))")
        // No connection outlives its client: the process holds none of the cases' connections.
        try await waitUntil(timeout: 30, "\(process.name) to close the cases' connections") { process.runtime.openConnections <= 2 }
        await lab.stop()
    }
}

/// One fuzz case: bytes to send, and whether to close our side after them.
struct HTTPFuzzCase: Sendable {
    var bytes: [UInt8]
    var halfClose: Bool

    static let methods = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "PRI", "get", "G\tET", "",
                          String(repeating: "M", count: 300), "GET GET"]
    static let versions = ["HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/9.9", "HTTP/1.10", "http/1.1", "HTTP/1", "", "HTTP/1.1 extra"]
    static let uriPieces = ["/", "/static/hello.txt", "/api/posts", "/health", "/login", "{", "}", "|", "^", "\\", "\"", "<", ">", "`", "#",
                            "%", "%zz", "%00", "%2e%2e/", "../", "//", "?", "?a=1&b=2", "*", "http://www.foobar.com/", "\u{7F}", " "]
    static let headerNames = ["Host", "Content-Length", "Transfer-Encoding", "Connection", "Expect", "Cookie", "X-Forwarded-For", "Upgrade",
                              "traceparent", "Content-Type", ":authority", "", "Bad Name", "X-\u{0}"]

    static func make(_ random: inout SplitMix64) -> HTTPFuzzCase {
        let kind = Int.random(in: 0..<10, using: &random)
        var bytes: [UInt8]
        switch kind {
        case 0...4: bytes = request(&random)
        case 5...7: bytes = mutate(request(&random), &random)
        case 8: bytes = (0..<Int.random(in: 1...4, using: &random)).flatMap { _ in request(&random) }   // pipelined
        default: bytes = random.oddBytes()
        }
        return HTTPFuzzCase(bytes: bytes, halfClose: Bool.random(using: &random))
    }

    /// A request that is well formed more often than not, with its parts at the edges.
    static func request(_ random: inout SplitMix64) -> [UInt8] {
        let method = Int.random(in: 0..<4, using: &random) == 0 ? methods.randomElement(using: &random) ?? "GET" : "GET"
        var uri = ""
        for _ in 0..<Int.random(in: 1...6, using: &random) { uri += uriPieces.randomElement(using: &random) ?? "/" }
        if Int.random(in: 0..<12, using: &random) == 0 { uri += String(repeating: "a", count: [4_000, 8_200, 16_000, 70_000].randomElement(using: &random) ?? 10) }
        let version = Int.random(in: 0..<6, using: &random) == 0 ? versions.randomElement(using: &random) ?? "HTTP/1.1" : "HTTP/1.1"
        var head = Array("\(method) \(uri) \(version)\r\n".utf8)
        head += Array("Host: www.foobar.com\r\n".utf8)
        let headerCount = [0, 1, 3, 99, 100, 101, 200].randomElement(using: &random) ?? 1
        for index in 0..<(Int.random(in: 0..<3, using: &random) == 0 ? headerCount : Int.random(in: 0...3, using: &random)) {
            let name = Int.random(in: 0..<5, using: &random) == 0 ? headerNames.randomElement(using: &random) ?? "X" : "X-Fuzz-\(index)"
            var value: [UInt8] = Array("v".utf8)
            switch Int.random(in: 0..<8, using: &random) {
            case 0: value = Array(String(repeating: "b", count: [1_000, 8_190, 8_200, 16_000].randomElement(using: &random) ?? 10).utf8)
            case 1: value = random.oddBytes()
            case 2: value = Array(random.edgeNumber().utf8)
            default: break
            }
            head += Array("\(name): ".utf8) + value.filter { $0 != UInt8(ascii: "\n") } + Array("\r\n".utf8)
        }
        var body: [UInt8] = []
        switch Int.random(in: 0..<6, using: &random) {
        case 0:
            // A Content-Length at the edges, with a body that may be shorter or longer than it says.
            head += Array("Content-Length: \(random.edgeNumber())\r\n".utf8)
            body = Array(repeating: UInt8(ascii: "x"), count: Int.random(in: 0...2_000, using: &random))
        case 1:
            head += Array("Transfer-Encoding: chunked\r\n".utf8)
            let sizes = ["0", "1", "a", "ffffffffffffffffff", "-1", "7fffffffffffffff", "1;ext=1", "zz", "100000"]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let size = sizes.randomElement(using: &random) ?? "1"
                body += Array("\(size)\r\n".utf8) + Array(repeating: UInt8(ascii: "c"), count: Int.random(in: 0...20, using: &random)) + Array("\r\n".utf8)
            }
            if Bool.random(using: &random) { body += Array("0\r\n\r\n".utf8) }
        case 2:
            head += Array("Content-Length: 5\r\nContent-Length: 6\r\n".utf8)
            body = Array("hello!".utf8)
        default: break
        }
        return head + Array("\r\n".utf8) + body
    }

    /// Flips, drops and inserts bytes (odd ones among them).
    static func mutate(_ input: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes[at] ^= UInt8.random(in: 1...255, using: &random)
            case 1: bytes.remove(at: at)
            case 2: bytes.insert(contentsOf: random.oddBytes().prefix(64), at: at)
            default: bytes.insert(contentsOf: Array("\r\n".utf8), at: at)
            }
        }
        return bytes
    }
}
