import Foundation
import NIOCore
import NIOEmbedded
import Testing
@testable import StackLabStore

/// Drives the server handlers on an EmbeddedChannel: bytes in, packets out, no sockets.
final class EmbeddedClient {
    let channel = EmbeddedChannel()
    var decoder = MySQLPacketDecoder()
    var pending = ByteBuffer()
    var scramble: [UInt8] = []

    init(store: MySQLStore, connectFirst: Bool = false) throws {
        if connectFirst { try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50000)).wait() }
        try store.configureConnection(channel, inline: true).wait()
        if !connectFirst { try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50000)).wait() }
    }

    func packets() throws -> [MySQLPacket] {
        while let b = try channel.readOutbound(as: ByteBuffer.self) {
            var b = b
            pending.writeBuffer(&b)
        }
        var out: [MySQLPacket] = []
        while let p = try decoder.nextPacket(from: &pending) { out.append(p) }
        return out
    }

    func send(_ seq: UInt8, _ bytes: [UInt8]) throws {
        var b = ByteBuffer()
        MySQLPacketEncoder.frame(MySQLPacket(sequenceID: seq, payload: ByteBuffer(bytes: bytes)), into: &b)
        try channel.writeInbound(b)
    }

    /// Reads the greeting and logs in; returns the server's answer.
    func login(user: String, password: String, deprecateEOF: Bool = true) throws -> [MySQLPacket] {
        guard try readGreeting()?.first == 0x0A else { return [] }
        return try loginAfterGreeting(user: user, password: password, deprecateEOF: deprecateEOF)
    }

    /// Reads the greeting and keeps its scramble, for a login later.
    func readGreeting() throws -> MySQLPacket? {
        let greeting = try packets().first
        guard var g = greeting?.payload, g.getInteger(at: g.readerIndex, as: UInt8.self) == 0x0A else { return greeting }
        _ = g.readInteger(as: UInt8.self)
        _ = g.readNullTerminatedString()
        _ = g.readInteger(as: UInt32.self)
        let part1 = g.readBytes(length: 8) ?? []
        g.moveReaderIndex(forwardBy: 1 + 2 + 1 + 2 + 2 + 1 + 10)
        scramble = part1 + (g.readBytes(length: 12) ?? [])
        return greeting
    }

    /// Logs in on a client whose greeting was already read (by `readGreeting()`).
    func loginAfterGreeting(user: String, password: String, deprecateEOF: Bool = true) throws -> [MySQLPacket] {
        var caps: Capabilities = [.protocol41, .secureConnection, .pluginAuth, .pluginAuthLenencData, .multiResults]
        if deprecateEOF { caps.insert(.deprecateEOF) }
        var r = ByteBuffer()
        r.writeInteger(caps.rawValue, endianness: .little)
        r.writeInteger(UInt32(1 << 24), endianness: .little)
        r.writeInteger(UInt8(255))
        r.writeBytes([UInt8](repeating: 0, count: 23))
        r.writeNullTerminatedString(user)
        let token = NativePassword.token(password: password, scramble: scramble)
        r.writeLengthEncodedInteger(UInt64(token.count))
        r.writeBytes(token)
        r.writeNullTerminatedString("mysql_native_password")
        try send(1, Array(r.readableBytesView))
        return try packets()
    }

    func query(_ sql: String) throws -> [MySQLPacket] {
        try send(0, [0x03] + Array(sql.utf8))
        return try packets()
    }
}

extension MySQLPacket {
    var first: UInt8? { payload.getInteger(at: payload.readerIndex, as: UInt8.self) }
    var errorCode: Int? {
        guard first == 0xFF else { return nil }
        return MySQLConnection.decodeError(payload).code
    }
    var errorMessage: String? { first == 0xFF ? MySQLConnection.decodeError(payload).description : nil }
}

/// A started store on no socket (for EmbeddedChannel and in-process tests); `log` collects its log lines.
func startedStore(log: LogCollector? = nil, _ configure: (inout StoreSettings) -> Void = { _ in }) async throws -> MySQLStore {
    var settings = StoreSettings(serverName: "web-01", serverID: 1, host: "127.0.0.1", port: 3306, dataDirectory: TestServer.temporaryDirectory("embedded"))
    settings.users = [StoreUser(name: "app", host: "%", password: "app")]
    settings.initStatements = ["CREATE DATABASE foobar", "CREATE TABLE foobar.posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64))", "GRANT ALL ON foobar.* TO 'app'@'%'"]
    configure(&settings)
    let store = MySQLStore(settings: settings, group: testGroup, dial: StoreDialers.direct(group: testGroup), log: { log?.append($0) })
    try await store.start()
    return store
}

@Suite("Command dispatch on EmbeddedChannel")
struct CommandDispatchTests {
    @Test func handshakeAdvertisesMySQL8AndNativePassword() async throws {
        let store = try await startedStore()
        let client = try EmbeddedClient(store: store)
        let greeting = try client.packets()
        #expect(greeting.count == 1)
        #expect(greeting[0].sequenceID == 0)
        var g = greeting[0].payload
        #expect(g.readInteger(as: UInt8.self) == 10)
        #expect(g.readNullTerminatedString() == "8.0.40-stacklab")
        #expect(String(decoding: greeting[0].payload.readableBytesView, as: UTF8.self).hasSuffix("mysql_native_password\0"))
        await store.stop()
    }

    @Test func handlersInstalledOnAnAlreadyActiveConnectionStillGreet() async throws {
        let store = try await startedStore()
        let client = try EmbeddedClient(store: store, connectFirst: true)
        #expect(try client.login(user: "app", password: "app").map(\.first) == [0x00])
        await store.stop()
    }

    @Test func loginThenPingQueryAndQuit() async throws {
        let store = try await startedStore()
        let client = try EmbeddedClient(store: store)
        let ok = try client.login(user: "app", password: "app")
        #expect(ok.map(\.first) == [0x00])
        #expect(ok.first?.sequenceID == 2)
        try client.send(0, [0x0E])  // COM_PING
        #expect(try client.packets().map(\.first) == [0x00])
        // SELECT 1: column count, one definition, one row, OK with 0xFE header (CLIENT_DEPRECATE_EOF).
        let result = try client.query("SELECT 1")
        #expect(result.count == 4)
        #expect(result.map(\.sequenceID) == [1, 2, 3, 4])
        #expect(result[0].payload.getInteger(at: 0, as: UInt8.self) == 1)
        var row = result[2].payload
        #expect(row.readRowValue() == .some("1"))
        #expect(result[3].first == 0xFE)
        try client.send(0, [0x01])  // COM_QUIT
        #expect(!client.channel.isActive)
        await store.stop()
    }

    @Test func withoutDeprecateEOFTheResultHasEOFPackets() async throws {
        let store = try await startedStore()
        let client = try EmbeddedClient(store: store)
        _ = try client.login(user: "app", password: "app", deprecateEOF: false)
        let result = try client.query("SELECT 'a' AS x, NULL AS y")
        // count, 2 definitions, EOF, row, EOF
        #expect(result.map(\.first) == [2, 3, 3, 0xFE, 1, 0xFE])
        var row = result[4].payload
        #expect(row.readRowValue() == .some("a"))
        #expect(row.readRowValue() == .some(nil))
        await store.stop()
    }

    @Test func wrongPasswordIsRefusedAndTheConnectionClosed() async throws {
        let store = try await startedStore()
        let client = try EmbeddedClient(store: store)
        let answer = try client.login(user: "app", password: "nope")
        #expect(answer.first?.errorMessage == "ERROR 1045 (28000): Access denied for user 'app'@'127.0.0.1' (using password: YES)")
        #expect(!client.channel.isActive)
        await store.stop()
    }

    @Test func unknownCommandsAndBadSQLGetErrorPackets() async throws {
        let store = try await startedStore()
        let client = try EmbeddedClient(store: store)
        _ = try client.login(user: "app", password: "app")
        try client.send(0, [0x99])
        #expect(try client.packets().first?.errorMessage == "ERROR 1047 (08S01): Unknown command")
        try client.send(0, [])
        #expect(try client.packets().first?.errorCode != nil)
        #expect(try client.query("SELEC 1").first?.errorMessage == "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'SELEC 1' at line 1")
        try client.send(0, [0x02] + Array("nosuchdb".utf8))  // COM_INIT_DB
        // As in MySQL, a user without rights there is not told whether the database exists.
        #expect(try client.packets().first?.errorMessage == "ERROR 1044 (42000): Access denied for user 'app'@'127.0.0.1' to database 'nosuchdb'")
        try client.send(0, [0x02] + Array("foobar".utf8))
        #expect(try client.packets().map(\.first) == [0x00])
        #expect(try client.query("INSERT INTO posts (author) VALUES ('a'), ('b')").map(\.first) == [0x00])
        #expect(client.channel.isActive)
        await store.stop()
    }

    @Test func multiStatementQueriesAnswerEachWithMoreResultsFlag() async throws {
        let store = try await startedStore()
        let client = try EmbeddedClient(store: store)
        _ = try client.login(user: "app", password: "app")
        let packets = try client.query("USE foobar; SELECT 1; SELECT nosuch FROM posts")
        // OK (more results), result set (4 packets), ERR.
        #expect(packets.count == 6)
        var ok = packets[0].payload
        ok.moveReaderIndex(forwardBy: 3)
        #expect((ok.readInteger(endianness: .little, as: UInt16.self) ?? 0) & 0x0008 != 0)
        #expect(packets.last?.errorMessage == "ERROR 1054 (42S22): Unknown column 'nosuch' in 'field list'")
        await store.stop()
    }

    @Test func garbageHandshakeIsBadHandshake() async throws {
        let store = try await startedStore()
        let client = try EmbeddedClient(store: store)
        _ = try client.packets()
        try client.send(1, [1, 2, 3])
        #expect(try client.packets().first?.errorMessage == "ERROR 1043 (08S01): Bad handshake")
        #expect(!client.channel.isActive)
        await store.stop()
    }
}
