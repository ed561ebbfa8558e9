import NIOCore
import NIOPosix

/// Opens TCP connections for the store's own outbound traffic and for the client library.
public typealias StoreDialer = @Sendable (_ host: String, _ port: Int, _ initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> EventLoopFuture<Channel>

public enum StoreDialers {
    /// A plain ClientBootstrap, optionally bound to a source address (each lab server dials from its own IP).
    public static func direct(group: EventLoopGroup, sourceAddress: String? = nil) -> StoreDialer {
        { host, port, initializer in
            var bootstrap = ClientBootstrap(group: group)
                .connectTimeout(.seconds(10))
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer(initializer)
            if let sourceAddress {
                do {
                    let local = try SocketAddress(ipAddress: sourceAddress, port: 0)
                    bootstrap = bootstrap.bind(to: local)
                } catch {
                    return group.next().makeFailedFuture(error)
                }
            }
            return bootstrap.connect(host: host, port: port)
        }
    }
}

/// One client connection speaking the MySQL protocol (mysql_native_password, text queries). Used by the pool,
/// by the replica's receiver thread and by tests. Not for concurrent use: one request at a time.
final class MySQLConnection: Sendable {
    let channel: Channel
    let inbox: PacketInbox
    let host: String
    let port: Int
    let deprecateEOF: Bool

    private init(channel: Channel, inbox: PacketInbox, host: String, port: Int, deprecateEOF: Bool) {
        self.channel = channel
        self.inbox = inbox
        self.host = host
        self.port = port
        self.deprecateEOF = deprecateEOF
    }

    /// `readTimeoutSeconds` bounds the wait for the server's greeting and answers during the handshake (a hung
    /// server, or a partition that drops packets, must not block forever).
    static func connect(host: String, port: Int, user: String, password: String, database: String?, dial: StoreDialer,
                        readTimeoutSeconds: Int = 30) async throws -> MySQLConnection {
        let inbox = PacketInbox()
        let channel: Channel
        do {
            channel = try await dial(host, port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MySQLPacketDecoder()))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(MySQLPacketEncoder()))
                    try channel.pipeline.syncOperations.addHandler(PacketInboxHandler(inbox: inbox))
                }
            }.get()
        } catch {
            throw StoreConnectionError.cannotConnect(host: host, port: port, errno: Self.errno(of: error))
        }
        do {
            let greeting = try await inbox.next(timeout: .seconds(Int64(readTimeoutSeconds)), on: channel.eventLoop, timeoutError: HandshakeTimeout())
            var g = greeting.payload
            if g.getInteger(at: g.readerIndex, as: UInt8.self) == 0xFF { throw Self.decodeError(g) }
            guard g.readInteger(as: UInt8.self) == 10, g.readNullTerminatedString() != nil,
                  g.readInteger(endianness: .little, as: UInt32.self) != nil, let part1 = g.readBytes(length: 8),
                  g.readInteger(as: UInt8.self) != nil, let capLow = g.readInteger(endianness: .little, as: UInt16.self),
                  g.readInteger(as: UInt8.self) != nil, g.readInteger(endianness: .little, as: UInt16.self) != nil,
                  let capHigh = g.readInteger(endianness: .little, as: UInt16.self), let authLen = g.readInteger(as: UInt8.self),
                  g.readBytes(length: 10) != nil
            else { throw StoreConnectionError(code: 2027, message: "Malformed packet") }
            let serverCaps = Capabilities(rawValue: UInt32(capLow) | UInt32(capHigh) << 16)
            let part2 = g.readBytes(length: max(13, Int(authLen) - 8)) ?? []
            let scramble = Array((part1 + part2).prefix(20))
            var caps: Capabilities = [.longPassword, .longFlag, .protocol41, .transactions, .secureConnection, .multiResults, .pluginAuth, .pluginAuthLenencData]
            if serverCaps.contains(.deprecateEOF) { caps.insert(.deprecateEOF) }
            if database != nil { caps.insert(.connectWithDB) }
            var response = ByteBuffer()
            response.writeInteger(caps.rawValue, endianness: .little)
            response.writeInteger(UInt32(16 * 1024 * 1024), endianness: .little)
            response.writeInteger(UInt8(Collation.utf8mb4))
            response.writeBytes([UInt8](repeating: 0, count: 23))
            response.writeNullTerminatedString(user)
            let token = NativePassword.token(password: password, scramble: scramble)
            response.writeLengthEncodedInteger(UInt64(token.count))
            response.writeBytes(token)
            if let database { response.writeNullTerminatedString(database) }
            response.writeNullTerminatedString("mysql_native_password")
            try await channel.writeAndFlush(MySQLPacket(sequenceID: greeting.sequenceID &+ 1, payload: response)).get()
            var reply = try await inbox.next(timeout: .seconds(Int64(readTimeoutSeconds)), on: channel.eventLoop, timeoutError: HandshakeTimeout())
            if reply.payload.getInteger(at: reply.payload.readerIndex, as: UInt8.self) == 0xFE {
                // Auth switch: answer with the new scramble.
                var p = reply.payload
                p.moveReaderIndex(forwardBy: 1)
                _ = p.readNullTerminatedString()
                let newScramble = Array((p.readBytes(length: p.readableBytes) ?? []).prefix(20))
                var answer = ByteBuffer()
                answer.writeBytes(NativePassword.token(password: password, scramble: newScramble))
                try await channel.writeAndFlush(MySQLPacket(sequenceID: reply.sequenceID &+ 1, payload: answer)).get()
                reply = try await inbox.next(timeout: .seconds(Int64(readTimeoutSeconds)), on: channel.eventLoop, timeoutError: HandshakeTimeout())
            }
            if reply.payload.getInteger(at: reply.payload.readerIndex, as: UInt8.self) == 0xFF { throw Self.decodeError(reply.payload) }
            return MySQLConnection(channel: channel, inbox: inbox, host: host, port: port, deprecateEOF: caps.contains(.deprecateEOF))
        } catch {
            channel.close(promise: nil)
            if let e = error as? StoreError { throw e }
            // CR_SERVER_LOST_EXTENDED, with ETIMEDOUT (110) when nothing came back or ECONNRESET (104).
            let errno = error is HandshakeTimeout ? 110 : 104
            throw StoreConnectionError(code: 2013, message: "Lost connection to MySQL server at 'reading initial communication packet', system error: \(errno)")
        }
    }

    static func errno(of error: Error) -> Int32 {
        if let io = error as? IOError { return io.errnoCode }
        if let c = error as? NIOConnectionError {
            for e in c.connectionErrors { if let io = e.error as? IOError { return io.errnoCode } }
            if c.dnsAAAAError != nil || c.dnsAError != nil { return 2 }
        }
        if case ChannelError.connectTimeout = error { return 110 }
        return 111
    }

    static func decodeError(_ payload: ByteBuffer) -> StoreError {
        var b = payload
        _ = b.readInteger(as: UInt8.self)
        let code = Int(b.readInteger(endianness: .little, as: UInt16.self) ?? 2000)
        var state = "HY000"
        if b.getInteger(at: b.readerIndex, as: UInt8.self) == 0x23 {  // '#'
            b.moveReaderIndex(forwardBy: 1)
            state = b.readString(length: 5) ?? state
        }
        return StoreError(code: code, sqlState: state, message: b.readString(length: b.readableBytes) ?? "")
    }

    func send(_ payload: ByteBuffer, sequence: UInt8 = 0) async throws {
        do {
            try await channel.writeAndFlush(MySQLPacket(sequenceID: sequence, payload: payload)).get()
        } catch {
            throw StoreConnectionError.lostConnection()
        }
    }

    func sendCommand(_ command: Command, _ body: ByteBuffer = ByteBuffer()) async throws {
        var b = ByteBuffer()
        b.writeInteger(command.rawValue)
        var body = body
        b.writeBuffer(&body)
        try await send(b, sequence: 0)
    }

    /// Waits for the next packet. Cancelling the waiting task closes the connection (a killed app worker must
    /// not keep a pool slot waiting on a hung server): the caller then sees 2013.
    func nextPacket(timeoutSeconds: Int? = nil) async throws -> MySQLPacket {
        try await withTaskCancellationHandler {
            try await inbox.next(timeout: timeoutSeconds.map { .seconds(Int64($0)) }, on: channel.eventLoop,
                                 timeoutError: StoreConnectionError(code: 2013, message: "Lost connection to MySQL server during query"))
        } onCancel: { [channel, inbox] in
            inbox.finish(StoreConnectionError.lostConnection())
            channel.close(promise: nil)
        }
    }

    /// Runs one COM_QUERY and returns its (last) result; ERR packets become StoreError.
    func query(_ sql: String) async throws -> StoreResult {
        var body = ByteBuffer()
        body.writeString(sql)
        try await sendCommand(.query, body)
        var last: StoreResult?
        while true {
            let (result, more) = try await readResult()
            last = result
            if !more { break }
        }
        return last ?? StoreResult(affectedRows: 0)
    }

    private func readResult() async throws -> (StoreResult, Bool) {
        let first = try await nextPacket()
        var p = first.payload
        guard let head = p.getInteger(at: p.readerIndex, as: UInt8.self) else { throw StoreConnectionError.lostConnection() }
        if head == 0xFF { throw Self.decodeError(p) }
        if head == 0x00 {
            p.moveReaderIndex(forwardBy: 1)
            let affected = p.readLengthEncodedInteger() ?? 0
            let insertID = p.readLengthEncodedInteger() ?? 0
            let status = p.readInteger(endianness: .little, as: UInt16.self) ?? 0
            let warnings = p.readInteger(endianness: .little, as: UInt16.self) ?? 0
            let info = p.readableBytes > 0 ? p.readLengthEncodedString() : nil
            return (StoreResult(affectedRows: Int(clamping: affected), lastInsertID: Int(clamping: insertID), info: info, warnings: Int(warnings)),
                    status & ServerStatus.moreResultsExist != 0)
        }
        guard let count = p.readLengthEncodedInteger(), count < 4096 else { throw StoreConnectionError(code: 2027, message: "Malformed packet") }
        var columns: [StoreColumn] = []
        for _ in 0..<count {
            var c = try await nextPacket().payload
            guard c.readLengthEncodedString() != nil, let db = c.readLengthEncodedString(), let table = c.readLengthEncodedString(),
                  c.readLengthEncodedString() != nil, let name = c.readLengthEncodedString(), let orgName = c.readLengthEncodedString(),
                  c.readLengthEncodedInteger() != nil, c.readInteger(endianness: .little, as: UInt16.self) != nil,
                  let length = c.readInteger(endianness: .little, as: UInt32.self), let type = c.readInteger(as: UInt8.self),
                  let flags = c.readInteger(endianness: .little, as: UInt16.self), let decimals = c.readInteger(as: UInt8.self)
            else { throw StoreConnectionError(code: 2027, message: "Malformed packet") }
            var col = StoreColumn(name: name, type: MySQLType(rawValue: type) ?? .varString, length: length, flags: flags, table: table, database: db, orgName: orgName, decimals: decimals)
            col.flags = flags
            columns.append(col)
        }
        if !deprecateEOF { _ = try await nextPacket() }
        var rows: [[String?]] = []
        while true {
            var r = try await nextPacket().payload
            guard let h = r.getInteger(at: r.readerIndex, as: UInt8.self) else { throw StoreConnectionError.lostConnection() }
            if h == 0xFF { throw Self.decodeError(r) }
            if h == 0xFE && r.readableBytes < 0xFF_FFFF && r.readableBytes <= 9 || (h == 0xFE && deprecateEOF && r.readableBytes < 0xFF_FFFF && r.readableBytes < 32) {
                r.moveReaderIndex(forwardBy: 1)
                var status: UInt16 = 0
                if deprecateEOF {
                    _ = r.readLengthEncodedInteger(); _ = r.readLengthEncodedInteger()
                    status = r.readInteger(endianness: .little, as: UInt16.self) ?? 0
                } else {
                    _ = r.readInteger(endianness: .little, as: UInt16.self)
                    status = r.readInteger(endianness: .little, as: UInt16.self) ?? 0
                }
                return (StoreResult(columns: columns, rows: rows), status & ServerStatus.moreResultsExist != 0)
            }
            var row: [String?] = []
            for _ in 0..<count {
                guard let v = r.readRowValue() else { throw StoreConnectionError(code: 2027, message: "Malformed packet") }
                row.append(v)
            }
            rows.append(row)
        }
    }

    func close() {
        channel.eventLoop.execute { [channel] in
            var quit = ByteBuffer()
            quit.writeInteger(Command.quit.rawValue)
            channel.writeAndFlush(MySQLPacket(sequenceID: 0, payload: quit), promise: nil)
            channel.close(promise: nil)
        }
    }

    var isActive: Bool { channel.isActive }
}

struct HandshakeTimeout: Error {}
