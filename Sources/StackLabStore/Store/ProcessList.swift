import Foundation
import NIOConcurrencyHelpers

/// SHOW PROCESSLIST: every client connection, the dump threads serving replicas, and this replica's own
/// receiver and applier ("system user"), as MySQL 8 lists them.
final class ProcessList: Sendable {
    struct Entry: Sendable {
        var id: UInt32
        var user: String
        var host: String
        var db: String?
        var command: String
        var since: Date
        var state: String?
        var info: String?
    }

    private let entries = NIOLockedValueBox<[UInt32: Entry]>([:])
    let started = Date()

    func connected(_ id: UInt32, host: String) {
        entries.withLockedValue { $0[id] = Entry(id: id, user: "unauthenticated user", host: host, db: nil, command: "Connect", since: Date(), state: "login", info: nil) }
    }

    func update(_ id: UInt32, _ body: (inout Entry) -> Void) {
        entries.withLockedValue { e in
            guard var entry = e[id] else { return }
            body(&entry)
            e[id] = entry
        }
    }

    func closed(_ id: UInt32) { entries.withLockedValue { _ = $0.removeValue(forKey: id) } }

    func result(replica: ReplicaStatus?, full: Bool = false) -> StoreResult {
        let now = Date()
        var rows: [[String?]] = [["5", "event_scheduler", "localhost", nil, "Daemon", String(Int(now.timeIntervalSince(started))), "Waiting on empty queue", nil]]
        let list = entries.withLockedValue { $0.values.sorted { $0.id < $1.id } }
        if let replica, replica.ioRunning != .no {
            rows.append(["6", "system user", "", nil, "Connect", String(Int(now.timeIntervalSince(started))), replica.ioState, nil])
        }
        if let replica, replica.sqlRunning {
            rows.append(["7", "system user", "", nil, "Query", String(replica.secondsBehindSource ?? 0), replica.sqlRunningState, nil])
        }
        for e in list {
            rows.append([String(e.id), e.user, e.host, e.db, e.command, String(Int(now.timeIntervalSince(e.since))), e.state, e.info.map { full ? $0 : String($0.prefix(100)) }])
        }
        let cols: [StoreColumn] = [.number("Id"), .text("User", chars: 32), .text("Host", chars: 261), .text("db", notNull: false), .text("Command", chars: 16),
                                   StoreColumn(name: "Time", type: .long, length: 7, flags: ColumnFlag.notNull), .text("State", chars: 30, notNull: false), .text("Info", chars: 100, notNull: false)]
        return StoreResult(columns: cols, rows: rows)
    }
}
