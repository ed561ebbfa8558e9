import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The role a store plays right now: a replica has a configured source.
public struct StoreStatus: Sendable, Equatable {
    public enum Role: String, Sendable { case primary, replica }
    public var running: Bool
    public var role: Role
    public var serverName: String
    public var serverID: Int
    public var serverUUID: String
    public var host: String
    public var port: Int
    public var readOnly: Bool
    public var superReadOnly: Bool
    public var binlogFile: String?
    public var binlogPosition: UInt64?
    public var gtidExecuted: String
    public var semiSyncEnabled: Bool
    /// Rpl_semi_sync_source_status: false after a timeout fell back to async.
    public var semiSyncActive: Bool
    public var connections: Int
    public var replica: ReplicaStatus?
}

/// A MySQL-like server: SQL engine, binlog, replication and the wire protocol, on sockets the lab owns.
///
/// ```swift
/// let store = MySQLStore(settings: settings, group: group, dial: StoreDialers.direct(group: group), log: { print($0) })
/// try await store.start()
/// // for each accepted connection:
/// store.configureConnection(channel)
/// ```
public final class MySQLStore: Sendable {
    public let settings: StoreSettings
    let group: EventLoopGroup
    let dial: StoreDialer
    private let logSink: @Sendable (String) -> Void

    struct Runtime: Sendable {
        var engine: StoreEngine
        var replica: ReplicaChannel?
        var running = false
        var channels: [ObjectIdentifier: Channel] = [:]
        var replicas: [UInt32: String] = [:]
        var startedAt = Date()
        var questions = 0
        /// SHOW STATUS counters of the connection limits.
        var connections = 0
        var maxUsedConnections = 0
        var abortedClients = 0
        var abortedConnects = 0
        var connectionErrorsMaxConnections = 0
        /// While the lab boots its stores side by side, a replica's receiver waits to dial until every store
        /// listens (otherwise its first attempt may meet a primary that is still starting, and wait Connect_Retry).
        var replicaDialHeld = false
    }

    private let runtime: NIOLockedValueBox<Runtime>
    private let connectionIDs = NIOLockedValueBox<UInt32>(0)
    let semiSyncBox: NIOLockedValueBox<SemiSyncSource?> = NIOLockedValueBox(nil)

    public init(settings: StoreSettings, group: EventLoopGroup, dial: @escaping StoreDialer, log: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.group = group
        self.dial = dial
        self.logSink = log
        let closed = StoreEngine(settings: settings, serverUUID: "", binlog: nil, datadir: nil)
        closed.close()
        self.runtime = NIOLockedValueBox(Runtime(engine: closed))
    }

    var engine: StoreEngine { runtime.withLockedValue { $0.engine } }
    var binlog: BinaryLog? { engine.binlog }
    var replica: ReplicaChannel? { runtime.withLockedValue { $0.replica } }

    var semiSync: SemiSyncSource {
        semiSyncBox.withLockedValue { box in
            if let s = box { return s }
            let s = SemiSyncSource(
                enabled: { [weak self] in
                    guard let self else { return (false, 0) }
                    let v = self.engine.variables
                    return (v.semiSyncSourceEnabled, v.semiSyncSourceTimeout)
                },
                binlogEnd: { [weak self] in self?.binlog?.status ?? ("", 0) },
                log: { [weak self] level, code, message in self?.log(level: level, code: code, subsystem: "Repl", message) })
            box = s
            return s
        }
    }

    /// MySQL 8's error-log line: `2026-11-24T13:55:36.123456Z 0 [System] [MY-010931] [Server] …`.
    func log(level: String, code: String, subsystem: String, thread: Int = 0, _ message: String) {
        logSink("\(Clock.errorLogStamp()) \(thread) [\(level)] [\(code)] [\(subsystem)] \(message)")
    }

    func nextConnectionID() -> UInt32 {
        connectionIDs.withLockedValue { $0 &+= 1; return $0 }
    }

    // MARK: - Lifecycle

    /// Replica receivers started from now on wait before their first dial until `releaseReplicaDials()`.
    public func holdReplicaDials() { runtime.withLockedValue { $0.replicaDialHeld = true } }
    public func releaseReplicaDials() { runtime.withLockedValue { $0.replicaDialHeld = false } }

    /// Returns once replica dials are allowed (at once, but for a boot in progress), or when the task is cancelled.
    func replicaDialAllowed() async {
        while runtime.withLockedValue({ $0.replicaDialHeld }), !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    /// Opens (or creates) the data directory, recovers committed transactions, runs the init statements on
    /// first start, and restarts replication if it was running.
    public func start() async throws {
        let fm = FileManager.default
        let dir = settings.dataDirectory
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        log(level: "System", code: "MY-010116", subsystem: "Server", "/usr/sbin/mysqld (mysqld \(StoreEngine.version)) starting as process \(ProcessInfo.processInfo.processIdentifier)")
        // auto.cnf holds the server_uuid, created on first start like mysqld does.
        let autoCnf = dir + "/auto.cnf"
        let firstStart = !fm.fileExists(atPath: autoCnf)
        var uuid = UUID().uuidString.lowercased()
        if let text = try? String(contentsOfFile: autoCnf, encoding: .utf8), let line = text.split(separator: "\n").first(where: { $0.hasPrefix("server-uuid=") }) {
            uuid = String(line.dropFirst("server-uuid=".count))
        } else {
            try "[auto]\nserver-uuid=\(uuid)\n".write(toFile: autoCnf, atomically: true, encoding: .utf8)
            log(level: "Warning", code: "MY-010075", subsystem: "Server", "No existing UUID has been found, so we assume that this is the first time that this server has been started. Generating a new UUID: \(uuid).")
        }
        let runningMarker = dir + "/mysqld.running"
        let crashed = fm.fileExists(atPath: runningMarker)
        _ = fm.createFile(atPath: runningMarker, contents: Data())

        log(level: "System", code: "MY-013576", subsystem: "InnoDB", thread: 1, "InnoDB initialization has started.")
        let binlog = settings.logBin.map { BinaryLog(directory: dir, baseName: $0, serverID: settings.serverID, version: StoreEngine.version, fsync: settings.fsyncOnCommit) }
        let datadir = try SQLiteDatadir(directory: dir, flushLogAtTrxCommit: settings.fsyncOnCommit ? 1 : 2)
        let engine = StoreEngine(settings: settings, serverUUID: uuid, binlog: binlog, datadir: datadir)
        engine.restore(try datadir.recover())
        try binlog?.open(executed: engine.gtidExecuted)
        // The binlog is written before SQLite commits: a crash between the two leaves transactions the binlog
        // has and the data lacks. They are repeated now, as mysqld commits the transactions its binlog prepared.
        let missing = binlog?.transactions(missingFrom: engine.gtidExecuted) ?? []
        if crashed && !missing.isEmpty {
            log(level: "Note", code: "MY-012551", subsystem: "InnoDB", thread: 1, "Database was not shutdown normally!")
            log(level: "Note", code: "MY-013083", subsystem: "InnoDB", thread: 1, "Starting crash recovery.")
        }
        for t in missing {
            do {
                try replayLogged(t.statements, engine: engine, replay: Replay(insertID: 0, millis: t.statements.first?.millis ?? 0,
                                                                             gtid: t.gtid, source: nil, writeBinlog: false))
            } catch {
                log(level: "ERROR", code: "MY-013183", subsystem: "InnoDB", "Recovery could not repeat a transaction of \(t.statements.count) statements: \(error)")
            }
        }
        log(level: "System", code: "MY-013577", subsystem: "InnoDB", thread: 1, "InnoDB initialization has ended.")

        if firstStart {
            // Accounts made from settings are part of the data: durable in the mysql database's file.
            try engine.setAccounts { accounts in
                for host in ["localhost", "127.0.0.1", "::1"] {
                    accounts.append(Account(name: "root", host: host, password: settings.rootPassword, isSuper: true))
                }
                for u in settings.users where !accounts.contains(where: { $0.name == u.name && $0.host == u.host }) {
                    accounts.append(Account(name: u.name, host: u.host, password: u.password))
                }
            }
        }
        runtime.withLockedValue { r in
            r.engine = engine
            r.running = true
            r.startedAt = Date()
        }
        semiSync.reset()

        if firstStart {
            var session = Session.root()
            for sql in settings.initStatements {
                let run = runScript(sql, session: &session, bypassReadOnly: true)
                for case .failure(let e) in run.outcomes {
                    log(level: "ERROR", code: "MY-000061", subsystem: "Server", "\(e.code)  \(e.message).")
                }
            }
            endSession(&session)
        }
        if runtime.withLockedValue({ $0.replica }) == nil, let config = ReplicaChannel.loadConfig(dataDirectory: dir) {
            let channel = ReplicaChannel(store: self, settings: settings, config: config, applied: engine.appliedSource)
            runtime.withLockedValue { $0.replica = channel }
            if config.running && !settings.skipReplicaStart { channel.start(.both) }
        }
        log(level: "System", code: "MY-010931", subsystem: "Server", "/usr/sbin/mysqld: ready for connections. Version: '\(StoreEngine.version)'  socket: ''  port: \(settings.port)  Source distribution.")
    }

    /// Repeats a logged transaction: one statement as the applier runs it, several all or nothing.
    private func replayLogged(_ statements: [LoggedStatement], engine: StoreEngine, replay: Replay) throws {
        guard statements.count == 1, let only = statements.first else {
            try engine.executeLogged(statements, replay: replay)
            return
        }
        var session = try engine.applierSession()
        session.database = only.db
        session.replay = Replay(insertID: only.insertID, millis: only.millis, gtid: replay.gtid, source: replay.source, writeBinlog: replay.writeBinlog)
        let parsed = try Parser.parse(only.sql)
        _ = try engine.execute(ParsedStatement(statement: parsed, text: only.sql), session: &session)
    }

    /// Graceful shutdown: replication stops, the binlog gets its STOP event, the data log becomes a snapshot.
    public func stop() async {
        guard runtime.withLockedValue({ $0.running }) else { return }
        log(level: "System", code: "MY-013172", subsystem: "Server", "Received SHUTDOWN from user <via user signal>. Shutting down mysqld (Version: \(StoreEngine.version)).")
        let (replica, channels): (ReplicaChannel?, [Channel]) = runtime.withLockedValue { r in
            r.running = false
            let c = Array(r.channels.values)
            r.channels = [:]
            let rep = r.replica
            r.replica = nil
            return (rep, c)
        }
        replica?.stop(.both, persist: false)
        let engine = self.engine
        engine.close()
        semiSync.failAll()
        for c in channels { c.close(promise: nil) }
        engine.binlog?.close(graceful: true)
        try? FileManager.default.removeItem(atPath: settings.dataDirectory + "/mysqld.running")
        log(level: "System", code: "MY-010910", subsystem: "Server", "/usr/sbin/mysqld: Shutdown complete (mysqld \(StoreEngine.version))  Source distribution.")
    }

    /// Abrupt end, like kill -9: nothing more is written, connections drop, tasks stop. What was acknowledged is
    /// already in the data log; the next start() recovers it.
    public func crash() {
        let (replica, channels, engine): (ReplicaChannel?, [Channel], StoreEngine) = runtime.withLockedValue { r in
            r.running = false
            let c = Array(r.channels.values)
            r.channels = [:]
            let rep = r.replica
            r.replica = nil
            return (rep, c, r.engine)
        }
        engine.close()
        replica?.stop(.both, persist: false)
        semiSync.failAll()
        engine.binlog?.close(graceful: false)
        for c in channels { c.close(mode: .all, promise: nil) }
    }

    // MARK: - Connections

    /// Installs the server-side handlers on an accepted connection. The lab owns the listening socket.
    /// A connection past max_connections + 1 gets ERROR 1040 instead (the last one of those is kept for SUPER;
    /// the handler checks that after the login).
    /// `inline` runs the connection's statements on its own event loop instead of the statement pool: only for an
    /// EmbeddedChannel, whose loop is the calling thread and which no other thread may touch.
    public func configureConnection(_ channel: Channel, inline: Bool = false) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            enum Admission { case stopped, tooMany, admitted }
            let id = ObjectIdentifier(channel)
            let variables = self.engine.variables
            let admission = self.runtime.withLockedValue { r -> Admission in
                guard r.running else { return .stopped }
                r.connections += 1
                guard r.channels.count <= variables.maxConnections else {
                    r.connectionErrorsMaxConnections += 1
                    return .tooMany
                }
                r.channels[id] = channel
                r.maxUsedConnections = max(r.maxUsedConnections, r.channels.count)
                return .admitted
            }
            switch admission {
            case .stopped:
                channel.close(promise: nil)
            case .tooMany:
                try channel.pipeline.syncOperations.addHandler(TooManyConnectionsHandler())
            case .admitted:
                channel.closeFuture.whenComplete { [weak self] _ in
                    self?.runtime.withLockedValue { r in
                        if r.channels[id] === channel { r.channels[id] = nil }
                    }
                }
                let limit = PacketSizeLimit(allowed: variables.maxAllowedPacket, current: MySQLServerHandler.handshakeLimit)
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MySQLPacketDecoder(limit: limit)))
                try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(MySQLPacketEncoder()))
                try channel.pipeline.syncOperations.addHandler(MySQLServerHandler(store: self, limit: limit, inline: inline))
            }
        }
    }

    /// Client connections open now (what max_connections counts).
    var connectionCount: Int { runtime.withLockedValue { $0.channels.count } }

    /// A connection the server ended: Aborted_clients once logged in, Aborted_connects before.
    func connectionAborted(authenticated: Bool) {
        runtime.withLockedValue { r in
            if authenticated { r.abortedClients += 1 } else { r.abortedConnects += 1 }
        }
    }

    let processes = ProcessList()

    func connectionClosed(_ id: UInt32) { processes.closed(id) }

    var isRunning: Bool { runtime.withLockedValue { $0.running } }

    func registerReplica(serverID: UInt32, host: String) { runtime.withLockedValue { $0.replicas[serverID] = host } }
    func unregisterReplica(serverID: UInt32) { runtime.withLockedValue { _ = $0.replicas.removeValue(forKey: serverID) } }

    func authenticate(user: String, address: String, token: [UInt8], scramble: [UInt8], connectionID: UInt32) -> Result<Session, StoreError> {
        let engine = self.engine
        guard runtime.withLockedValue({ $0.running }) else {
            return .failure(StoreError(code: 1053, sqlState: "08S01", message: "Server shutdown in progress"))
        }
        guard let account = engine.account(named: user, from: address), NativePassword.verify(token: token, password: account.password, scramble: scramble) else {
            return .failure(StoreError.accessDenied(user: user, host: address, usingPassword: !token.isEmpty))
        }
        return .success(Session(connectionID: connectionID, user: user, host: address, account: account))
    }

    /// `Questions` and when the server started (SHOW GLOBAL STATUS's Questions and Uptime), read without a query,
    /// for the lab's mysqld_exporter-style metrics.
    public var questionsAndStart: (questions: Int, startedAt: Date) {
        runtime.withLockedValue { ($0.questions, $0.startedAt) }
    }

    func statisticsLine() -> String {
        let (start, questions, count) = runtime.withLockedValue { ($0.startedAt, $0.questions, $0.channels.count) }
        let uptime = max(1, Int(Date().timeIntervalSince(start)))
        return "Uptime: \(uptime)  Threads: \(count)  Questions: \(questions)  Slow queries: 0  Opens: 0  Flush tables: 3  Open tables: 0  Queries per second avg: \(String(format: "%.3f", Double(questions) / Double(uptime)))"
    }

    // MARK: - Queries

    struct ScriptRun: Sendable {
        var outcomes: [Result<StoreResult, StoreError>]
        var commit: (file: String, position: UInt64)?
        var delaySeconds: Double = 0
        /// Bytes of answers held so far (bounded by StatementMemory.limit).
        var spent = 0
    }

    /// Runs every statement of a query text in order, stopping at the first error (as MySQL does).
    /// Runs on a thread that may wait (the statement pool): a write waits for another transaction's lock up to
    /// innodb_lock_wait_timeout.
    func runScript(_ sql: String, session: inout Session, bypassReadOnly: Bool = false) -> ScriptRun {
        runtime.withLockedValue { $0.questions += 1 }
        var run = ScriptRun(outcomes: [], commit: nil)
        let pending: [Parser.Pending]
        do {
            pending = try Parser.parseScript(sql)
        } catch {
            let e = Self.storeError(error)
            session.lastWarnings = [StoreWarning(level: "Error", code: e.code, message: e.message)]
            run.outcomes.append(.failure(e))
            return run
        }
        runPending(pending[...], run: &run, session: &session, bypassReadOnly: bypassReadOnly)
        return run
    }

    /// The threads statements run on: SQLite's calls may wait for the disk and for another transaction's lock,
    /// so none runs on an event loop.
    static let waitingPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 32)
        pool.start()
        return pool
    }()

    /// `runScript` from an async caller, on the statement pool: SQLite's calls block on the disk and on locks.
    func runScriptWaiting(_ sql: String, session: inout Session) async -> ScriptRun {
        let box = NIOLockedValueBox(session)
        let done = await (try? Self.waitingPool.runIfActive {
            box.withLockedValue { self.runScript(sql, session: &$0) }
        }) ?? ScriptRun(outcomes: [.failure(Self.storeError(StoreConnectionError.lostConnection()))], commit: nil)
        session = box.withLockedValue { $0 }
        return done
    }

    private func runPending(_ pending: ArraySlice<Parser.Pending>, run: inout ScriptRun, session: inout Session, bypassReadOnly: Bool) {
        for p in pending {
            do {
                let parsed = try p.parse()
                let executed = try dispatch(parsed, session: &session, bypassReadOnly: bypassReadOnly)
                // Every statement's answer is held until the query's last one has run: together they are bounded.
                run.spent += executed.result.estimatedBytes + StatementMemory.perColumn
                if run.spent > StatementMemory.limit { throw StoreError.outOfMemory(needed: run.spent) }
                run.outcomes.append(.success(executed.result))
                if let c = executed.commit { run.commit = c }
                // SLEEP(n) is at most a day each, and a query holds at most a year of them (their sum feeds a timer).
                run.delaySeconds = min(run.delaySeconds + executed.delaySeconds, 31_536_000)
                if case .show(.warnings) = parsed.statement {} else if case .show(.errors) = parsed.statement {} else {
                    session.lastWarnings = executed.result.warningList
                }
            } catch {
                let e = Self.storeError(error)
                session.lastWarnings = [StoreWarning(level: "Error", code: e.code, message: e.message)]
                run.outcomes.append(.failure(e))
                break
            }
        }
    }

    /// A client went away: its open transaction is rolled back (and its lock released), as mysqld does.
    func endSession(_ session: inout Session) {
        engine.rollbackTransaction(&session)
    }

    static func storeError(_ error: Error) -> StoreError {
        if let e = error as? StoreError { return e }
        if let c = error as? StoreConnectionError { return StoreError(code: c.code, sqlState: "HY000", message: c.message) }
        return StoreError(code: 1105, sqlState: "HY000", message: "Unknown error: \(error)")
    }

    private func dispatch(_ parsed: ParsedStatement, session: inout Session, bypassReadOnly: Bool) throws -> Executed {
        func requireSuper(_ what: String = "SUPER or REPLICATION_SLAVE_ADMIN") throws {
            if !session.isSuper { throw StoreError.specificDenied(what) }
        }
        switch parsed.statement {
        case .select(let q) where q.from == nil && q.items.count == 1 && Self.sleepArgument(q.items[0]) != nil:
            // SELECT SLEEP(n), the classic "slow query": answered n seconds later, returning 0.
            guard let arg = Self.sleepArgument(q.items[0]) else { return try engine.execute(parsed, session: &session) }
            let seconds = try Evaluator(table: nil, session: session, engine: engine, state: engine.state.withLockedValue { $0 }, clause: "field list").eval(arg, row: nil)
            guard let n = seconds.number, n >= 0 else {
                return Executed(result: StoreResult(columns: [StoreColumn(name: q.items[0].name, type: .longlong, length: 1)], rows: [[nil]]), commit: nil)
            }
            let result = StoreResult(columns: [StoreColumn(name: q.items[0].name, type: .longlong, length: 1, flags: ColumnFlag.notNull)], rows: [["0"]])
            return Executed(result: result, commit: nil, delaySeconds: min(n, 86_400))
        case .startReplica(let threads):
            try requireSuper()
            guard let replica else {
                throw StoreError(code: 1200, sqlState: "HY000", message: "The server is not configured as replica; fix in config file or with CHANGE REPLICATION SOURCE TO")
            }
            replica.start(threads)
            return Executed(result: StoreResult(affectedRows: 0), commit: nil)
        case .stopReplica(let threads):
            try requireSuper()
            // MySQL warns only when no thread was running before the STOP (asked after it, every STOP warned).
            let wasRunning = replica?.isRunning ?? false
            replica?.stop(threads)
            var r = StoreResult(affectedRows: 0)
            if !wasRunning {
                r.warningList = [StoreWarning(level: "Note", code: 3084, message: "Replication thread(s) for channel '' are already stopped.")]
            }
            return Executed(result: r, commit: nil)
        case .resetReplica(let all):
            try requireSuper("RELOAD")
            if let replica {
                if replica.isRunning { throw StoreError.replicaRunning() }
                let config = replica.runtime.withLockedValue { $0.config }
                runtime.withLockedValue { $0.replica = nil }
                deleteRelayLogs()
                if all {
                    try? FileManager.default.removeItem(atPath: replica.configPath)
                } else {
                    var c = config
                    c.logFile = ""
                    c.logPosition = 4
                    c.running = false
                    let fresh = ReplicaChannel(store: self, settings: settings, config: c, applied: nil)
                    fresh.saveConfig()
                    runtime.withLockedValue { $0.replica = fresh }
                }
                engine.clearAppliedSource()
            }
            return Executed(result: StoreResult(affectedRows: 0), commit: nil)
        case .changeSource(let options):
            try requireSuper()
            if let replica, replica.isRunning { throw StoreError.replicaRunning() }
            var config = replica?.runtime.withLockedValue { $0.config } ?? ReplicaConfig(connectRetry: settings.connectRetrySeconds)
            var positionChanged = false
            var sourceChanged = false
            for (name, value) in options {
                let text = value.text ?? ""
                func int() throws -> Int {
                    guard case .int(let i) = value, i >= 0, i <= Int64(Int32.max) else {
                        throw StoreError.syntax(near: text, line: 1)
                    }
                    return Int(i)
                }
                switch name {
                case "SOURCE_HOST": config.host = text; sourceChanged = true
                case "SOURCE_PORT": config.port = try int(); sourceChanged = true
                case "SOURCE_USER": config.user = text
                case "SOURCE_PASSWORD": config.password = text
                case "SOURCE_LOG_FILE": config.logFile = text; positionChanged = true
                case "SOURCE_LOG_POS": config.logPosition = UInt64(try int()); positionChanged = true
                case "SOURCE_AUTO_POSITION":
                    config.autoPosition = try int() != 0
                    if config.autoPosition && !settings.gtidMode {
                        throw StoreError(code: 1777, sqlState: "HY000", message: "CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION = 1 cannot be executed because @@GLOBAL.GTID_MODE = OFF.")
                    }
                case "SOURCE_DELAY": config.delay = try int()
                case "SOURCE_CONNECT_RETRY": config.connectRetry = try int()
                case "SOURCE_HEARTBEAT_PERIOD":
                    guard let p = value.number, p >= 0, p <= 4_294_967 else { throw StoreError.syntax(near: text, line: 1) }
                    config.heartbeatPeriod = p
                case "SOURCE_RETRY_COUNT", "GET_SOURCE_PUBLIC_KEY", "SOURCE_SSL", "SOURCE_USE_GTID",
                     "SOURCE_SSL_VERIFY_SERVER_CERT", "SOURCE_ZSTD_COMPRESSION_LEVEL":
                    break
                default:
                    throw StoreError.notSupported("CHANGE REPLICATION SOURCE TO \(name)")
                }
            }
            if sourceChanged && !positionChanged { config.logFile = ""; config.logPosition = 4 }
            config.running = false
            let applied: SourcePosition? = positionChanged || sourceChanged ? nil : engine.appliedSource
            if positionChanged || sourceChanged { engine.clearAppliedSource() }
            let channel = ReplicaChannel(store: self, settings: settings, config: config, applied: applied ?? (replica.map { r in
                r.runtime.withLockedValue { SourcePosition(file: $0.relaySourceLogFile, position: $0.execSourceLogPos) }
            }).flatMap { positionChanged || sourceChanged ? nil : $0 })
            if let old = replica {
                // Keep what was received but not applied (CHANGE … SOURCE_DELAY on a stopped replica).
                let keep = old.runtime.withLockedValue { r in (r.relay, r.applied, r.retrieved, r.sourceLogFile, r.readSourceLogPos, r.completeFile, r.completePos, r.relayFileNumber, r.relayLogFile, r.relayLogPos, r.relaySourceLogFile, r.execSourceLogPos) }
                if !(positionChanged || sourceChanged) {
                    channel.runtime.withLockedValue { r in
                        (r.relay, r.applied, r.retrieved, r.sourceLogFile, r.readSourceLogPos, r.completeFile, r.completePos, r.relayFileNumber, r.relayLogFile, r.relayLogPos, r.relaySourceLogFile, r.execSourceLogPos) = keep
                    }
                }
            }
            channel.saveConfig()
            runtime.withLockedValue { $0.replica = channel }
            var r = StoreResult(affectedRows: 0)
            if options.contains(where: { $0.0 == "SOURCE_PASSWORD" || $0.0 == "SOURCE_USER" }) {
                r.warningList = [
                    StoreWarning(level: "Note", code: 1759, message: "Sending passwords in plain text without SSL/TLS is extremely insecure."),
                    StoreWarning(level: "Note", code: 1760, message: "Storing MySQL user name or password information in the connection metadata repository is not secure and is therefore not recommended. Please consider using the USER and PASSWORD connection options for START REPLICA; see the 'START REPLICA Syntax' in the MySQL Manual for more information."),
                ]
            }
            return Executed(result: r, commit: nil)
        case .resetBinaryLogs:
            try requireSuper("RELOAD")
            try binlog?.reset()
            engine.resetGTIDs()
            return Executed(result: StoreResult(affectedRows: 0), commit: nil)
        case .show(.replicaStatus(let legacy)):
            if !session.isSuper, !session.account.has("REPLICATION CLIENT", database: nil) {
                throw StoreError.specificDenied("SUPER, REPLICATION CLIENT")
            }
            guard let replica else {
                let empty = ReplicaStatus.emptyColumns(legacyNames: legacy)
                return Executed(result: StoreResult(columns: empty, rows: []), commit: nil)
            }
            return Executed(result: replica.snapshot(executed: engine.gtidExecuted).result(legacyNames: legacy), commit: nil)
        case .show(.status(let like)):
            let c = semiSync.counters
            let (start, questions, count, r) = runtime.withLockedValue { ($0.startedAt, $0.questions, $0.channels.count, $0) }
            var rows: [[String?]] = [
                ["Aborted_clients", String(r.abortedClients)],
                ["Aborted_connects", String(r.abortedConnects)],
                ["Connection_errors_max_connections", String(r.connectionErrorsMaxConnections)],
                ["Connections", String(r.connections)],
                ["Innodb_row_lock_current_waits", String(engine.writeLock.waiting)],
                ["Max_used_connections", String(r.maxUsedConnections)],
                ["Questions", String(questions)],
                ["Rpl_semi_sync_source_clients", String(c.clients)],
                ["Rpl_semi_sync_source_no_tx", String(c.no)],
                ["Rpl_semi_sync_source_status", c.active ? "ON" : "OFF"],
                ["Rpl_semi_sync_source_yes_tx", String(c.yes)],
                ["Threads_connected", String(count)],
                ["Uptime", String(Int(Date().timeIntervalSince(start)))],
            ]
            if let like { rows = rows.filter { Like.matches($0[0] ?? "", pattern: like) } }
            return Executed(result: StoreResult(columns: [.text("Variable_name"), .text("Value", chars: 1024)], rows: rows), commit: nil)
        case .show(.replicas(let legacy)):
            try requireSuper("REPLICATION SLAVE")
            let list = runtime.withLockedValue { $0.replicas }
            let cols: [StoreColumn] = [.number("Server_Id", length: 10), .text("Host"), .number("Port", length: 10), .number(legacy ? "Master_Id" : "Source_Id", length: 10), .text(legacy ? "Slave_UUID" : "Replica_UUID")]
            return Executed(result: StoreResult(columns: cols, rows: list.sorted { $0.key < $1.key }.map { [String($0.key), "", "3306", String(settings.serverID), ""] }), commit: nil)
        case .show(.processlist):
            return Executed(result: processes.result(replica: replica?.snapshot(executed: engine.gtidExecuted)), commit: nil)
        case .set(let assignments) where assignments.contains(where: { $0.global && $0.name.hasPrefix("rpl_semi_sync") && $0.name.hasSuffix("enabled") }):
            let r = try engine.execute(parsed, session: &session)
            semiSync.reset()
            return r
        default:
            if bypassReadOnly && parsed.statement.isWrite {
                // init_file runs as the bootstrap thread, which read_only does not stop.
                let saved = engine.variables
                engine.mutateVariables { $0.readOnly = false; $0.superReadOnly = false }
                defer { engine.mutateVariables { $0 = saved } }
                return try engine.execute(parsed, session: &session)
            }
            return try engine.execute(parsed, session: &session)
        }
    }

    static func sleepArgument(_ item: SelectItem) -> Expr? {
        if case .expr(.function("SLEEP", let args, false)) = item.kind, args.count == 1 { return args[0] }
        return nil
    }

    private func deleteRelayLogs() {
        let fm = FileManager.default
        let files = (try? fm.contentsOfDirectory(atPath: settings.dataDirectory)) ?? []
        for f in files where f.hasPrefix(settings.relayLog + ".") {
            try? fm.removeItem(atPath: settings.dataDirectory + "/" + f)
        }
    }

    /// The applier's entry point: repeat a source transaction with its GTID, insert id and clock.
    func applyReplicated(_ queries: [BinlogEvent.QueryBody], gtid: (String, Int64)?, source: SourcePosition) throws {
        let replay = Replay(insertID: 0, millis: queries.first?.millis ?? 0, gtid: gtid.map { (uuid: $0.0, gno: $0.1) }, source: source,
                            writeBinlog: settings.logBin != nil)
        try replayLogged(queries.map { LoggedStatement(db: $0.database, sql: $0.sql, insertID: $0.insertID, millis: $0.millis) },
                         engine: engine, replay: replay)
    }

    /// Runs SQL in-process, for the shell's `sql` command and tests. Several statements may be separated by ';';
    /// the last result is returned, the first error thrown.
    public func execute(_ sql: String, user: String = "root") async throws -> StoreResult {
        guard runtime.withLockedValue({ $0.running }) else { throw StoreConnectionError.cannotConnect(host: settings.host, port: settings.port) }
        var session: Session
        if let account = engine.account(named: user, from: "localhost") {
            session = Session(connectionID: nextConnectionID(), user: user, host: "localhost", account: account)
        } else {
            throw StoreError.accessDenied(user: user, host: "localhost", usingPassword: false)
        }
        let run = await runScriptWaiting(sql, session: &session)
        endSession(&session)
        guard isRunning else { throw StoreConnectionError.lostConnection() }
        if let commit = run.commit, let wait = semiSync.waitIfEnabled(file: commit.file, position: commit.position, on: group.next()) {
            try await wait.get()
        }
        if run.delaySeconds > 0 { try await Task.sleep(nanoseconds: UInt64(run.delaySeconds * 1_000_000_000)) }
        var last: StoreResult?
        for o in run.outcomes {
            switch o {
            case .success(let r): last = r
            case .failure(let e): throw e
            }
        }
        return last ?? StoreResult(affectedRows: 0)
    }

    /// Opens a session that lasts across statements, as one mysql client connection does: its database, user
    /// variables, last insert id and SHOW WARNINGS carry from one statement to the next. It belongs to this run of
    /// the server: after a crash or restart, `execute(_:in:)` throws "MySQL server has gone away" (2006).
    public func openSession(user: String = "root", database: String? = nil) throws -> StoreClientSession {
        guard runtime.withLockedValue({ $0.running }) else { throw StoreConnectionError.cannotConnect(host: settings.host, port: settings.port) }
        guard let account = engine.account(named: user, from: "localhost") else {
            throw StoreError.accessDenied(user: user, host: "localhost", usingPassword: false)
        }
        var session = Session(connectionID: nextConnectionID(), user: user, host: "localhost", account: account)
        session.database = database
        return StoreClientSession(session: session, engine: ObjectIdentifier(engine))
    }

    /// Runs SQL in a lasting session (see `openSession`); several statements may be separated by ';'. The last
    /// result is returned, the first error thrown.
    public func execute(_ sql: String, in client: StoreClientSession) async throws -> StoreResult {
        var last: StoreResult?
        for outcome in try await executeScript(sql, in: client) {
            switch outcome {
            case .success(let result): last = result
            case .failure(let error): throw error
            }
        }
        return last ?? StoreResult(affectedRows: 0)
    }

    /// Every statement of `sql` in the session, each one's outcome in order; the first error ends the script, as
    /// the server does with a multi-statement query. Throws when the connection is gone.
    public func executeScript(_ sql: String, in client: StoreClientSession) async throws -> [Result<StoreResult, StoreError>] {
        guard isRunning, ObjectIdentifier(engine) == client.engine else { throw StoreConnectionError.goneAway() }
        var session = client.session.withLockedValue { $0 }
        let run = await runScriptWaiting(sql, session: &session)
        client.session.withLockedValue { $0 = session }
        guard isRunning else { throw StoreConnectionError.lostConnection() }
        if let commit = run.commit, let wait = semiSync.waitIfEnabled(file: commit.file, position: commit.position, on: group.next()) {
            try await wait.get()
        }
        if run.delaySeconds > 0 { try await Task.sleep(nanoseconds: UInt64(run.delaySeconds * 1_000_000_000)) }
        return run.outcomes
    }

    /// Like `execute`, but returns every statement's outcome in order (the mysql client prints one block per
    /// statement and stops at the first error), for the shell.
    public func executeScript(_ sql: String, user: String = "root") async -> [Result<StoreResult, StoreError>] {
        guard runtime.withLockedValue({ $0.running }) else {
            let e = StoreConnectionError.cannotConnect(host: settings.host, port: settings.port)
            return [.failure(StoreError(code: e.code, sqlState: "HY000", message: e.message))]
        }
        guard let account = engine.account(named: user, from: "localhost") else {
            return [.failure(StoreError.accessDenied(user: user, host: "localhost", usingPassword: false))]
        }
        var session = Session(connectionID: nextConnectionID(), user: user, host: "localhost", account: account)
        let run = await runScriptWaiting(sql, session: &session)
        endSession(&session)
        if let commit = run.commit, let wait = semiSync.waitIfEnabled(file: commit.file, position: commit.position, on: group.next()) {
            do { try await wait.get() } catch { return run.outcomes + [.failure(Self.storeError(error))] }
        }
        return run.outcomes
    }

    public var status: StoreStatus {
        let (running, replica, connections) = runtime.withLockedValue { ($0.running, $0.replica, $0.channels.count) }
        let engine = self.engine
        let vars = engine.variables
        let executed = engine.gtidExecuted
        let bl = engine.binlog?.status
        let semi = semiSync.counters
        return StoreStatus(
            running: running, role: replica == nil ? .primary : .replica, serverName: settings.serverName, serverID: settings.serverID,
            serverUUID: engine.serverUUID, host: settings.host, port: settings.port, readOnly: vars.readOnly, superReadOnly: vars.superReadOnly,
            binlogFile: bl?.file, binlogPosition: bl?.position, gtidExecuted: settings.gtidMode ? executed.description : "", semiSyncEnabled: vars.semiSyncSourceEnabled,
            semiSyncActive: semi.active, connections: connections, replica: replica?.snapshot(executed: executed))
    }
}

extension ReplicaStatus {
    static func emptyColumns(legacyNames: Bool) -> [StoreColumn] {
        let blank = ReplicaStatus(ioState: "", sourceHost: "", sourceUser: "", sourcePort: 0, connectRetry: 0, sourceLogFile: "", readSourceLogPos: 0,
                                  relayLogFile: "", relayLogPos: 0, relaySourceLogFile: "", ioRunning: .no, sqlRunning: false, lastErrno: 0, lastError: "",
                                  execSourceLogPos: 0, relayLogSpace: 0, secondsBehindSource: nil, lastIOErrno: 0, lastIOError: "", lastSQLErrno: 0,
                                  lastSQLError: "", sourceServerID: 0, sourceUUID: "", sqlDelay: 0, sqlRemainingDelay: nil, sqlRunningState: "",
                                  lastIOErrorTimestamp: "", lastSQLErrorTimestamp: "", retrievedGtidSet: "", executedGtidSet: "", autoPosition: false)
        return blank.result(legacyNames: legacyNames).columnInfo
    }
}

extension StoreEngine {
    func clearAppliedSource() { state.withLockedValue { $0.appliedSource = nil } }
    func resetGTIDs() { state.withLockedValue { $0.gtidExecuted = GTIDSet() } }

}

/// One lasting client session of a store (the shell's `sql`): see `MySQLStore.openSession`.
public final class StoreClientSession: Sendable {
    let session: NIOLockedValueBox<Session>
    /// The server run it belongs to.
    let engine: ObjectIdentifier

    init(session: Session, engine: ObjectIdentifier) {
        self.session = NIOLockedValueBox(session)
        self.engine = engine
    }

    /// The connection id the server gave it (`SELECT CONNECTION_ID()`).
    public var connectionID: UInt32 { session.withLockedValue { $0.connectionID } }
    /// The current database (`USE`).
    public var database: String? { session.withLockedValue { $0.database } }
}
