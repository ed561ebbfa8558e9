import Foundation
import NIOCore
import StackLabTestSupport
import Testing
@testable import StackLabStore

/// max_connections, connect_timeout, max_allowed_packet and wait_timeout over real sockets, against the miniature and
/// a real MariaDB 10.11 with the same settings. Where MySQL 8 (which the miniature follows) says more than MariaDB,
/// the test says so.
extension SideBySideWithRealMariaDB {
@Suite("Connection limits", .runsALab)
struct ConnectionLimits {
    static func greeted(_ s: RawSocket) -> Bool { s.firstPacket?.payload.first == 0x0A }

    /// Opens connections until one of them is greeted (a slot freed by a client that just left may take a moment).
    static func greetedConnection(_ port: Int) async throws -> RawSocket {
        var last: RawSocket?
        try await waitUntil("a greeting on port \(port)") {
            last?.close()
            let s = try await RawSocket.connect(port: port)
            last = s
            try await waitUntil(timeout: 10, "an answer") { s.firstPacket != nil || !s.isOpen }
            return greeted(s)
        }
        guard let last else { throw WaitTimeout(what: "a connection") }
        return last
    }

    @Test func pastMaxConnectionsTheBothAnswer1040() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        // MariaDB's smallest max_connections is 10. The connections below never log in: connect_timeout must not drop
        // them while a busy machine opens the rest.
        _ = try await real.sql("SET GLOBAL max_connections = 10; SET GLOBAL connect_timeout = 3600")
        let ours = try await TestServer.start {
            $0.maxConnections = 10
            $0.connectTimeoutSeconds = 3600
        }
        var open: [RawSocket] = []
        for port in [ours.port, real.port] {
            var sockets: [RawSocket] = []
            for _ in 0..<10 { sockets.append(try await Self.greetedConnection(port)) }
            // The eleventh is kept for SUPER: app, logged in there, hears 1040 with SQLSTATE 08004.
            let app = try await MariaDBClient.running(port: port, ["-e", "SELECT 1"])
            #expect(app.stderr.contains("ERROR 1040 (08004): Too many connections"), "port \(port): \(app.stderr)")
            sockets.append(try await Self.greetedConnection(port))
            // The twelfth is refused in place of the greeting, without SQLSTATE, and the server hangs up.
            let refused = try await RawSocket.connect(port: port)
            try await waitUntil("the refusal on port \(port)") { !refused.isOpen }
            #expect(refused.firstPacket?.sequence == 0)
            #expect(refused.firstPacket?.payload == [0xFF, 0x10, 0x04] + Array("Too many connections".utf8), "port \(port)")
            open += sockets + [refused]
        }
        for s in open { s.close() }
        _ = try await real.sql("SET GLOBAL max_connections = 151; SET GLOBAL connect_timeout = 10")
        await ours.stop()
    }

    @Test func aClientThatNeverLogsInIsDroppedAfterConnectTimeout() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        _ = try await real.sql("SET GLOBAL connect_timeout = 2")
        let ours = try await TestServer.start { $0.connectTimeoutSeconds = 2 }
        for port in [ours.port, real.port] {
            // Measured from before the connection: the server's clock starts later, so a busy machine can only make
            // the hang-up look later, never earlier.
            let connectingAt = Date()
            let s = try await RawSocket.connect(port: port)
            try await waitUntil("the greeting") { Self.greeted(s) }
            try await waitUntil(timeout: 60, "the hang-up on port \(port)") { !s.isOpen }
            // Never before connect_timeout.
            #expect(Date().timeIntervalSince(connectingAt) > 1.95, "port \(port)")
            if port == ours.port {
                // MySQL 8 says why before hanging up; MariaDB hangs up without a word.
                let farewell = s.packets.dropFirst().first
                #expect(farewell?.sequence == 1)
                #expect(farewell?.payload == [0xFF, 0x87, 0x04] + Array("#08S01Got timeout reading communication packets".utf8))
            }
        }
        #expect(ours.logLines.all.contains { $0.contains("user: 'unauthenticated' host: '127.0.0.1' (Got timeout reading communication packets).") })
        _ = try await real.sql("SET GLOBAL connect_timeout = 10")
        await ours.stop()
    }

    /// The packet is refused from its header: the test announces 2 MB and sends a few bytes.
    @Test func aPacketOverMaxAllowedPacketIs1153FromBothAndTheConnectionCloses() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        _ = try await real.sql("SET GLOBAL max_allowed_packet = 1048576")
        let ours = try await TestServer.start { $0.maxAllowedPacket = 1_048_576 }
        for port in [ours.port, real.port] {
            let conn = try await MySQLConnection.connect(host: "127.0.0.1", port: port, user: "app", password: "app", database: nil,
                                                         dial: StoreDialers.direct(group: testGroup))
            let header = ByteBuffer(bytes: [0x00, 0x00, 0x20, 0x00, 0x03] + Array("SELECT 1".utf8))
            // Raw bytes, past the packet encoder: a header announcing more than the test sends.
            try await conn.channel.eventLoop.submit {
                let encoder = try conn.channel.pipeline.syncOperations.context(handlerType: MessageToByteHandler<MySQLPacketEncoder>.self)
                encoder.writeAndFlush(NIOAny(header), promise: nil)
            }.get()
            let reply = try await conn.nextPacket(timeoutSeconds: 30)
            #expect(reply.sequenceID == 1, "port \(port)")
            #expect("\(MySQLConnection.decodeError(reply.payload))" == "ERROR 1153 (08S01): Got a packet bigger than 'max_allowed_packet' bytes", "port \(port)")
            try await waitUntil("the hang-up on port \(port)") { !conn.isActive }
        }
        // Before the login too (MariaDB and mysqld check max_allowed_packet from the first packet).
        for port in [ours.port, real.port] {
            let s = try await RawSocket.connect(port: port)
            try await waitUntil("the greeting") { Self.greeted(s) }
            s.send([0x00, 0x00, 0x20, 0x01, 0x85, 0xA6])
            try await waitUntil("the refusal on port \(port)") { !s.isOpen }
            #expect(s.packets.dropFirst().first?.payload == [0xFF, 0x81, 0x04] + Array("#08S01Got a packet bigger than 'max_allowed_packet' bytes".utf8), "port \(port)")
        }
        _ = try await real.sql("SET GLOBAL max_allowed_packet = 16777216")
        await ours.stop()
    }

    @Test func anIdleClientIsDisconnectedAfterWaitTimeout() async throws {
        guard let real = RealMariaDB.shared else { Issue.record("the real MariaDB did not start"); return }
        let ours = try await TestServer.start()
        for port in [ours.port, real.port] {
            let conn = try await MySQLConnection.connect(host: "127.0.0.1", port: port, user: "app", password: "app", database: nil,
                                                         dial: StoreDialers.direct(group: testGroup))
            _ = try await conn.query("SET SESSION wait_timeout = 2")
            let started = Date()
            let farewell = await outcome { try await conn.nextPacket(timeoutSeconds: 60) }
            #expect(Date().timeIntervalSince(started) > 1.5, "port \(port)")
            try await waitUntil("the hang-up on port \(port)") { !conn.isActive }
            if port == ours.port {
                // MySQL 8.0.24 and later send ER_CLIENT_INTERACTION_TIMEOUT first; MariaDB hangs up without a word.
                let packet = try farewell.get()
                #expect(packet.sequenceID == 0)
                #expect(MySQLConnection.decodeError(packet.payload).code == 4031)
            }
        }
        await ours.stop()
    }
}

}

func outcome<T>(_ body: () async throws -> T) async -> Result<T, Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}
