import Foundation
import NIOCore
import NIOEmbedded
import Testing
@testable import StackLabStore

/// max_connections, max_allowed_packet, connect_timeout and wait_timeout on EmbeddedChannel: bytes in, packets out,
/// time moved by hand.
@Suite("Connection limits on EmbeddedChannel")
struct ConnectionLimitTests {
    static func limited(_ configure: @escaping (inout StoreSettings) -> Void) async throws -> MySQLStore {
        try await startedStore { s in
            s.users.append(StoreUser(name: "admin", host: "%", password: "admin"))
            configure(&s)
        }
    }

    @Test func pastMaxConnectionsPlusOneTheGreetingIsError1040WithoutSQLState() async throws {
        let store = try await Self.limited { $0.maxConnections = 2 }
        let clients = try (0..<3).map { _ in try EmbeddedClient(store: store) }
        for c in clients { #expect(try c.readGreeting()?.first == 0x0A) }  // greeted: protocol 10
        let refused = try EmbeddedClient(store: store)
        let answer = try refused.packets()
        #expect(answer.count == 1 && answer.first?.sequenceID == 0)
        #expect(answer.first.map { Array($0.payload.readableBytesView) } == [0xFF, 0x10, 0x04] + Array("Too many connections".utf8))
        #expect(!refused.channel.isActive)
        // The last slot is kept for an account with SUPER: others hear 1040 (08004) after logging in.
        let extra = clients[2]
        let app = try extra.loginAfterGreeting(user: "app", password: "app")
        #expect(app.first?.errorMessage == "ERROR 1040 (08004): Too many connections")
        #expect(!extra.channel.isActive)
        extra.channel.embeddedEventLoop.run()  // the close callbacks: the slot is free again
        let root = try EmbeddedClient(store: store)
        let rootGreeting = try root.readGreeting()
        #expect(rootGreeting?.first == 0x0A, "\(rootGreeting?.errorMessage ?? "") \(store.connectionCount)")
        #expect(try root.loginAfterGreeting(user: "root", password: "").map(\.first) == [0x00])
        // Slots that close are free again (root holds one now).
        for c in clients.prefix(2) {
            try? await c.channel.close().get()
            c.channel.embeddedEventLoop.run()
        }
        let next = try EmbeddedClient(store: store)
        #expect(try next.readGreeting()?.first == 0x0A)
        #expect(try next.loginAfterGreeting(user: "app", password: "app").map(\.first) == [0x00])
        let status = try await store.execute("SHOW GLOBAL STATUS LIKE 'Connection_errors_max_connections'")
        #expect(status.rows == [["Connection_errors_max_connections", "1"]])
        await store.stop()
    }

    @Test func aPacketOverMaxAllowedPacketIs1153AndTheConnectionCloses() async throws {
        let store = try await Self.limited { $0.maxAllowedPacket = 4096 }
        let client = try EmbeddedClient(store: store)
        #expect(try client.login(user: "app", password: "app").map(\.first) == [0x00])
        #expect(try client.query("SELECT '\(String(repeating: "x", count: 3000))'").first?.first == 0x01)
        let answer = try client.query("SELECT '\(String(repeating: "x", count: 5000))'")
        #expect(answer.first?.errorMessage == "ERROR 1153 (08S01): Got a packet bigger than 'max_allowed_packet' bytes")
        #expect(!client.channel.isActive)
        await store.stop()
    }

    /// The issue's attack: a multi-packet handshake of tens of megabytes, held by a client that never logs in. The
    /// frame header alone is refused: nothing of the body is kept.
    @Test func beforeLoginABigHandshakeIsRefusedFromItsFirstFrameHeader() async throws {
        let store = try await Self.limited { _ in }
        let client = try EmbeddedClient(store: store)
        _ = try client.packets()
        var header = ByteBuffer()
        header.writeBytes([0xFF, 0xFF, 0xFF, 0x01, 0x85, 0xA6])  // a 16 MB frame announced, six bytes sent
        try client.channel.writeInbound(header)
        let answer = try client.packets()
        #expect(answer.first?.errorMessage == "ERROR 1043 (08S01): Bad handshake")
        #expect(answer.first?.sequenceID == 2)
        #expect(!client.channel.isActive)
        // Over max_allowed_packet itself, the answer is 1153, as before the login on a real server.
        let small = try await Self.limited { $0.maxAllowedPacket = 65_536 }
        let other = try EmbeddedClient(store: small)
        _ = try other.packets()
        var big = ByteBuffer()
        big.writeBytes([0x00, 0x00, 0x02, 0x01])  // 128 KB announced
        try other.channel.writeInbound(big)
        #expect(try other.packets().first?.errorMessage == "ERROR 1153 (08S01): Got a packet bigger than 'max_allowed_packet' bytes")
        // A handshake of normal size still logs in.
        let fine = try EmbeddedClient(store: store)
        #expect(try fine.login(user: "app", password: "app").map(\.first) == [0x00])
        await store.stop()
        await small.stop()
    }

    @Test func aClientThatDoesNotLogInIsDroppedAfterConnectTimeout() async throws {
        let lines = LogCollector()
        let store = try await startedStore(log: lines) { $0.connectTimeoutSeconds = 5 }
        let client = try EmbeddedClient(store: store)
        _ = try client.packets()
        client.channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_900))
        #expect(client.channel.isActive)
        client.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        // MySQL 8 says why (MariaDB 10.11 closes without a word).
        #expect(try client.packets().first?.errorMessage == "ERROR 1159 (08S01): Got timeout reading communication packets")
        #expect(!client.channel.isActive)
        #expect(lines.all.contains { $0.contains("[Note] [MY-010914] [Server] Aborted connection") && $0.hasSuffix("to db: 'unconnected' user: 'unauthenticated' host: '127.0.0.1' (Got timeout reading communication packets).") })
        // Logged in in time: the timer is gone.
        let quick = try EmbeddedClient(store: store)
        #expect(try quick.login(user: "app", password: "app").map(\.first) == [0x00])
        quick.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(quick.channel.isActive)
        await store.stop()
    }

    @Test func anIdleClientIsDisconnectedAfterWaitTimeoutWithError4031() async throws {
        let lines = LogCollector()
        let store = try await startedStore(log: lines) { _ in }
        let client = try EmbeddedClient(store: store)
        #expect(try client.login(user: "app", password: "app").map(\.first) == [0x00])
        #expect(try client.query("SELECT @@wait_timeout").count == 4)
        // A command restarts the count; SET SESSION wait_timeout shortens it.
        client.channel.embeddedEventLoop.advanceTime(by: .seconds(28_000))
        _ = try client.query("SET SESSION wait_timeout = 30")
        client.channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(client.channel.isActive)
        client.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        let farewell = try client.packets()
        #expect(farewell.first?.sequenceID == 0)
        #expect(farewell.first?.errorMessage == "ERROR 4031 (HY000): The client was disconnected by the server because of inactivity. See wait_timeout and interactive_timeout for configuring this behavior.")
        #expect(!client.channel.isActive)
        #expect(lines.all.contains { $0.contains("to db: 'unconnected' user: 'app' host: '127.0.0.1' (The client was disconnected by the server because of inactivity.") })
        // The default: 28800 seconds.
        let idle = try EmbeddedClient(store: store)
        _ = try idle.login(user: "app", password: "app")
        idle.channel.embeddedEventLoop.advanceTime(by: .seconds(28_799))
        #expect(idle.channel.isActive)
        idle.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!idle.channel.isActive)
        await store.stop()
    }

    /// A Swift error raised while one client is handled ends that connection with mysqld's note, never more.
    @Test func anErrorInOneConnectionClosesThatConnectionOnly() async throws {
        struct Broken: Error {}
        let lines = LogCollector()
        let store = try await startedStore(log: lines) { _ in }
        let victim = try EmbeddedClient(store: store)
        let bystander = try EmbeddedClient(store: store)
        _ = try victim.login(user: "app", password: "app")
        _ = try bystander.login(user: "app", password: "app")
        victim.channel.pipeline.fireErrorCaught(Broken())
        #expect(!victim.channel.isActive)
        #expect(lines.all.contains { $0.contains("[Note] [MY-010914] [Server] Aborted connection") && $0.contains("user: 'app' host: '127.0.0.1' (Got an error reading communication packets).") })
        #expect(try bystander.query("SELECT 1").count == 4)
        #expect(try await store.execute("SHOW GLOBAL STATUS LIKE 'Aborted_clients'").rows == [["Aborted_clients", "1"]])
        await store.stop()
    }

    /// While a command runs, nothing more is read from the client: a client cannot queue up work (or memory).
    @Test func nothingIsReadWhileACommandRuns() async throws {
        let store = try await Self.limited { _ in }
        let client = try EmbeddedClient(store: store)
        _ = try client.login(user: "app", password: "app")
        let reads = ReadCounter()
        try client.channel.pipeline.syncOperations.addHandler(reads, position: .first)
        client.channel.read()
        #expect(reads.count == 1)
        _ = try client.query("SELECT SLEEP(2)")
        client.channel.read()
        #expect(reads.count == 1)  // held back
        client.channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(try client.packets().count == 4)  // SLEEP's answer
        #expect(reads.count == 2)  // and the read that waited
        await store.stop()
    }

    @Test func theLimitsAreVariablesAsInMySQL() async throws {
        let store = try await Self.limited { _ in }
        let shown = try await store.execute("SHOW VARIABLES LIKE '%_timeout'").rows + (try await store.execute("SHOW VARIABLES LIKE 'max_%'").rows)
        #expect(shown.contains(["connect_timeout", "10"]) && shown.contains(["wait_timeout", "28800"]) && shown.contains(["interactive_timeout", "28800"]))
        #expect(shown.contains(["max_connections", "151"]) && shown.contains(["max_allowed_packet", "67108864"]))
        await expectError(store, "SET max_connections = 10", "ERROR 1229 (HY000): Variable 'max_connections' is a GLOBAL variable and should be set with SET GLOBAL")
        await expectError(store, "SET SESSION max_allowed_packet = 1024", "ERROR 1621 (HY000): SESSION variable 'max_allowed_packet' is read-only. Use SET GLOBAL to assign the value")
        let clamped = try await store.execute("SET GLOBAL max_connections = 0")
        #expect(clamped.warningList == [StoreWarning(level: "Warning", code: 1292, message: "Truncated incorrect max_connections value: '0'")])
        _ = try await store.execute("SET GLOBAL max_allowed_packet = 5000, GLOBAL connect_timeout = 3")
        #expect(try await store.execute("SELECT @@max_connections, @@max_allowed_packet, @@connect_timeout").rows == [["1", "4096", "3"]])
        await store.stop()
    }
}

/// Counts the reads that reach the front of the pipeline.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    private(set) var count = 0
    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}
