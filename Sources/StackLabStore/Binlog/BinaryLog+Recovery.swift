/// A committed transaction as the binlog holds it: its GTID and its statements, with what repeats each exactly.
struct LoggedTransaction: Sendable {
    var gtid: (uuid: String, gno: Int64)
    var statements: [LoggedStatement]
}

extension BinaryLog {
    /// The transactions the binlog holds whose GTIDs `executed` lacks, in log order. The binlog is written before
    /// the data commits (as mysqld's two-phase commit orders them), so after a crash between the two the data
    /// directory is missing exactly these: recovery repeats them, as mysqld commits the transactions its binlog
    /// has prepared. Read after `open`, which has already dropped a transaction a crash cut short.
    func transactions(missingFrom executed: GTIDSet) -> [LoggedTransaction] {
        var found: [LoggedTransaction] = []
        var current: LoggedTransaction?
        for entry in state.withLockedValue({ $0.entries }) {
            switch entry.event.kind {
            case .gtid:
                current = entry.gtid.map { LoggedTransaction(gtid: $0, statements: []) }
            case .query:
                guard current != nil, let q = entry.event.query else { continue }
                current?.statements.append(LoggedStatement(db: q.database, sql: q.sql, insertID: q.insertID, millis: q.millis))
            case .xid:
                guard var t = current else { continue }
                current = nil
                // A transaction of several statements opens with QUERY(BEGIN), which is no statement of its own.
                if t.statements.count > 1, t.statements[0].sql == "BEGIN" { t.statements.removeFirst() }
                if !executed.contains(uuid: t.gtid.uuid, gno: t.gtid.gno) { found.append(t) }
            default:
                continue
            }
        }
        return found
    }
}
