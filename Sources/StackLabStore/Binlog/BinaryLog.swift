import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The source's binary log: numbered files (`mysql-bin.000001` …) listed in `mysql-bin.index`, each starting with
/// the magic bytes, a FORMAT_DESCRIPTION and a PREVIOUS_GTIDS event, then transactions (GTID, QUERY, XID). A new
/// file is started at every server start, as mysqld does. All events are also kept in memory for the dump threads.
final class BinaryLog: Sendable {
    struct Entry: Sendable {
        var file: String
        var start: UInt32
        var event: BinlogEvent
        var gtid: (uuid: String, gno: Int64)?
    }

    struct State: Sendable {
        var entries: [Entry] = []
        var files: [(name: String, size: UInt64)] = []
        var fd: Int32 = -1
        var waiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
        var xid: UInt64 = 1
        /// Every GTID in the log so far: a rotated-to file starts with them (its PREVIOUS_GTIDS event).
        var executed = GTIDSet()
    }

    /// max_binlog_size's default: a file that grows past it is closed with a ROTATE event and the next one begun,
    /// so positions (4 bytes in the event header) stay far from 2^32.
    static let defaultMaxFileSize: UInt64 = 1_073_741_824
    /// mysqld stops at this extension number ("Log filename extension number exhausted").
    static let maxFileNumber = 2_147_483_647

    let directory: String
    let baseName: String
    let serverID: UInt32
    let version: String
    let fsync: Bool
    let maxFileSize: UInt64
    let state = NIOLockedValueBox(State())

    init(directory: String, baseName: String, serverID: Int, version: String, fsync: Bool, maxFileSize: UInt64 = BinaryLog.defaultMaxFileSize) {
        self.directory = directory
        self.baseName = baseName
        self.serverID = UInt32(truncatingIfNeeded: serverID)
        self.version = version
        self.fsync = fsync
        self.maxFileSize = maxFileSize
    }

    private var indexPath: String { directory + "/" + baseName + ".index" }

    static func fileName(_ base: String, _ n: Int) -> String {
        let s = String(n)
        return base + "." + String(repeating: "0", count: max(0, 6 - s.count)) + s
    }

    /// Loads existing files (dropping a torn last event, like crash recovery) and starts the next file.
    func open(executed: GTIDSet) throws {
        let names = ((try? String(contentsOfFile: indexPath, encoding: .utf8)) ?? "")
            .split(separator: "\n").map { String($0).replacingOccurrences(of: "./", with: "") }.filter { !$0.isEmpty }
        var entries: [Entry] = []
        var files: [(String, UInt64)] = []
        for name in names {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            var good = 4
            if data.count >= 4 {
                var buffer = ByteBufferAllocator().buffer(capacity: data.count)
                buffer.writeBytes(data)
                buffer.moveReaderIndex(forwardBy: 4)
                while buffer.readableBytes > 0 {
                    // A file longer than 4 GB was not written by this server: what lies past it is ignored.
                    guard let start = UInt32(exactly: buffer.readerIndex), let e = BinlogEvent.decode(&buffer) else { break }
                    entries.append(Entry(file: name, start: start, event: e, gtid: e.gtid))
                    good = buffer.readerIndex
                }
            }
            if good < data.count { truncate(path: path, to: good) }
            files.append((name, UInt64(good)))
        }
        // A transaction cut short by a crash (GTID without its XID) never committed: drop it from memory and disk.
        if let lastGTID = entries.lastIndex(where: { $0.event.kind == .gtid }),
           !entries[lastGTID...].contains(where: { $0.event.kind == .xid }) {
            let cut = entries[lastGTID]
            entries.removeSubrange(lastGTID...)
            truncate(path: directory + "/" + cut.file, to: Int(cut.start))
            if let i = files.firstIndex(where: { $0.0 == cut.file }) { files[i].1 = UInt64(cut.start) }
        }
        state.withLockedValue { s in
            s.entries = entries
            s.files = files.map { (name: $0.0, size: $0.1) }
            s.executed = executed
        }
        let last = names.last.flatMap { Int($0.split(separator: ".").last ?? "") } ?? 0
        try startNewFile(number: try Self.number(after: last), executed: executed)
    }

    static func number(after last: Int) throws -> Int {
        guard (0..<maxFileNumber).contains(last) else {
            throw StoreError(code: 1, sqlState: "HY000", message: "Log filename extension number exhausted: \(last). Please fix this by archiving old logs and updating the index files.")
        }
        return last + 1
    }

    private func truncate(path: String, to length: Int) {
        let fd = Foundation.open(path, O_WRONLY)
        if fd >= 0 { _ = ftruncate(fd, off_t(length)); Foundation.close(fd) }
    }

    private func startNewFile(number: Int, executed: GTIDSet) throws {
        let name = Self.fileName(baseName, number)
        let path = directory + "/" + name
        let fd = Foundation.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o640)
        guard fd >= 0 else { throw StoreError(code: 1, sqlState: "HY000", message: "Can't create/write to file '\(path)' (OS errno \(errno))") }
        let now = UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
        var fde = BinlogEvent.formatDescription(serverID: serverID, timestamp: now, version: version)
        fde.endPosition = UInt32(4 + fde.size)
        var prev = BinlogEvent.previousGTIDs(executed, serverID: serverID, timestamp: now)
        prev.endPosition = fde.endPosition + UInt32(prev.size)
        let bytes = binlogMagic + fde.encoded() + prev.encoded()
        try writeAll(fd: fd, bytes)
        state.withLockedValue { s in
            if s.fd >= 0 { Foundation.close(s.fd) }
            s.fd = fd
            s.entries.append(Entry(file: name, start: 4, event: fde, gtid: nil))
            s.entries.append(Entry(file: name, start: fde.endPosition, event: prev, gtid: nil))
            s.files.append((name: name, size: UInt64(prev.endPosition)))
            s.closed = false
        }
        let index = state.withLockedValue { $0.files.map { "./" + $0.name }.joined(separator: "\n") + "\n" }
        try index.write(toFile: indexPath, atomically: true, encoding: .utf8)
    }

    private func writeAll(fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { throw StoreError(code: 3, sqlState: "HY000", message: "Error writing file '\(baseName)' (errno: \(errno))") }
            offset += n
        }
        if fsync { _ = Foundation.fsync(fd) }
    }

    /// Appends one transaction (GTID, QUERY, XID) with a single write, then wakes the dump threads.
    /// Returns the file and the position after the transaction (what semi-sync waits for).
    func appendTransaction(uuid: String, gno: Int64, database: String?, sql: String, insertID: Int64, millis: UInt64) throws -> (file: String, position: UInt64) {
        try appendTransaction(uuid: uuid, gno: gno, statements: [LoggedStatement(db: database, sql: sql, insertID: insertID, millis: millis)])
    }

    /// A transaction of one statement is GTID, QUERY, XID; one of several is GTID, QUERY(BEGIN), a QUERY for each
    /// statement, XID, as mysqld writes statement-based transactions.
    func appendTransaction(uuid: String, gno: Int64, statements: [LoggedStatement]) throws -> (file: String, position: UInt64) {
        let result: (String, UInt64, [CheckedContinuation<Void, Never>]) = try state.withLockedValue { s in
            guard s.fd >= 0, let current = s.files.last else { throw StoreError(code: 3, sqlState: "HY000", message: "Binary logging not possible. Message: binlog is closed") }
            let millis = statements.last?.millis ?? 0
            let ts = UInt32(truncatingIfNeeded: millis / 1000)
            var events = [BinlogEvent.gtid(uuid: uuid, gno: gno, serverID: serverID, timestamp: ts)]
            if statements.count > 1, let first = statements.first {
                events.append(BinlogEvent.query(database: first.db, sql: "BEGIN", insertID: 0, millis: first.millis, serverID: serverID))
            }
            for st in statements {
                events.append(BinlogEvent.query(database: st.db, sql: st.sql, insertID: st.insertID, millis: st.millis, serverID: serverID))
            }
            events.append(BinlogEvent.xid(s.xid, serverID: serverID, timestamp: ts))
            s.xid += 1
            guard var pos = UInt32(exactly: current.size) else { throw Self.transactionTooLarge() }
            var bytes: [UInt8] = []
            var newEntries: [Entry] = []
            for i in events.indices {
                let start = pos
                // Files rotate at max_binlog_size, so only a transaction of gigabytes could pass 2^32.
                guard let size = UInt32(exactly: events[i].size), case let (end, false) = pos.addingReportingOverflow(size) else {
                    throw Self.transactionTooLarge()
                }
                pos = end
                events[i].endPosition = pos
                bytes += events[i].encoded()
                newEntries.append(Entry(file: current.name, start: start, event: events[i], gtid: events[i].gtid))
            }
            try writeAll(fd: s.fd, bytes)
            s.entries += newEntries
            s.files[s.files.count - 1].size = UInt64(pos)
            s.executed.insert(uuid: uuid, gno: gno)
            let w = s.waiters
            s.waiters = []
            return (current.name, UInt64(pos), w)
        }
        for w in result.2 { w.resume() }
        if result.1 >= maxFileSize { try rotate() }
        return (result.0, result.1)
    }

    static func transactionTooLarge() -> StoreError {
        StoreError(code: 1197, sqlState: "HY000", message: "Multi-statement transaction required more than 'max_binlog_cache_size' bytes of storage; increase this mysqld variable and try again")
    }

    /// The current file is full: it ends with a ROTATE event naming the next file, which begins at once
    /// (the dump threads follow the file change as they do across a restart).
    func rotate() throws {
        let next: (Int, GTIDSet)? = try state.withLockedValue { s in
            guard s.fd >= 0, let current = s.files.last, let start = UInt32(exactly: current.size) else { return nil }
            let number = try Self.number(after: Int(current.name.split(separator: ".").last ?? "") ?? 0)
            var event = BinlogEvent.rotate(to: Self.fileName(baseName, number), position: 4, serverID: serverID)
            guard case let (end, false) = start.addingReportingOverflow(UInt32(event.size)) else { return nil }
            event.endPosition = end
            try writeAll(fd: s.fd, event.encoded())
            s.entries.append(Entry(file: current.name, start: start, event: event, gtid: nil))
            s.files[s.files.count - 1].size = UInt64(end)
            return (number, s.executed)
        }
        guard let (number, executed) = next else { return }
        try startNewFile(number: number, executed: executed)
    }

    var status: (file: String, position: UInt64) {
        state.withLockedValue { s in (s.files.last?.name ?? "", s.files.last?.size ?? 0) }
    }

    var fileList: [(name: String, size: UInt64)] { state.withLockedValue { $0.files } }

    var entryCount: Int { state.withLockedValue { $0.entries.count } }

    func entries(from index: Int, max: Int = 512) -> [Entry] {
        state.withLockedValue { s in
            guard index < s.entries.count else { return [] }
            return Array(s.entries[index..<min(s.entries.count, index + max)])
        }
    }

    /// Where a dump from (file, position) starts, or nil if the file is not in the index (MySQL's error 1236).
    func startIndex(file: String, position: UInt64) -> Int? {
        state.withLockedValue { s in
            if file.isEmpty { return 0 }
            guard s.files.contains(where: { $0.name == file }) else { return nil }
            if let i = s.entries.firstIndex(where: { $0.file == file && UInt64($0.start) >= position && $0.event.kind != .formatDescription && $0.event.kind != .previousGTIDs }) {
                return i
            }
            // Past the end of that file: continue with the files after it.
            if let i = s.entries.firstIndex(where: { e in (s.files.firstIndex { $0.name == e.file } ?? 0) > (s.files.firstIndex { $0.name == file } ?? 0) }) {
                return i
            }
            return s.entries.count
        }
    }

    /// Waits until entries beyond `count` exist or the log closes.
    func waitForEntries(beyond count: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLockedValue { s -> Bool in
                if s.entries.count > count || s.closed { return true }
                s.waiters.append(c)
                return false
            }
            if ready { c.resume() }
        }
    }

    var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Graceful shutdown writes a STOP_EVENT as mysqld does; a crash just drops the descriptor.
    func close(graceful: Bool) {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLockedValue { s in
            if s.fd >= 0 {
                if graceful, let current = s.files.last, let start = UInt32(exactly: current.size) {
                    var stop = BinlogEvent(timestamp: UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970)), kind: .stop, serverID: serverID, endPosition: 0, body: [])
                    let (end, overflow) = start.addingReportingOverflow(UInt32(stop.size))
                    stop.endPosition = end
                    if !overflow, (try? writeAll(fd: s.fd, stop.encoded())) != nil {
                        s.entries.append(Entry(file: current.name, start: start, event: stop, gtid: nil))
                        s.files[s.files.count - 1].size = UInt64(stop.endPosition)
                    }
                }
                Foundation.close(s.fd)
                s.fd = -1
            }
            s.closed = true
            let w = s.waiters
            s.waiters = []
            return w
        }
        for w in waiters { w.resume() }
    }

    /// RESET MASTER / RESET BINARY LOGS AND GTIDS: delete every file and start again at .000001.
    func reset() throws {
        let names = state.withLockedValue { s -> [String] in
            if s.fd >= 0 { Foundation.close(s.fd); s.fd = -1 }
            let n = s.files.map(\.name)
            s.files = []
            s.entries = []
            s.executed = GTIDSet()
            return n
        }
        for n in names { try? FileManager.default.removeItem(atPath: directory + "/" + n) }
        try startNewFile(number: 1, executed: GTIDSet())
    }
}

extension BinaryLog {
    /// Wakes every dump thread (one of them lost its replica and should notice).
    func wakeWaiters() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLockedValue { s in
            let w = s.waiters
            s.waiters = []
            return w
        }
        for w in waiters { w.resume() }
    }
}

extension BinaryLog {
    /// Waits for entries beyond `count`; false when `timeout` seconds passed first (time for a heartbeat).
    func waitForEntries(beyond count: Int, timeout: Double?) async -> Bool {
        guard let timeout else {
            await waitForEntries(beyond: count)
            return true
        }
        let sleeper = Task {
            try? await Task.sleep(nanoseconds: UInt64(max(0.001, timeout) * 1_000_000_000))
            if !Task.isCancelled { self.wakeWaiters() }
        }
        await waitForEntries(beyond: count)
        sleeper.cancel()
        return entryCount > count
    }
}
