import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("Security: the wire tap", .runsALab)
struct SecurityTapTests {
    func startBuiltLab() async throws -> (Lab, String) {
        let folder = makeLabFolder("tap")
        let lab = try await Lab.start(TestLabBuilder().definition(directory: folder), options: LabOptions(portOffset: SecurityPorts.offset()))
        try await waitUntil("lb-01 sees every server UP") { lab.balancers[0].serverStatuses.allSatisfy { $0.status == "UP" } }
        return (lab, folder)
    }

    @Test func aLoginOverPlainHTTPShowsThePasswordInTheTap() async throws {
        let (lab, folder) = try await startBuiltLab()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tap = try lab.tap("internet>lb-01")
        let recorder = TapRecorder(tap)
        let response = try await lab.get("/login", method: "POST", body: "username=alice&password=wonderland",
                                         headers: [("Content-Type", "application/x-www-form-urlencoded")])
        try await recorder.wait(for: "the login form and its answer in the tap") { messages in
            messages.contains { $0.toServer && $0.text.contains("password=wonderland") }
                && messages.contains { !$0.toServer && $0.text.contains("HTTP/1.1 200 OK") }
        }
        tap.stop()
        await lab.shutdown()

        #expect(response.status == 200)
        let request = try #require(recorder.messages.first { $0.toServer && $0.text.contains("POST /login HTTP/1.1") })
        #expect(request.kind == .text)
        #expect(request.client.hasPrefix("internet 127.0.0.1:"))
        #expect(request.server == "lb-01/haproxy 127.0.1.1:\(lab.network.port(8080))")
        #expect(request.description.contains("→ lb-01/haproxy"))
        #expect(recorder.messages.allSatisfy { $0.kind == .text })
    }

    @Test func aTapJoinsKeptAliveConnectionsBetweenServers() async throws {
        let (lab, folder) = try await startBuiltLab()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Open lb-01's kept-alive connections to both web servers before the tap starts.
        for _ in 0..<4 { _ = try await lab.get("/static/hello.txt") }
        let tap = try lab.tap("lb-01>web-01")
        let recorder = TapRecorder(tap)
        for _ in 0..<4 { _ = try await lab.get("/static/hello.txt?after-tap") }
        try await recorder.wait(for: "lb-01's request to web-01 in the tap") { messages in
            messages.contains { $0.toServer && $0.text.contains("GET /static/hello.txt?after-tap HTTP/1.1") }
        }
        tap.stop()
        await lab.shutdown()
        let request = try #require(recorder.messages.first { $0.toServer && $0.text.contains("after-tap") })
        #expect(request.client.hasPrefix("lb-01 127.0.1.1:"))
        #expect(request.server.hasPrefix("web-01/nginx 127.0.1.11:"))
        #expect(request.text.contains("x-forwarded-for: 127.0.0.1"), "\(request.text)")
        // Only connections from lb-01 to web-01: nothing between nginx and gunicorn on web-01.
        #expect(recorder.messages.allSatisfy { $0.server.hasPrefix("web-01/nginx") })
    }

    @Test func aTapOnTheDatabaseShowsSQLQueries() async throws {
        let running = try await RunningLab.start("foobar")
        let tap = try running.lab.tap("web-01/mysql")
        let recorder = TapRecorder(tap)
        for n in 0..<2 {
            let response = try await running.lab.get("/api/posts", method: "POST", body: "author=ann&body=tapped-\(n)",
                                                     headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(response.status < 300, "POST /api/posts answered \(response.status): \(response.body)")
        }
        try await recorder.wait(for: "an INSERT in COM_QUERY on web-01/mysql") { messages in
            messages.contains { $0.kind == .mysql && $0.toServer && $0.text.contains("COM_QUERY") && $0.text.contains("INSERT") }
        }
        tap.stop()
        await running.cleanup()
        let insert = try #require(recorder.messages.first { $0.text.contains("INSERT") && $0.text.contains("COM_QUERY") })
        #expect(insert.text.contains("tapped-"))
        #expect(insert.server.hasPrefix("web-01/mysql 127.0.1.11:"))
    }

    @Test func wireDecoderReadsTLSRecordsAcrossReadsAndHexDumpsBinary() {
        var decoder = WireDecoder(isMySQL: false, toServer: true)
        // A ClientHello record header (5 bytes) and the start of its body, then the rest split over two reads.
        let first: [UInt8] = [22, 3, 1, 0, 8, 1, 0, 0, 4]
        let (kind, lines) = decoder.decode(first)
        #expect(kind == .tls)
        // The record version is not the TLS version (RFC 8446 §5.1): it is named as the legacy field it is, once.
        #expect(lines == ["TLS record: handshake (ClientHello), length 8, record version 0x0301",
                          "(record version: a legacy field. TLS 1.3 fixes it at 0x0303, or 0x0301",
                          " in a first ClientHello; the ServerHello tells the TLS version in use)"])
        #expect(!lines.contains { $0.contains("TLS 1.0") })
        #expect(decoder.decode([3, 3, 0, 0]).1.isEmpty)
        let (_, more) = decoder.decode([23, 3, 3, 0, 2, 0xAB, 0xCD, 21, 3, 3])
        #expect(more == ["TLS record: application_data (encrypted), length 2, record version 0x0303"])
        var binary = WireDecoder(isMySQL: false, toServer: false)
        let (binaryKind, dump) = binary.decode([0, 1, 2, 0x41, 0x42] + Array(repeating: UInt8(0xFF), count: 20))
        #expect(binaryKind == .binary)
        #expect(dump.first == "0000  00 01 02 41 42 ff ff ff  ff ff ff ff ff ff ff ff |...AB...........|")
    }

    @Test func theServerHelloSaysWhichTLSVersionWasAgreed() {
        // A TLS 1.3 ServerHello (record version 0x0303, legacy_version 0x0303) with supported_versions = 0x0304,
        // split over two reads.
        var hello: [UInt8] = [2, 0, 0, 46, 3, 3] + Array(repeating: 0x11, count: 32) + [0]   // no session id
        hello += [0x13, 0x01, 0]                                                              // TLS_AES_128_GCM_SHA256
        hello += [0, 6, 0, 43, 0, 2, 3, 4]                                                   // supported_versions: 0x0304
        let record: [UInt8] = [22, 3, 3, 0, UInt8(hello.count)] + hello
        var decoder = WireDecoder(isMySQL: false, toServer: false)
        let first = decoder.decode(record.prefix(20)).1
        #expect(first.first == "TLS record: handshake (ServerHello), length \(hello.count), record version 0x0303")
        let rest = decoder.decode(record.dropFirst(20)).1
        #expect(rest == ["ServerHello: TLS 1.3 agreed (its supported_versions extension: 0x0304)"])
        // TLS 1.2: no supported_versions, the version field decides.
        var old: [UInt8] = [2, 0, 0, 38, 3, 3] + Array(repeating: 0x22, count: 32) + [0, 0xC0, 0x2F, 0]
        old += [0, 0]
        var decoder12 = WireDecoder(isMySQL: false, toServer: false)
        let lines12 = decoder12.decode([22, 3, 3, 0, UInt8(old.count)] + old).1
        #expect(lines12.last == "ServerHello: TLS 1.2 agreed (its version field; no supported_versions)")
    }

    /// The replication stream from the source: each packet is 0x00 and a binlog event, named as mysqlbinlog names it
    /// (not an OK packet); a real OK packet stays OK.
    @Test func binlogEventsInTheReplicationStreamAreNamed() {
        let body = Array("INSERT INTO posts VALUES (1)".utf8)
        let size = 19 + body.count
        func le(_ value: Int) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24 & 0xff)] }
        let event: [UInt8] = le(1_700_000_000) + [2] + le(1) + le(size) + le(523) + [0, 0] + body
        let payload = [0] + event
        let packet = [UInt8(payload.count), 0, 0, 3] + payload
        var decoder = WireDecoder(isMySQL: true, toServer: false)
        let lines = decoder.decode(packet).1
        #expect(lines.first?.hasPrefix("binlog QUERY_EVENT from server_id 1, ends at position 523: INSERT INTO posts") == true, "\(lines)")
        var ok = WireDecoder(isMySQL: true, toServer: false)
        #expect(ok.decode([7, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]).1 == ["OK"])
    }

    @Test func aStoppedTapLeavesTheConnectionsAndEndsItsStream() async throws {
        let (lab, folder) = try await startBuiltLab()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tap = try lab.tap("internet>lb-01")
        tap.stop()
        var count = 0
        for await _ in tap.messages { count += 1 }
        _ = try await lab.get("/")
        await lab.shutdown()
        #expect(count == 0)
        #expect(!lab.network.security.isWatching)
        #expect(throws: TargetError.self) { try lab.tap("internet>lb-99") }
    }
}
