import Foundation
import NIOConcurrencyHelpers

/// Where the applier stood in the source's binlog when it committed a transaction (MySQL keeps this in
/// mysql.slave_relay_log_info, inside the same transaction, so a crash never applies anything twice).
struct SourcePosition: Sendable, Codable, Equatable {
    var file: String
    var position: UInt64
}

/// One committed change, as replayed at start: the statement with everything needed to repeat it exactly.
struct RedoRecord: Sendable, Codable {
    var db: String?
    var sql: String?
    var insertID: Int64
    var millis: UInt64
    var gtid: String?
    var source: SourcePosition?
    /// A transaction of several statements (BEGIN … COMMIT); `sql` is nil then.
    var statements: [LoggedStatement]?
}

/// The on-disk state of the store: `snapshot.json` (written at graceful stop) plus `redo.log`, one JSON line per
/// committed transaction written before the client is told OK (innodb_flush_log_at_trx_commit=1). At start the
/// snapshot is loaded and the redo log replayed; a torn last line (crash mid-write) was never acknowledged and is
/// dropped.
final class DataLog: Sendable {
    struct Snapshot: Codable {
        var catalog: Catalog
        var gtidExecuted: String
        var source: SourcePosition?
    }

    let directory: String
    let fsync: Bool
    private let fd = NIOLockedValueBox<Int32>(-1)
    private let sinceCheckpoint = NIOLockedValueBox(0)
    /// Records after which the engine folds the redo log into a snapshot, so a restart replays at most this many.
    static let checkpointEvery = 10_000

    var needsCheckpoint: Bool { sinceCheckpoint.withLockedValue { $0 >= Self.checkpointEvery } }

    init(directory: String, fsync: Bool) {
        self.directory = directory
        self.fsync = fsync
    }

    var redoPath: String { directory + "/redo.log" }
    var snapshotPath: String { directory + "/snapshot.json" }

    func loadSnapshot() -> Snapshot? {
        guard let data = FileManager.default.contents(atPath: snapshotPath) else { return nil }
        return try? JSONDecoder().decode(Snapshot.self, from: data)
    }

    func loadRedo() -> [RedoRecord] {
        guard let data = FileManager.default.contents(atPath: redoPath) else { return [] }
        var records: [RedoRecord] = []
        var goodLength = 0
        var lineStart = 0
        let bytes = [UInt8](data)
        for (i, b) in bytes.enumerated() where b == 0x0A {
            if let r = try? JSONDecoder().decode(RedoRecord.self, from: Data(bytes[lineStart..<i])) {
                records.append(r)
                goodLength = i + 1
            } else {
                break
            }
            lineStart = i + 1
        }
        if goodLength < bytes.count {
            let f = Foundation.open(redoPath, O_WRONLY)
            if f >= 0 { _ = ftruncate(f, off_t(goodLength)); Foundation.close(f) }
        }
        return records
    }

    func openForAppend() throws {
        let f = Foundation.open(redoPath, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        guard f >= 0 else { throw StoreError(code: 1, sqlState: "HY000", message: "Can't create/write to file '\(redoPath)' (OS errno \(errno))") }
        fd.withLockedValue { $0 = f }
    }

    func append(_ record: RedoRecord) throws {
        var data = try JSONEncoder().encode(record)
        data.append(0x0A)
        try fd.withLockedValue { f in
            guard f >= 0 else { throw StoreError(code: 3, sqlState: "HY000", message: "Error writing file 'redo.log' (errno: 9 - Bad file descriptor)") }
            let n = data.withUnsafeBytes { write(f, $0.baseAddress, $0.count) }
            guard n == data.count else { throw StoreError(code: 3, sqlState: "HY000", message: "Error writing file 'redo.log' (errno: \(errno))") }
            if fsync { _ = Foundation.fsync(f) }
        }
        sinceCheckpoint.withLockedValue { $0 += 1 }
    }

    /// Graceful stop: fold everything into a fresh snapshot and empty the redo log.
    /// The snapshot is written atomically before the redo log is emptied; a crash in between replays records the
    /// snapshot already has, which recovery skips by their GTIDs.
    func checkpoint(_ snapshot: Snapshot) throws {
        let data = try JSONEncoder().encode(snapshot)
        try data.write(to: URL(fileURLWithPath: snapshotPath), options: .atomic)
        fd.withLockedValue { f in
            if f >= 0 { _ = ftruncate(f, 0) }
        }
        sinceCheckpoint.withLockedValue { $0 = 0 }
    }

    func close() {
        fd.withLockedValue { f in
            if f >= 0 { Foundation.close(f) }
            f = -1
        }
    }
}
