import Foundation
import Testing
@testable import StackLabStore

/// What the binlog gives crash recovery: the committed transactions a data directory's GTIDs lack, each with its
/// statements as logged.
@Suite("Recovery from the binlog")
struct BinlogRecoveryTests {
    @Test func theTransactionsTheDataLacksComeBackInOrder() throws {
        let dir = NSTemporaryDirectory() + "stacklab-binlog-recovery-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
        let log = BinaryLog(directory: dir, baseName: "mysql-bin", serverID: 1, version: StoreEngine.version, fsync: false)
        try log.open(executed: GTIDSet())
        _ = try log.appendTransaction(uuid: uuid, gno: 1, database: "foobar", sql: "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY)", insertID: 0, millis: 1_000)
        _ = try log.appendTransaction(uuid: uuid, gno: 2, statements: [
            LoggedStatement(db: "foobar", sql: "INSERT INTO t VALUES ()", insertID: 7, millis: 2_000),
            LoggedStatement(db: nil, sql: "UPDATE foobar.t SET id = 9", insertID: 0, millis: 2_001),
        ])
        _ = try log.appendTransaction(uuid: uuid, gno: 3, database: "foobar", sql: "BEGIN", insertID: 0, millis: 3_000)
        log.close(graceful: true)

        // The next start reads the files back.
        let again = BinaryLog(directory: dir, baseName: "mysql-bin", serverID: 1, version: StoreEngine.version, fsync: false)
        var executed = GTIDSet()
        executed.insert(uuid: uuid, gno: 1)
        try again.open(executed: executed)
        let missing = again.transactions(missingFrom: executed)
        #expect(missing.map(\.gtid.gno) == [2, 3])
        #expect(missing.first?.statements.map(\.sql) == ["INSERT INTO t VALUES ()", "UPDATE foobar.t SET id = 9"])
        #expect(missing.first?.statements.map(\.db) == ["foobar", nil])
        #expect(missing.first?.statements.map(\.insertID) == [7, 0])
        #expect(missing.first?.statements.map(\.millis) == [2_000, 2_001])
        // A transaction of one statement keeps it, whatever its text.
        #expect(missing.last?.statements.map(\.sql) == ["BEGIN"])
        #expect(again.transactions(missingFrom: GTIDSet(parsing: "\(uuid):1-3") ?? GTIDSet()).isEmpty)
        again.close(graceful: true)
    }
}
