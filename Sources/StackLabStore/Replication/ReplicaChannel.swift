import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// CHANGE REPLICATION SOURCE TO … as persisted in the data directory (MySQL's mysql.slave_master_info).
struct ReplicaConfig: Codable, Sendable, Equatable {
    var host = ""
    var port = 3306
    var user = ""
    var password = ""
    var logFile = ""
    var logPosition: UInt64 = 4
    var autoPosition = false
    var delay = 0
    var connectRetry = 60
    /// SOURCE_HEARTBEAT_PERIOD in seconds; nil = half of replica_net_timeout.
    var heartbeatPeriod: Double?
    /// Whether replication was running, so it restarts with the server (no skip-replica-start).
    var running = false

    /// mysqld's bounds: SOURCE_CONNECT_RETRY up to a year, SOURCE_DELAY up to 2^31 - 1 seconds, heartbeats up to
    /// 4294967 seconds.
    static let maxSeconds = 31_536_000
    static let maxDelay = Int(Int32.max)
    static let maxHeartbeatPeriod = 4_294_967.0

    /// The settings as CHANGE REPLICATION SOURCE TO could have made them: replica.json read back from a data
    /// directory may have been edited, and its numbers feed timers.
    var withinLimits: ReplicaConfig {
        var c = self
        c.port = min(max(0, port), 65535)
        c.logPosition = min(logPosition, UInt64(UInt32.max))
        c.delay = min(max(0, delay), Self.maxDelay)
        c.connectRetry = min(max(0, connectRetry), Self.maxSeconds)
        c.heartbeatPeriod = heartbeatPeriod.flatMap { $0.isFinite ? min(max(0, $0), Self.maxHeartbeatPeriod) : nil }
        return c
    }
}

/// Replica_IO_Running.
public enum ReplicaIOState: String, Sendable {
    case no = "No", yes = "Yes", connecting = "Connecting"
}

/// One event in the relay log, with where it came from.
struct RelayEntry: Sendable {
    var sourceFile: String
    var event: BinlogEvent
    var relayFile: String
    var relayEnd: UInt64
}

/// The replica's connection to its source: the receiver (IO) thread writes the relay log, the applier (SQL)
/// thread executes it. Both are tasks; their observable state lives in `Runtime`, read by SHOW REPLICA STATUS.
final class ReplicaChannel: Sendable {
    struct Runtime: Sendable {
        var config: ReplicaConfig
        var receiver = ReceiverState()
        var applier = ApplierState()
        var ioGeneration = 0
        var sqlGeneration = 0
        var ioTask: Task<Void, Never>?
        var sqlTask: Task<Void, Never>?
        var connection: MySQLConnection?
        /// Heartbeats received (performance_schema's COUNT_RECEIVED_HEARTBEATS).
        var heartbeats = 0
        // Receiver position in the source's binlog.
        var sourceLogFile = ""
        var readSourceLogPos: UInt64 = 4
        /// Last transaction boundary received: where a reconnect resumes (a half-received transaction is refetched).
        var completeFile = ""
        var completePos: UInt64 = 4
        // Relay log.
        var relay: [RelayEntry] = []
        var applied = 0
        var relayFile = ""
        var relayFileNumber = 0
        var relayWritePos: UInt64 = 0
        var relayFD: Int32 = -1
        var relayLogFile = ""
        var relayLogPos: UInt64 = 4
        // Applier position in the source's binlog.
        var relaySourceLogFile = ""
        var execSourceLogPos: UInt64 = 0
        var retrieved = GTIDSet()
        var sourceServerID = 0
        var sourceUUID = ""
        var applierWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let store: MySQLStore
    let settings: StoreSettings
    let runtime: NIOLockedValueBox<Runtime>

    init(store: MySQLStore, settings: StoreSettings, config: ReplicaConfig, applied: SourcePosition?) {
        self.store = store
        self.settings = settings
        var r = Runtime(config: config)
        // relay_log_recovery: resume from what was applied; unapplied relay log is fetched again.
        if let applied {
            r.sourceLogFile = applied.file
            r.readSourceLogPos = applied.position
            r.relaySourceLogFile = applied.file
            r.execSourceLogPos = applied.position
        } else {
            r.sourceLogFile = config.logFile
            r.readSourceLogPos = config.logPosition
            r.relaySourceLogFile = config.logFile
            r.execSourceLogPos = config.logPosition
        }
        r.completeFile = r.sourceLogFile
        r.completePos = r.readSourceLogPos
        // Relay log numbering continues across restarts (relay-bin.index), as mysqld's does.
        let index = (try? String(contentsOfFile: settings.dataDirectory + "/" + settings.relayLog + ".index", encoding: .utf8)) ?? ""
        r.relayFileNumber = min(index.split(separator: "\n").compactMap { $0.split(separator: ".").last.flatMap { Int($0) } }.max() ?? 0,
                                BinaryLog.maxFileNumber - 1)
        self.runtime = NIOLockedValueBox(r)
    }

    var configPath: String { settings.dataDirectory + "/replica.json" }

    func saveConfig() {
        let config = runtime.withLockedValue { $0.config }
        if let data = try? JSONEncoder().encode(config) { try? data.write(to: URL(fileURLWithPath: configPath), options: .atomic) }
    }

    static func loadConfig(dataDirectory: String) -> ReplicaConfig? {
        guard let data = FileManager.default.contents(atPath: dataDirectory + "/replica.json") else { return nil }
        return (try? JSONDecoder().decode(ReplicaConfig.self, from: data))?.withinLimits
    }

    var sourceDescription: String {
        runtime.withLockedValue { "\($0.config.user)@\($0.config.host):\($0.config.port)" }
    }

    // MARK: - START / STOP

    func start(_ threads: ReplicaThreads) {
        let (startIO, startSQL): (Int?, Int?) = runtime.withLockedValue { r in
            var io: Int?, sql: Int?
            if threads != .sql, r.receiver.running == .no {
                r.ioGeneration += 1
                r.receiver.start()
                io = r.ioGeneration
            }
            if threads != .io, !r.applier.running {
                r.sqlGeneration += 1
                r.applier.start()
                sql = r.sqlGeneration
            }
            r.config.running = true
            return (io, sql)
        }
        saveConfig()
        if let g = startSQL {
            let task = Task { await self.applierLoop(generation: g) }
            runtime.withLockedValue { if $0.sqlGeneration == g { $0.sqlTask = task } }
        }
        if let g = startIO {
            let task = Task { await self.receiverLoop(generation: g) }
            runtime.withLockedValue { if $0.ioGeneration == g { $0.ioTask = task } }
        }
    }

    func stop(_ threads: ReplicaThreads, persist: Bool = true) {
        let (conn, waiters, tasks): (MySQLConnection?, [CheckedContinuation<Void, Never>], [Task<Void, Never>]) = runtime.withLockedValue { r in
            var conn: MySQLConnection?
            var tasks: [Task<Void, Never>] = []
            if threads != .sql {
                r.ioGeneration += 1
                r.receiver.stop()
                conn = r.connection
                r.connection = nil
                if let t = r.ioTask { tasks.append(t) }
                r.ioTask = nil
                if r.relayFD >= 0 { close(r.relayFD); r.relayFD = -1 }
                // Drop a half-received transaction: the next start fetches it whole.
                r.relay = Array(r.relay.prefix(max(r.applied, Self.lastBoundary(r.relay))))
                r.sourceLogFile = r.completeFile
                r.readSourceLogPos = r.completePos
            }
            if threads != .io {
                r.sqlGeneration += 1
                r.applier.stop()
                if let t = r.sqlTask { tasks.append(t) }
                r.sqlTask = nil
            }
            if persist, r.receiver.running == .no, !r.applier.running { r.config.running = false }
            let w = r.applierWaiters
            r.applierWaiters = []
            return (conn, w, tasks)
        }
        if persist { saveConfig() }
        conn?.close()
        for t in tasks { t.cancel() }
        for w in waiters { w.resume() }
    }

    static func lastBoundary(_ relay: [RelayEntry]) -> Int {
        if let i = relay.lastIndex(where: { $0.event.kind == .xid }) { return i + 1 }
        return relay.firstIndex(where: { $0.event.kind == .gtid }) ?? relay.count
    }

    var isRunning: Bool { runtime.withLockedValue { $0.receiver.running != .no || $0.applier.running } }

    // MARK: - Receiver (IO thread)

    private func isCurrentIO(_ g: Int) -> Bool { runtime.withLockedValue { $0.ioGeneration == g } }

    private func receiverLoop(generation: Int) async {
        await store.replicaDialAllowed()
        while isCurrentIO(generation), !Task.isCancelled {
            let config = runtime.withLockedValue { $0.config }
            let source = "\(config.user)@\(config.host):\(config.port)"
            do {
                let netTimeout = store.engine.variables.replicaNetTimeout
                let conn = try await MySQLConnection.connect(host: config.host, port: config.port, user: config.user, password: config.password,
                                                             database: nil, dial: store.dial, readTimeoutSeconds: netTimeout)
                guard runtime.withLockedValue({ r -> Bool in
                    guard r.ioGeneration == generation else { return false }
                    r.connection = conn
                    return true
                }) else { conn.close(); return }
                try await stream(conn, generation: generation, source: source)
            } catch let e as StoreConnectionError where e.code == 13117 || e.code == 13114 {
                // Fatal: the IO thread stops.
                runtime.withLockedValue { r in
                    guard r.ioGeneration == generation else { return }
                    r.receiver.fatal(code: e.code, message: e.message, at: Self.errorTimestamp())
                }
                store.log(level: "ERROR", code: Self.errorCode(e.code), subsystem: "Repl", "Replica I/O for channel '': \(e.message), Error_code: \(Self.errorCode(e.code))")
                return
            } catch {
                guard isCurrentIO(generation), !Task.isCancelled else { return }
                let (message, code): (String, Int) = {
                    if let c = error as? StoreConnectionError { return (c.message, c.code) }
                    if let s = error as? StoreError { return (s.message, s.code) }
                    return ("\(error)", 2013)
                }()
                let lost: (Int, Bool)? = runtime.withLockedValue { r in
                    guard r.ioGeneration == generation else { return nil }
                    let immediate = r.receiver.connectionLost()
                    r.connection = nil
                    if r.relayFD >= 0 { close(r.relayFD); r.relayFD = -1 }
                    r.relay = Array(r.relay.prefix(max(r.applied, Self.lastBoundary(r.relay))))
                    r.sourceLogFile = r.completeFile
                    r.readSourceLogPos = r.completePos
                    return (r.config.connectRetry, immediate)
                }
                guard let (retry, wasConnected) = lost else { return }
                if wasConnected {
                    let pos = runtime.withLockedValue { ($0.sourceLogFile, $0.readSourceLogPos) }
                    store.log(level: "ERROR", code: "MY-010557", subsystem: "Repl", "Error reading packet from server for channel '': \(message) (server_errno=\(code))")
                    store.log(level: "Note", code: "MY-010570", subsystem: "Repl", "Replica I/O thread: Failed reading log event, reconnecting to retry, log '\(pos.0)' at position \(pos.1) for channel ''")
                    continue  // the first reconnect is immediate, as the real receiver does
                }
                let text: String? = runtime.withLockedValue { r in
                    guard r.ioGeneration == generation else { return nil }
                    return r.receiver.connectFailed(code: code, message: message, source: source, retrySeconds: retry, at: Self.errorTimestamp())
                }
                guard let text else { return }
                store.log(level: "ERROR", code: "MY-010584", subsystem: "Repl", "Replica I/O for channel '': \(text), Error_code: \(Self.errorCode(code))")
                // Connect_Retry: wait, but wake at once on STOP REPLICA (the task is cancelled).
                try? await Task.sleep(nanoseconds: UInt64(min(max(0, retry), ReplicaConfig.maxSeconds)) * 1_000_000_000 + (retry == 0 ? 50_000_000 : 0))
            }
        }
    }

    /// "MY-002003": MySQL pads error numbers to six digits in the error log.
    static func errorCode(_ code: Int) -> String {
        let s = String(code)
        return "MY-" + String(repeating: "0", count: max(0, 6 - s.count)) + s
    }

    static func errorTimestamp() -> String {
        // MySQL prints these as "241124 13:55:36" (YYMMDD HH:MM:SS).
        let s = Clock.datetime(Date())
        let d = s.prefix(10).replacingOccurrences(of: "-", with: "").dropFirst(2)
        return "\(d) \(s.suffix(8))"
    }

    private func stream(_ conn: MySQLConnection, generation: Int, source: String) async throws {
        let info = try await conn.query("SELECT @@server_id, @@server_uuid")
        // The source may be anything the learner pointed CHANGE REPLICATION SOURCE TO at: read its answer with care.
        let answer = info.rows.first ?? []
        let sourceID = Int((answer.first ?? "0") ?? "0") ?? 0
        if sourceID == settings.serverID {
            throw StoreConnectionError(code: 13117, message: "Fatal error: The replica I/O thread stops because source and replica have equal MySQL server ids; these ids must be different for replication to work (or the --replicate-same-server-id option must be used on replica but this does not always make sense; please check the manual before using it).")
        }
        _ = try await conn.query("SET @rpl_semi_sync_replica = 1")
        let netTimeout = store.engine.variables.replicaNetTimeout
        let heartbeat = runtime.withLockedValue { $0.config.heartbeatPeriod } ?? Double(netTimeout) / 2
        _ = try await conn.query("SET @source_heartbeat_period = \(Int64(heartbeat * 1_000_000_000))")
        let (config, file, pos, relayNumber): (ReplicaConfig, String, UInt64, Int) = runtime.withLockedValue { r in
            r.sourceServerID = sourceID
            r.sourceUUID = (answer.count > 1 ? answer[1] : nil) ?? ""
            // Past mysqld's last extension number the relay log starts again at 1: every relay file before the
            // current one is refetched or applied already (relay_log_recovery).
            r.relayFileNumber = r.relayFileNumber < BinaryLog.maxFileNumber ? r.relayFileNumber + 1 : 1
            return (r.config, r.sourceLogFile, r.readSourceLogPos, r.relayFileNumber)
        }
        try openRelayFile(number: relayNumber)
        var body = ByteBuffer()
        if config.autoPosition {
            let have = runtime.withLockedValue { $0.retrieved }
            var set = store.engine.gtidExecuted
            set.formUnion(have)
            body.writeInteger(UInt16(0), endianness: .little)
            body.writeInteger(UInt32(truncatingIfNeeded: settings.serverID), endianness: .little)
            body.writeInteger(UInt32(0), endianness: .little)
            body.writeInteger(UInt64(4), endianness: .little)
            body.writeLengthEncodedString(set.description)
            try await conn.sendCommand(.binlogDumpGTID, body)
        } else {
            body.writeInteger(UInt32(truncatingIfNeeded: pos), endianness: .little)
            body.writeInteger(UInt16(0), endianness: .little)
            body.writeInteger(UInt32(truncatingIfNeeded: settings.serverID), endianness: .little)
            body.writeString(file)
            try await conn.sendCommand(.binlogDump, body)
        }
        // A STOP REPLICA that came while we were connecting wins: the receiver stays stopped.
        let current = runtime.withLockedValue { r -> Bool in
            guard r.ioGeneration == generation else { return false }
            r.receiver.connected()
            return true
        }
        guard current else { return }
        store.log(level: "System", code: "MY-010562", subsystem: "Repl", "Replica I/O thread for channel '': connected to source '\(source)',replication started in log '\(file.isEmpty ? "FIRST" : file)' at position \(pos)")
        var pendingGTID: (String, Int64)?
        while isCurrentIO(generation) {
            // Silence longer than replica_net_timeout (no event, no heartbeat) means the source is gone.
            let packet = try await conn.nextPacket(timeoutSeconds: netTimeout)
            var p = packet.payload
            guard let head = p.readInteger(as: UInt8.self) else { throw StoreConnectionError.lostConnection() }
            if head == 0xFF {
                var whole = packet.payload
                let e = MySQLConnection.decodeError(whole)
                whole.moveReaderIndex(to: 0)
                if e.code == 1236 {
                    throw StoreConnectionError(code: 13114, message: "Got fatal error 1236 from source when reading data from binary log: '\(e.message)'")
                }
                throw e
            }
            guard head == 0x00 else { throw StoreConnectionError.lostConnection() }
            var needAck = false
            if p.getInteger(at: p.readerIndex, as: UInt8.self) == 0xEF, p.readableBytes >= 2 + BinlogEvent.headerLength {
                p.moveReaderIndex(forwardBy: 1)
                needAck = p.readInteger(as: UInt8.self) == 1
            }
            guard let event = BinlogEvent.decode(&p) else { throw StoreConnectionError(code: 13114, message: "Got fatal error 1236 from source when reading data from binary log: 'corrupt event'") }
            if event.kind == .heartbeat {  // keeps the connection alive; not written to the relay log
                runtime.withLockedValue { $0.heartbeats += 1 }
                continue
            }
            let ack: (String, UInt64)? = try runtime.withLockedValue { r in
                guard r.ioGeneration == generation else { return nil }
                if let rot = event.rotation {
                    r.sourceLogFile = rot.file
                    r.readSourceLogPos = rot.position
                    if r.completeFile != rot.file { r.completeFile = rot.file; r.completePos = rot.position }
                }
                try self.appendRelay(&r, event)
                if event.kind != .rotate { r.readSourceLogPos = UInt64(event.endPosition) }
                if let g = event.gtid { pendingGTID = (g.uuid, g.gno) }
                if event.kind == .xid {
                    if let g = pendingGTID { r.retrieved.insert(uuid: g.0, gno: g.1) }
                    pendingGTID = nil
                    r.completeFile = r.sourceLogFile
                    r.completePos = r.readSourceLogPos
                }
                return needAck ? (r.sourceLogFile, r.readSourceLogPos) : nil
            }
            wakeApplier()
            if let ack {
                var b = ByteBuffer()
                b.writeInteger(UInt8(0xEF))
                b.writeInteger(ack.1, endianness: .little)
                b.writeString(ack.0)
                try await conn.send(b, sequence: 0)
            }
        }
    }

    private func openRelayFile(number: Int) throws {
        let name = BinaryLog.fileName(settings.relayLog, number)
        let path = settings.dataDirectory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o640)
        guard fd >= 0 else { throw StoreError(code: 1, sqlState: "HY000", message: "Can't create/write to file '\(path)'") }
        var fde = BinlogEvent.formatDescription(serverID: UInt32(truncatingIfNeeded: settings.serverID), timestamp: UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970)), version: StoreEngine.version)
        fde.endPosition = UInt32(4 + fde.size)
        let bytes = binlogMagic + fde.encoded()
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        runtime.withLockedValue { r in
            if r.relayFD >= 0 { close(r.relayFD) }
            r.relayFD = fd
            r.relayFile = name
            r.relayWritePos = UInt64(bytes.count)
            if r.relayLogFile.isEmpty || r.applied >= r.relay.count { r.relayLogFile = name; r.relayLogPos = UInt64(bytes.count) }
        }
        // The index lists the relay files there are (mysqld appends each new one), never a number range.
        let indexPath = settings.dataDirectory + "/" + settings.relayLog + ".index"
        var listed = ((try? String(contentsOfFile: indexPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        listed.removeAll { $0 == "./" + name || !FileManager.default.fileExists(atPath: settings.dataDirectory + "/" + $0.replacingOccurrences(of: "./", with: "")) }
        listed.append("./" + name)
        try? (listed.joined(separator: "\n") + "\n").write(toFile: indexPath, atomically: true, encoding: .utf8)
    }

    /// Writes the event to the relay log file before anything else sees it (and before a semi-sync ack).
    private func appendRelay(_ r: inout Runtime, _ event: BinlogEvent) throws {
        let bytes = event.encoded()
        if r.relayFD >= 0 {
            let n = bytes.withUnsafeBytes { write(r.relayFD, $0.baseAddress, $0.count) }
            if n != bytes.count { throw StoreConnectionError(code: 13122, message: "Relay log write failure: could not queue event from source") }
            if settings.fsyncOnCommit { fsync(r.relayFD) }
        }
        r.relayWritePos += UInt64(bytes.count)
        r.relay.append(RelayEntry(sourceFile: r.sourceLogFile, event: event, relayFile: r.relayFile, relayEnd: r.relayWritePos))
    }

    // MARK: - Applier (SQL thread)

    private func wakeApplier() {
        let w: [CheckedContinuation<Void, Never>] = runtime.withLockedValue { r in
            let w = r.applierWaiters
            r.applierWaiters = []
            return w
        }
        for c in w { c.resume() }
    }

    private func waitForRelay(generation: Int, count: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = runtime.withLockedValue { r -> Bool in
                if r.sqlGeneration != generation || r.relay.count > count { return true }
                r.applierWaiters.append(c)
                return false
            }
            if ready { c.resume() }
        }
    }

    private enum Step {
        case wait(Int)
        case stop
        case skip(Int, RelayEntry)
        case transaction(gtid: (String, Int64)?, queries: [BinlogEvent.QueryBody], end: Int, last: RelayEntry)
    }

    private func applierLoop(generation: Int) async {
        while !Task.isCancelled {
            let step: Step = runtime.withLockedValue { r in
                guard r.sqlGeneration == generation else { return .stop }
                if r.applied > 4096 {  // keep memory bounded: forget applied entries
                    r.relay.removeFirst(r.applied)
                    r.applied = 0
                }
                guard r.applied < r.relay.count else {
                    r.applier.caughtUp()
                    return .wait(r.relay.count)
                }
                let first = r.relay[r.applied]
                guard first.event.kind == .gtid || first.event.kind == .query else { return .skip(r.applied, first) }
                // A transaction is applied whole: wait for its XID.
                guard let end = r.relay[r.applied...].firstIndex(where: { $0.event.kind == .xid }) else { return .wait(r.relay.count) }
                var gtid: (String, Int64)?
                var queries: [BinlogEvent.QueryBody] = []
                for e in r.relay[r.applied...end] {
                    if let g = e.event.gtid { gtid = (g.uuid, g.gno) }
                    // BEGIN opens a transaction of several statements; the XID ends it.
                    if let q = e.event.query, q.sql != "BEGIN" { queries.append(q) }
                }
                return .transaction(gtid: gtid, queries: queries, end: end, last: r.relay[end])
            }
            switch step {
            case .stop: return
            case .wait(let count):
                await waitForRelay(generation: generation, count: count)
            case .skip(let i, let entry):
                runtime.withLockedValue { r in
                    guard r.sqlGeneration == generation, r.applied == i else { return }
                    r.applied += 1
                    r.relayLogFile = entry.relayFile
                    r.relayLogPos = entry.relayEnd
                    if let rot = entry.event.rotation, r.relaySourceLogFile != rot.file {
                        r.relaySourceLogFile = rot.file
                        r.execSourceLogPos = rot.position
                    }
                }
            case .transaction(let gtid, let queries, let end, let last):
                let query = queries.last
                if let first = queries.first, !(await waitForDelay(first, generation: generation)) { return }
                guard runtime.withLockedValue({ $0.sqlGeneration == generation }) else { return }
                let position = SourcePosition(file: last.sourceFile, position: UInt64(last.event.endPosition))
                var failure: StoreError?
                let already = gtid.map { store.engine.gtidExecuted.contains(uuid: $0.0, gno: $0.1) } ?? false
                if !already, !queries.isEmpty {
                    do {
                        try store.applyReplicated(queries, gtid: gtid, source: position)
                    } catch {
                        failure = (error as? StoreError) ?? StoreError(code: 1105, sqlState: "HY000", message: "\(error)")
                    }
                } else if !already {
                    try? store.engine.recordSourcePosition(position, gtid: gtid.map { ($0.0, $0.1) })
                }
                if let failure {
                    let text: String = runtime.withLockedValue { r in
                        r.sqlGeneration += 1
                        return r.applier.failed(failure, database: query?.database, query: query?.sql ?? "", at: Self.errorTimestamp())
                    }
                    store.log(level: "ERROR", code: "MY-010584", subsystem: "Repl", "Replica SQL for channel '': \(text), Error_code: \(Self.errorCode(failure.code))")
                    return
                }
                runtime.withLockedValue { r in
                    guard r.sqlGeneration == generation else { return }
                    r.applied = end + 1
                    r.relayLogFile = last.relayFile
                    r.relayLogPos = last.relayEnd
                    r.relaySourceLogFile = last.sourceFile
                    r.execSourceLogPos = UInt64(last.event.endPosition)
                }
            }
        }
    }

    /// SOURCE_DELAY: hold each transaction until N seconds after the source committed it.
    private func waitForDelay(_ q: BinlogEvent.QueryBody, generation: Int) async -> Bool {
        while true {
            let delay = runtime.withLockedValue { $0.config.delay }
            let due = Double(q.millis) / 1000 + Double(delay)
            let now = Date().timeIntervalSince1970
            if delay <= 0 || now >= due {
                runtime.withLockedValue { r in
                    if r.sqlGeneration == generation { r.applier.applying() }
                }
                return true
            }
            let alive = runtime.withLockedValue { r -> Bool in
                guard r.sqlGeneration == generation else { return false }
                r.applier.delaying(remainingSeconds: Int((due - now).rounded(.up)))
                return true
            }
            if !alive || Task.isCancelled { return false }
            try? await Task.sleep(nanoseconds: UInt64(min(0.2, due - now) * 1_000_000_000))
        }
    }

    // MARK: - Status

    func snapshot(executed: GTIDSet) -> ReplicaStatus {
        runtime.withLockedValue { r in
            let pending = r.relay[min(r.applied, r.relay.count)...]
            let oldest = pending.lazy.compactMap { $0.event.query?.millis }.first
            let behind = ApplierState.secondsBehindSource(applierRunning: r.applier.running, receiver: r.receiver.running, oldestPendingMillis: oldest,
                                                          hasPending: !pending.isEmpty, nowSeconds: Date().timeIntervalSince1970)
            return ReplicaStatus(
                ioState: r.receiver.stateText, sourceHost: r.config.host, sourceUser: r.config.user, sourcePort: r.config.port,
                connectRetry: r.config.connectRetry, sourceLogFile: r.sourceLogFile, readSourceLogPos: r.readSourceLogPos,
                relayLogFile: r.relayLogFile, relayLogPos: r.relayLogPos, relaySourceLogFile: r.relaySourceLogFile,
                ioRunning: r.receiver.running, sqlRunning: r.applier.running, lastErrno: r.applier.lastErrno, lastError: r.applier.lastError,
                execSourceLogPos: r.execSourceLogPos, relayLogSpace: r.relayWritePos, secondsBehindSource: behind,
                lastIOErrno: r.receiver.lastErrno, lastIOError: r.receiver.lastError, lastSQLErrno: r.applier.lastErrno, lastSQLError: r.applier.lastError,
                sourceServerID: r.sourceServerID, sourceUUID: r.sourceUUID, sqlDelay: r.config.delay, sqlRemainingDelay: r.applier.remainingDelay,
                sqlRunningState: r.applier.stateText, lastIOErrorTimestamp: r.receiver.lastErrorTimestamp, lastSQLErrorTimestamp: r.applier.lastErrorTimestamp,
                retrievedGtidSet: settings.gtidMode ? r.retrieved.description : "", executedGtidSet: settings.gtidMode ? executed.description : "",
                autoPosition: r.config.autoPosition)
        }
    }
}

/// What SHOW REPLICA STATUS shows, for the shell and for metrics.
public struct ReplicaStatus: Sendable, Equatable {
    public var ioState: String
    public var sourceHost: String
    public var sourceUser: String
    public var sourcePort: Int
    public var connectRetry: Int
    public var sourceLogFile: String
    public var readSourceLogPos: UInt64
    public var relayLogFile: String
    public var relayLogPos: UInt64
    public var relaySourceLogFile: String
    public var ioRunning: ReplicaIOState
    public var sqlRunning: Bool
    public var lastErrno: Int
    public var lastError: String
    public var execSourceLogPos: UInt64
    public var relayLogSpace: UInt64
    public var secondsBehindSource: Int?
    public var lastIOErrno: Int
    public var lastIOError: String
    public var lastSQLErrno: Int
    public var lastSQLError: String
    public var sourceServerID: Int
    public var sourceUUID: String
    public var sqlDelay: Int
    public var sqlRemainingDelay: Int?
    public var sqlRunningState: String
    public var lastIOErrorTimestamp: String
    public var lastSQLErrorTimestamp: String
    public var retrievedGtidSet: String
    public var executedGtidSet: String
    public var autoPosition: Bool

    /// SHOW REPLICA STATUS's columns in MySQL 8.0's order (SHOW SLAVE STATUS uses the old names).
    func fields(legacyNames: Bool) -> [(String, String?)] {
        let all: [(String, String?)] = [
            ("Replica_IO_State", ioState), ("Source_Host", sourceHost), ("Source_User", sourceUser), ("Source_Port", String(sourcePort)),
            ("Connect_Retry", String(connectRetry)), ("Source_Log_File", sourceLogFile), ("Read_Source_Log_Pos", String(readSourceLogPos)),
            ("Relay_Log_File", relayLogFile), ("Relay_Log_Pos", String(relayLogPos)), ("Relay_Source_Log_File", relaySourceLogFile),
            ("Replica_IO_Running", ioRunning.rawValue), ("Replica_SQL_Running", sqlRunning ? "Yes" : "No"),
            ("Replicate_Do_DB", ""), ("Replicate_Ignore_DB", ""), ("Replicate_Do_Table", ""), ("Replicate_Ignore_Table", ""),
            ("Replicate_Wild_Do_Table", ""), ("Replicate_Wild_Ignore_Table", ""), ("Last_Errno", String(lastErrno)), ("Last_Error", lastError),
            ("Skip_Counter", "0"), ("Exec_Source_Log_Pos", String(execSourceLogPos)), ("Relay_Log_Space", String(relayLogSpace)),
            ("Until_Condition", "None"), ("Until_Log_File", ""), ("Until_Log_Pos", "0"), ("Source_SSL_Allowed", "No"),
            ("Source_SSL_CA_File", ""), ("Source_SSL_CA_Path", ""), ("Source_SSL_Cert", ""), ("Source_SSL_Cipher", ""), ("Source_SSL_Key", ""),
            ("Seconds_Behind_Source", secondsBehindSource.map(String.init)), ("Source_SSL_Verify_Server_Cert", "No"),
            ("Last_IO_Errno", String(lastIOErrno)), ("Last_IO_Error", lastIOError), ("Last_SQL_Errno", String(lastSQLErrno)),
            ("Last_SQL_Error", lastSQLError), ("Replicate_Ignore_Server_Ids", ""), ("Source_Server_Id", String(sourceServerID)),
            ("Source_UUID", sourceUUID), ("Source_Info_File", "mysql.slave_master_info"), ("SQL_Delay", String(sqlDelay)),
            ("SQL_Remaining_Delay", sqlRemainingDelay.map(String.init)), ("Replica_SQL_Running_State", sqlRunningState),
            ("Source_Retry_Count", "86400"), ("Source_Bind", ""), ("Last_IO_Error_Timestamp", lastIOErrorTimestamp),
            ("Last_SQL_Error_Timestamp", lastSQLErrorTimestamp), ("Source_SSL_Crl", ""), ("Source_SSL_Crlpath", ""),
            ("Retrieved_Gtid_Set", retrievedGtidSet), ("Executed_Gtid_Set", executedGtidSet), ("Auto_Position", autoPosition ? "1" : "0"),
            ("Replicate_Rewrite_DB", ""), ("Channel_Name", ""), ("Source_TLS_Version", ""), ("Source_public_key_path", ""),
            ("Get_Source_public_key", "0"), ("Network_Namespace", ""),
        ]
        guard legacyNames else { return all }
        // SHOW SLAVE STATUS keeps the pre-8.0.22 names ("Replicate_Do_DB" stays as it is).
        return all.map { name, value in
            if name == "Get_Source_public_key" { return ("Get_master_public_key", value) }
            if name == "Source_public_key_path" { return ("Master_public_key_path", value) }
            return (name.replacingOccurrences(of: "Replica_", with: "Slave_").replacingOccurrences(of: "Source", with: "Master"), value)
        }
    }

    func result(legacyNames: Bool) -> StoreResult {
        let f = fields(legacyNames: legacyNames)
        let numeric: Set<String> = ["Source_Port", "Connect_Retry", "Read_Source_Log_Pos", "Relay_Log_Pos", "Last_Errno", "Skip_Counter",
                                    "Exec_Source_Log_Pos", "Relay_Log_Space", "Until_Log_Pos", "Seconds_Behind_Source", "Last_IO_Errno",
                                    "Last_SQL_Errno", "Source_Server_Id", "SQL_Delay", "SQL_Remaining_Delay", "Source_Retry_Count",
                                    "Auto_Position", "Get_Source_public_key"]
        let modern = fields(legacyNames: false).map(\.0)
        let columns = f.enumerated().map { i, field in
            numeric.contains(modern[i]) ? StoreColumn.number(field.0, notNull: !["Seconds_Behind_Source", "SQL_Remaining_Delay"].contains(modern[i]))
                : StoreColumn.text(field.0, chars: 256)
        }
        return StoreResult(columns: columns, rows: [f.map(\.1)])
    }
}
