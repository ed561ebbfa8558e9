// The store's benchmark: point SELECTs and INSERTs per second through the MySQL protocol, and the replication lag
// under write load — against the lab's store, or (with --mysql) against a real MySQL/MariaDB server with the same
// client and the same load, so the two figures stand side by side.
import Foundation
import NIOCore
import NIOPosix
import StackLabStore

struct StoreTarget {
    var host: String
    var port: Int
    var user: String
    var password: String

    /// `HOST:PORT:USER:PASSWORD`
    init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, let number = Int(parts[1]) else { return nil }
        (host, port, user, password) = (parts[0], number, parts[2], parts[3])
    }

    init(host: String, port: Int, user: String, password: String) {
        (self.host, self.port, self.user, self.password) = (host, port, user, password)
    }
}

struct QueryFigures {
    var perSecond: Double
    var p50: Double
    var p99: Double
}

enum StoreBench {
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
    }

    /// `connections` tasks, each sending `make(i)` in a loop for `seconds`.
    static func drive(_ pool: MySQLClientPool, connections: Int, seconds: Double,
                      _ make: @escaping @Sendable (Int) -> String) async throws -> QueryFigures {
        let deadline = Date().addingTimeInterval(seconds)
        let started = Date()
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for worker in 0..<connections {
                group.addTask {
                    var mine: [Double] = []
                    var i = worker
                    while Date() < deadline {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        _ = try await pool.query(make(i))
                        mine.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000)
                        i += connections
                    }
                    return mine
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        let elapsed = Date().timeIntervalSince(started)
        return QueryFigures(perSecond: Double(latencies.count) / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99))
    }

    /// Prepares `foobar.bench` with `rows` rows and measures point SELECTs by primary key, then INSERTs.
    static func queries(_ target: StoreTarget, group: EventLoopGroup, connections: Int, seconds: Double,
                        rows: Int = 1000) async throws -> (select: QueryFigures, insert: QueryFigures) {
        let admin = MySQLClientPool(host: target.host, port: target.port, user: target.user, password: target.password, database: nil,
                                    size: 1, dial: StoreDialers.direct(group: group))
        _ = try await admin.query("CREATE DATABASE IF NOT EXISTS benchdb")
        _ = try await admin.query("DROP TABLE IF EXISTS benchdb.bench")
        _ = try await admin.query("CREATE TABLE benchdb.bench (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64) NOT NULL, body TEXT NOT NULL)")
        var values: [String] = []
        for i in 1...rows { values.append("('user\(i)', 'post number \(i)')") }
        _ = try await admin.query("INSERT INTO benchdb.bench (author, body) VALUES " + values.joined(separator: ", "))
        await admin.close()
        let pool = MySQLClientPool(host: target.host, port: target.port, user: target.user, password: target.password, database: "benchdb",
                                   size: connections, dial: StoreDialers.direct(group: group))
        _ = try await drive(pool, connections: connections, seconds: 1) { "SELECT id, author, body FROM bench WHERE id = \($0 % rows + 1)" }
        let select = try await drive(pool, connections: connections, seconds: seconds) {
            "SELECT id, author, body FROM bench WHERE id = \($0 % rows + 1)"
        }
        let insert = try await drive(pool, connections: connections, seconds: seconds) {
            "INSERT INTO bench (author, body) VALUES ('bench', 'row \($0)')"
        }
        await pool.close()
        return (select, insert)
    }

    /// Inserts at a steady rate on the primary and watches the replica: for each row, the time from the primary's
    /// acknowledgement to the row being readable on the replica.
    static func lag(primary: StoreTarget, replica: StoreTarget, group: EventLoopGroup, rate: Int, seconds: Double) async throws -> [Double] {
        let writer = MySQLClientPool(host: primary.host, port: primary.port, user: primary.user, password: primary.password, database: "foobar",
                                     size: 1, dial: StoreDialers.direct(group: group))
        let reader = MySQLClientPool(host: replica.host, port: replica.port, user: replica.user, password: replica.password, database: "foobar",
                                     size: 1, dial: StoreDialers.direct(group: group))
        let base = Int(maxID(try await writer.query("SELECT MAX(id) FROM posts"))) ?? 0
        let acknowledged = AckTimes()
        let total = Int(Double(rate) * seconds)
        let writing = Task {
            let interval = 1.0 / Double(rate)
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<total {
                let due = start + UInt64(Double(i) * interval * 1e9)
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { try await Task.sleep(nanoseconds: due - now) }
                let result = try await writer.query("INSERT INTO posts (author, body) VALUES ('lag', 'row \(i)')")
                acknowledged.set(result.lastInsertID, DispatchTime.now().uptimeNanoseconds)
            }
        }
        var seenUpTo = base
        var lags: [Double] = []
        let stopAt = Date().addingTimeInterval(seconds + 5)
        while lags.count < total && Date() < stopAt {
            let visible = Int(maxID(try await reader.query("SELECT MAX(id) FROM posts"))) ?? 0
            let now = DispatchTime.now().uptimeNanoseconds
            if visible > seenUpTo {
                for id in (seenUpTo + 1)...visible {
                    // Visible before the writer even had its OK back: no lag at all.
                    let ack = acknowledged.get(id) ?? now
                    lags.append(Double(now > ack ? now - ack : 0) / 1_000_000)
                }
                seenUpTo = visible
            }
        }
        _ = try? await writing.value
        await writer.close()
        await reader.close()
        return lags.sorted()
    }
}

func maxID(_ result: StoreResult) -> String {
    (result.rows.first?.first ?? nil) ?? "0"
}

/// Acknowledgement times by row id, shared between the writer and the watcher.
final class AckTimes: @unchecked Sendable {
    // Guarded by `lock`; only the two bench tasks touch it.
    private let lock = NSLock()
    private var times: [Int: UInt64] = [:]
    func set(_ id: Int, _ time: UInt64) { lock.withLock { times[id] = time } }
    func get(_ id: Int) -> UInt64? { lock.withLock { times[id] } }
}
