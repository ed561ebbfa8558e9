import NIOCore

/// The source's "Binlog Dump" thread for one replica: sends binlog events from the requested position (or every
/// transaction missing from the replica's GTID set), then follows the binlog as it grows.
/// Each packet is 0x00, then (semi-sync) 0xEF and an ack-request flag, then the event.
final class BinlogDumpSender: Sendable {
    let store: MySQLStore
    let binlog: BinaryLog
    let channel: Channel
    let request: BinlogDumpRequest
    let semiSync: Bool
    let firstSequence: UInt8
    let peer: String
    /// Seconds between heartbeats while the binlog is idle (the replica's @source_heartbeat_period).
    let heartbeatPeriod: Double?

    init(store: MySQLStore, binlog: BinaryLog, channel: Channel, request: BinlogDumpRequest, semiSync: Bool, firstSequence: UInt8, peer: String, heartbeatPeriod: Double? = nil) {
        self.heartbeatPeriod = heartbeatPeriod
        self.store = store
        self.binlog = binlog
        self.channel = channel
        self.request = request
        self.semiSync = semiSync
        self.firstSequence = firstSequence
        self.peer = peer
    }

    func start() {
        channel.closeFuture.whenComplete { [binlog] _ in binlog.wakeWaiters() }
        if semiSync { store.semiSync.replicaConnected(1) }
        store.registerReplica(serverID: request.replicaServerID, host: peer)
        Task { await self.run() }
    }

    private func run() async {
        defer {
            if semiSync { store.semiSync.replicaConnected(-1) }
            store.unregisterReplica(serverID: request.replicaServerID)
        }
        var sequence = firstSequence
        func packet(_ payload: ByteBuffer) -> MySQLPacket {
            defer { sequence &+= 1 }
            return MySQLPacket(sequenceID: sequence, payload: payload)
        }
        let startIndex: Int?
        if request.gtids != nil { startIndex = 0 } else { startIndex = binlog.startIndex(file: request.file, position: request.position) }
        guard var index = startIndex else {
            let e = StoreError(code: 1236, sqlState: "HY000", message: "Could not find first log file name in binary log index file")
            channel.writeAndFlush(packet(ServerMessages.error(e)), promise: nil)
            channel.close(promise: nil)
            return
        }
        var currentFile = ""
        var skipping = false
        let serverID = binlog.serverID
        func eventPayload(_ e: BinlogEvent, ack: Bool) -> ByteBuffer {
            var b = ByteBuffer()
            b.writeInteger(UInt8(0))
            if semiSync { b.writeInteger(UInt8(0xEF)); b.writeInteger(UInt8(ack ? 1 : 0)) }
            b.writeBytes(e.encoded())
            return b
        }
        while channel.isActive && !binlog.isClosed {
            let entries = binlog.entries(from: index)
            if entries.isEmpty {
                let arrived = await binlog.waitForEntries(beyond: index, timeout: heartbeatPeriod)
                if !arrived, channel.isActive, !binlog.isClosed {
                    var hb = BinlogEvent(timestamp: 0, kind: .heartbeat, serverID: serverID, endPosition: UInt32(truncatingIfNeeded: binlog.status.position), body: Array(binlog.status.file.utf8))
                    hb.timestamp = 0
                    channel.writeAndFlush(packet(eventPayload(hb, ack: false)), promise: nil)
                }
                continue
            }
            var last: EventLoopFuture<Void>?
            for entry in entries {
                index += 1
                if entry.file != currentFile {
                    currentFile = entry.file
                    // Tell the replica which file the following positions belong to (MySQL's fake rotate).
                    let start: UInt64 = request.gtids == nil && entry.file == request.file ? max(4, request.position) : 4
                    var rotate = BinlogEvent.rotate(to: entry.file, position: start, serverID: serverID)
                    rotate.endPosition = 0
                    last = channel.write(packet(eventPayload(rotate, ack: false)))
                }
                switch entry.event.kind {
                case .formatDescription, .previousGTIDs, .stop, .rotate, .heartbeat: continue
                default: break
                }
                if let g = entry.gtid, let set = request.gtids { skipping = set.contains(uuid: g.uuid, gno: g.gno) }
                if skipping { continue }
                let ack = semiSync && entry.event.kind == .xid && store.semiSync.isEnabled
                last = channel.write(packet(eventPayload(entry.event, ack: ack)))
            }
            channel.flush()
            // Backpressure: do not run ahead of the socket.
            if let last { try? await last.get() }
        }
    }
}
