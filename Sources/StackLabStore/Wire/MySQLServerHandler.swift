import Foundation
import NIOCore

/// One client connection on the server side: handshake, authentication, then one command at a time.
/// Commands are answered in order; a write waiting for a semi-sync acknowledgement holds back the next command
/// (a MySQL connection is strictly request/response).
///
/// The limits of a real mysqld hold here: a client has connect_timeout seconds to log in and a small packet limit
/// until it has; then max_allowed_packet; an idle client is disconnected after wait_timeout. While a command runs,
/// or while the client does not read its answers, nothing more is read from it (so a client cannot queue work or
/// make the server buffer without bound). An error in one connection ends that connection, never more.
final class MySQLServerHandler: ChannelDuplexHandler {
    typealias InboundIn = MySQLPacket
    typealias OutboundIn = MySQLPacket
    typealias OutboundOut = MySQLPacket

    private enum State {
        case awaitingHandshakeResponse
        case awaitingAuthSwitch(HandshakeResponse)
        case command
        case binlogDump
        case closed
    }

    private let store: MySQLStore
    private let limit: PacketSizeLimit
    private var state = State.awaitingHandshakeResponse
    private var scramble: [UInt8] = []
    private var connectionID: UInt32 = 0
    private var capabilities = Capabilities()
    private var session: Session?
    private var sequence: UInt8 = 0
    private var queue: [MySQLPacket] = []
    private var busy = false
    private var peerAddress = "127.0.0.1"
    private var connectTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    /// A read the channel asked for while a command ran or the client was not reading: done once that ends.
    private var readPending = false

    /// The largest handshake response a client may send before it has logged in: mysqld refuses connection
    /// attributes over 64 KB (read_client_connect_attrs), and user, auth data, database and plugin name fit in 2 KB.
    static let handshakeLimit = 65_535 + 2_048

    /// Statements run on the event loop itself (an EmbeddedChannel's, which is the caller's thread).
    private let inline: Bool

    init(store: MySQLStore, limit: PacketSizeLimit, inline: Bool = false) {
        self.store = store
        self.limit = limit
        self.inline = inline
    }

    private var greeted = false

    /// Installed on a connection that is already up (a wrapper added after accept): greet now.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { greet(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        greet(context)
        context.fireChannelActive()
    }

    private func greet(_ context: ChannelHandlerContext) {
        guard !greeted else { return }
        greeted = true
        connectionID = store.nextConnectionID()
        peerAddress = context.channel.remoteAddress?.ipAddress ?? "127.0.0.1"
        store.processes.connected(connectionID, host: "\(peerAddress):\(context.channel.remoteAddress?.port ?? 0)")
        // MySQL's scramble: 20 printable-ish bytes, never NUL.
        scramble = (0..<20).map { _ in UInt8.random(in: 0x21...0x7E) }
        sequence = 0
        send(context, ServerMessages.handshake(connectionID: connectionID, scramble: scramble))
        context.flush()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        connectTimer = context.eventLoop.scheduleTask(in: .seconds(Int64(store.engine.variables.connectTimeout))) {
            let (handler, context) = bound.value
            handler.loginTimedOut(context)
        }
    }

    /// connect_timeout passed before the client logged in: MySQL 8 answers ER_NET_READ_INTERRUPTED and hangs up
    /// (MariaDB hangs up without a word).
    private func loginTimedOut(_ context: ChannelHandlerContext) {
        switch state {
        case .awaitingHandshakeResponse, .awaitingAuthSwitch: break
        default: return
        }
        fail(context, StoreError(code: 1159, sqlState: "08S01", message: "Got timeout reading communication packets"), close: true)
        aborted("Got timeout reading communication packets")
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        connectTimer?.cancel()
        idleTimer?.cancel()
        // An open transaction ends with its connection: rolled back, its lock released (on the statement pool,
        // as SQLite's calls are; a statement still running ends it when it finishes).
        if !busy, let s = session, s.transaction != nil {
            session = nil
            if inline {
                var s = s
                store.endSession(&s)
            } else {
                let store = self.store
                MySQLStore.waitingPool.submit { _ in
                    var s = s
                    store.endSession(&s)
                }
            }
        }
        store.connectionClosed(connectionID)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        idleTimer?.cancel()
        idleTimer = nil
        queue.append(unwrapInboundIn(data))
        drain(context)
    }

    /// Reads wait while a command runs or while the client leaves its answers unread.
    func read(context: ChannelHandlerContext) {
        if busy || !queue.isEmpty || !context.channel.isWritable {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReading(context)
        context.fireChannelWritabilityChanged()
    }

    private func resumeReading(_ context: ChannelHandlerContext) {
        guard readPending, !busy, queue.isEmpty, context.channel.isWritable else { return }
        readPending = false
        context.read()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !isClosed else { return }
        switch error {
        case MySQLProtocolError.packetTooLarge:
            // Answered after the packet's frames, whatever state the connection is in; then mysqld hangs up.
            sequence = limit.lastSequence &+ 1
            fail(context, StoreError(code: 1153, sqlState: "08S01", message: "Got a packet bigger than 'max_allowed_packet' bytes"), close: true)
            aborted("Got a packet bigger than 'max_allowed_packet' bytes")
        case MySQLProtocolError.handshakeTooLarge:
            sequence = limit.lastSequence &+ 1
            fail(context, StoreError.badHandshake(), close: true)
            aborted("Bad handshake")
        default:
            // A read error, or anything else thrown while handling this client: this connection ends, the rest
            // of the server goes on.
            state = .closed
            context.close(promise: nil)
            aborted("Got an error reading communication packets")
        }
    }

    private var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// mysqld's note for a connection it ended (ER_ABORTING_USER_CONNECTION; MySQL 8 shows it at
    /// log_error_verbosity 3, as the miniature's log shows notes).
    private func aborted(_ reason: String) {
        guard store.isRunning else { return }
        let authenticated = session != nil
        store.connectionAborted(authenticated: authenticated)
        store.log(level: "Note", code: "MY-010914", subsystem: "Server", thread: Int(connectionID),
                  "Aborted connection \(connectionID) to db: '\(session?.database ?? "unconnected")' user: '\(session?.user ?? "unauthenticated")' host: '\(peerAddress)' (\(reason)).")
    }

    private func drain(_ context: ChannelHandlerContext) {
        while !busy, !queue.isEmpty {
            let packet = queue.removeFirst()
            handle(context, packet)
        }
        guard !busy, queue.isEmpty else { return }
        armIdleTimer(context)
        resumeReading(context)
    }

    /// wait_timeout (interactive_timeout for interactive clients) counts from the end of the last command.
    private func armIdleTimer(_ context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        guard case .command = state, let session else { return }
        let seconds = session.waitTimeout ?? store.engine.variables.waitTimeout
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: .seconds(Int64(seconds))) {
            let (handler, context) = bound.value
            handler.idleTimedOut(context)
        }
    }

    /// MySQL 8.0.24 and later tell the idle client why before hanging up: an error packet with sequence 0 in
    /// place of the next answer (MariaDB hangs up without a word).
    private func idleTimedOut(_ context: ChannelHandlerContext) {
        guard case .command = state, !busy, queue.isEmpty else { return }
        sequence = 0
        let reason = "The client was disconnected by the server because of inactivity. See wait_timeout and interactive_timeout for configuring this behavior."
        fail(context, StoreError(code: 4031, sqlState: "HY000", message: reason), close: true)
        aborted(reason)
    }

    private func send(_ context: ChannelHandlerContext, _ payload: ByteBuffer) {
        sequence &+= 1
        context.write(wrapOutboundOut(MySQLPacket(sequenceID: sequence &- 1, payload: payload)), promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: StoreError, close: Bool = false) {
        send(context, ServerMessages.error(error))
        context.flush()
        if close {
            state = .closed
            context.close(promise: nil)
        }
    }

    private func handle(_ context: ChannelHandlerContext, _ packet: MySQLPacket) {
        switch state {
        case .awaitingHandshakeResponse:
            sequence = packet.sequenceID &+ 1
            guard let response = HandshakeResponse(packet.payload) else {
                // An SSL request or garbage: MySQL answers "Bad handshake" and closes.
                fail(context, StoreError.badHandshake(), close: true)
                store.connectionAborted(authenticated: false)
                return
            }
            capabilities = response.capabilities.intersection(Capabilities.server)
            if let plugin = response.plugin, !plugin.isEmpty, plugin != "mysql_native_password" {
                state = .awaitingAuthSwitch(response)
                send(context, ServerMessages.authSwitch(scramble: scramble))
                context.flush()
                return
            }
            finishAuthentication(context, response, token: response.authResponse)
        case .awaitingAuthSwitch(let response):
            sequence = packet.sequenceID &+ 1
            finishAuthentication(context, response, token: Array(packet.payload.readableBytesView))
        case .command:
            sequence = packet.sequenceID &+ 1
            command(context, packet.payload)
        case .binlogDump:
            // The replica's semi-sync acknowledgements: 0xEF, position (8 bytes), file name.
            var b = packet.payload
            if b.readInteger(as: UInt8.self) == 0xEF, let pos = b.readInteger(endianness: .little, as: UInt64.self),
               let file = b.readString(length: b.readableBytes) {
                store.semiSync.acknowledge(file: file, position: pos)
            }
        case .closed:
            break
        }
    }

    private func finishAuthentication(_ context: ChannelHandlerContext, _ response: HandshakeResponse, token: [UInt8]) {
        switch store.authenticate(user: response.user, address: peerAddress, token: token, scramble: scramble, connectionID: connectionID) {
        case .failure(let e):
            store.log(level: "Note", code: "MY-010926", subsystem: "Server", "Access denied for user '\(response.user)'@'\(peerAddress)' (using password: \(token.isEmpty ? "NO" : "YES"))")
            store.connectionAborted(authenticated: false)
            fail(context, e, close: true)
        case .success(var s):
            connectTimer?.cancel()
            connectTimer = nil
            let variables = store.engine.variables
            // The last of max_connections + 1 is kept for an account with SUPER (CONNECTION_ADMIN in MySQL 8).
            if !s.isSuper, store.connectionCount > variables.maxConnections {
                fail(context, StoreError.tooManyConnections(), close: true)
                store.connectionAborted(authenticated: false)
                return
            }
            if let db = response.database {
                do {
                    _ = try store.engine.execute(ParsedStatement(statement: .use(db), text: "USE \(db)"), session: &s)
                } catch {
                    fail(context, (error as? StoreError) ?? StoreError.unknownDatabase(db), close: true)
                    return
                }
            }
            s.waitTimeout = response.capabilities.contains(.interactive) ? variables.interactiveTimeout : variables.waitTimeout
            limit.allowed = variables.maxAllowedPacket
            limit.current = variables.maxAllowedPacket
            session = s
            state = .command
            store.processes.update(connectionID) { p in
                p.user = s.user
                p.db = s.database
                p.command = "Sleep"
                p.state = nil
                p.since = Date()
            }
            send(context, ServerMessages.ok())
            context.flush()
        }
    }

    private func command(_ context: ChannelHandlerContext, _ payload: ByteBuffer) {
        var b = payload
        guard var session, let byte = b.readInteger(as: UInt8.self) else {
            fail(context, StoreError.malformedPacket())
            return
        }
        guard let cmd = Command(rawValue: byte) else {
            fail(context, StoreError.unknownCommand())
            return
        }
        switch cmd {
        case .quit:
            state = .closed
            context.close(promise: nil)
        case .ping, .resetConnection, .refresh, .registerReplica, .debug:
            if cmd == .resetConnection {
                store.endSession(&session)
                session.userVariables = [:]
                session.autocommit = true
                session.lockWaitTimeout = nil
                self.session = session
            }
            send(context, ServerMessages.ok())
            context.flush()
        case .setOption:
            send(context, capabilities.contains(.deprecateEOF) ? ServerMessages.ok(header: 0xFE) : ServerMessages.eof())
            context.flush()
        case .statistics:
            var s = ByteBuffer()
            s.writeString(store.statisticsLine())
            send(context, s)
            context.flush()
        case .initDB:
            let db = b.readString(length: b.readableBytes) ?? ""
            do {
                _ = try store.engine.execute(ParsedStatement(statement: .use(db), text: "USE \(db)"), session: &session)
                self.session = session
                send(context, ServerMessages.ok())
            } catch {
                send(context, ServerMessages.error((error as? StoreError) ?? StoreError.unknownDatabase(db)))
            }
            context.flush()
        case .fieldList:
            fieldList(context, &b, session: session)
        case .query:
            let sql = b.readString(length: b.readableBytes) ?? ""
            store.processes.update(connectionID) { p in
                p.command = "Query"
                p.state = "executing"
                p.info = sql
                p.since = Date()
            }
            query(context, sql, session: session)
        case .binlogDump, .binlogDumpGTID:
            startDump(context, cmd, &b, session: session)
        case .stmtPrepare:
            fail(context, StoreError.notSupported("prepared statements"))
        default:
            fail(context, StoreError.unknownCommand())
        }
    }

    private func fieldList(_ context: ChannelHandlerContext, _ b: inout ByteBuffer, session: Session) {
        let table = b.readNullTerminatedString() ?? ""
        var s = session
        do {
            let r = try store.engine.execute(ParsedStatement(statement: .select(SelectStatement(items: [SelectItem(kind: .star(table: nil), name: "*")], from: TableName(database: nil, name: table), whereClause: nil, orderBy: [], limit: 0, offset: 0)), text: ""), session: &s)
            for c in r.result.columnInfo { send(context, ServerMessages.columnDefinition(c, defaultForFieldList: true)) }
            send(context, capabilities.contains(.deprecateEOF) ? ServerMessages.ok(header: 0xFE) : ServerMessages.eof())
        } catch {
            send(context, ServerMessages.error((error as? StoreError) ?? StoreError.unknownCommand()))
        }
        context.flush()
    }

    private func query(_ context: ChannelHandlerContext, _ sql: String, session: Session) {
        if inline {
            var s = session
            let run = store.runScript(sql, session: &s)
            answer(context, run: run, session: s)
            return
        }
        // Statements run on a pool thread, never on this event loop: SQLite's calls wait for the disk and for
        // another transaction's lock.
        busy = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let waiting = session
        MySQLStore.waitingPool.runIfActive(eventLoop: context.eventLoop) { [store] () -> (MySQLStore.ScriptRun, Session) in
            var s = waiting
            let finished = store.runScript(sql, session: &s)
            return (finished, s)
        }.whenComplete { result in
            let (handler, context) = bound.value
            handler.busy = false
            switch result {
            case .success(let (finished, s)):
                guard case .command = handler.state else {
                    // The client left while its statement waited: its transaction ends here.
                    var s = s
                    handler.store.endSession(&s)
                    return
                }
                handler.answer(context, run: finished, session: s)
                if !handler.busy { handler.drain(context) }
            case .failure:
                handler.state = .closed
                context.close(promise: nil)
            }
        }
    }

    private func answer(_ context: ChannelHandlerContext, run: MySQLStore.ScriptRun, session s: Session) {
        self.session = s
        // A crash in the middle of the statement: a dead server answers nothing; the client sees the connection
        // drop (2013), never an ERR packet made up by the server.
        guard store.isRunning else {
            state = .closed
            context.close(promise: nil)
            return
        }
        let database = s.database
        let done: @Sendable () -> Void = { [store, connectionID] in
            store.processes.update(connectionID) { p in
                p.command = "Sleep"
                p.state = nil
                p.info = nil
                p.db = database
                p.since = Date()
            }
        }
        let deprecateEOF = capabilities.contains(.deprecateEOF)
        let multi = capabilities.contains(.multiResults)
        let write: (ChannelHandlerContext) -> Void = { context in
            for (i, outcome) in run.outcomes.enumerated() {
                switch outcome {
                case .success(let r):
                    let more = multi && i < run.outcomes.count - 1
                    for p in ServerMessages.result(r, deprecateEOF: deprecateEOF, moreResults: more) { self.send(context, p) }
                case .failure(let e):
                    self.send(context, ServerMessages.error(e))
                }
            }
            context.flush()
        }
        var wait: EventLoopFuture<Void>?
        if let commit = run.commit, let semiSync = store.semiSync.waitIfEnabled(file: commit.file, position: commit.position, on: context.eventLoop) {
            // AFTER_SYNC: the commit is durable here; the client hears OK once a replica has the transaction.
            store.processes.update(connectionID) { $0.state = "Waiting for semi-sync ACK from replica" }
            wait = semiSync
        }
        if run.delaySeconds > 0 {
            store.processes.update(connectionID) { $0.state = "User sleep" }
            let loop = context.eventLoop
            let nanos = Int64(run.delaySeconds * 1_000_000_000)
            wait = (wait ?? loop.makeSucceededVoidFuture()).flatMap { loop.scheduleTask(in: .nanoseconds(nanos)) {}.futureResult }
        }
        guard let wait else {
            done()
            write(context)
            return
        }
        busy = true
        let bound = NIOLoopBound((self, context, write), eventLoop: context.eventLoop)
        wait.whenComplete { _ in
            let (handler, context, write) = bound.value
            handler.busy = false
            guard case .command = handler.state else { return }
            done()
            write(context)
            handler.drain(context)
        }
    }

    private func startDump(_ context: ChannelHandlerContext, _ cmd: Command, _ b: inout ByteBuffer, session: Session) {
        guard session.account.has("REPLICATION SLAVE", database: nil) else {
            fail(context, StoreError.specificDenied("REPLICATION SLAVE"))
            return
        }
        var request = BinlogDumpRequest(file: "", position: 4, gtids: nil, replicaServerID: 0)
        if cmd == .binlogDump {
            guard let pos = b.readInteger(endianness: .little, as: UInt32.self), b.readInteger(endianness: .little, as: UInt16.self) != nil,
                  let sid = b.readInteger(endianness: .little, as: UInt32.self) else {
                fail(context, StoreError.malformedPacket())
                return
            }
            request.position = UInt64(pos)
            request.replicaServerID = sid
            request.file = b.readString(length: b.readableBytes) ?? ""
        } else {
            // Ours: flags(2) server_id(4) name_len(4) name pos(8) gtid text (lenenc), instead of the binary SID block.
            guard b.readInteger(endianness: .little, as: UInt16.self) != nil, let sid = b.readInteger(endianness: .little, as: UInt32.self),
                  let n = b.readInteger(endianness: .little, as: UInt32.self), n <= 512, let file = b.readString(length: Int(n)),
                  let pos = b.readInteger(endianness: .little, as: UInt64.self), let gtids = b.readLengthEncodedString() else {
                fail(context, StoreError.malformedPacket())
                return
            }
            request.replicaServerID = sid
            request.file = file
            request.position = pos
            request.gtids = GTIDSet(parsing: gtids) ?? GTIDSet()
        }
        guard let binlog = store.binlog else {
            fail(context, StoreError(code: 1236, sqlState: "HY000", message: "Binary log is not open"))
            return
        }
        let semiSync = session.userVariables["rpl_semi_sync_replica"]?.truth == true
        state = .binlogDump
        store.processes.update(connectionID) { p in
            p.command = cmd == .binlogDumpGTID ? "Binlog Dump GTID" : "Binlog Dump"
            p.state = "Source has sent all binlog to replica; waiting for more updates"
            p.info = nil
            p.since = Date()
        }
        let period = (session.userVariables["source_heartbeat_period"] ?? session.userVariables["master_heartbeat_period"])?.number
            .map { $0 / 1_000_000_000 }.flatMap { $0 > 0 ? min($0, 4_294_967) : nil }
        let sender = BinlogDumpSender(store: store, binlog: binlog, channel: context.channel, request: request,
                                      semiSync: semiSync, firstSequence: sequence, peer: peerAddress, heartbeatPeriod: period)
        sender.start()
    }
}

struct BinlogDumpRequest: Sendable {
    var file: String
    var position: UInt64
    var gtids: GTIDSet?
    var replicaServerID: UInt32
}
