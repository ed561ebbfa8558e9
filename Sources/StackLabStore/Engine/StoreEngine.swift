import Foundation
import NIOConcurrencyHelpers

/// Global server state the SQL layer reads and SET GLOBAL changes.
struct ServerVariables: Sendable {
    var readOnly: Bool
    var superReadOnly: Bool
    var semiSyncSourceEnabled: Bool
    var semiSyncSourceTimeout: Int
    var replicaNetTimeout: Int
    var maxConnections: Int
    var maxAllowedPacket: Int
    var connectTimeout: Int
    var waitTimeout: Int
    var interactiveTimeout: Int
    /// innodb_lock_wait_timeout's global value: how long a writer waits for another transaction's lock.
    var lockWaitTimeout: Int = 50
}

/// The SQL engine: catalog, GTIDs, variables, and the commit path (binlog, then redo log, then OK).
/// Statements run one at a time under one lock, which keeps every binlog order identical to commit order. An open
/// transaction works on its own copy of the catalog (see `Transaction`); `writeLock` lets one writing transaction
/// at a time hold on to the right to commit, so the statements it logs replay on a replica exactly as they ran.
final class StoreEngine: Sendable {
    let settings: StoreSettings
    let serverUUID: String
    let binlog: BinaryLog?
    let dataLog: DataLog
    let writeLock = WriteLock()
    static let version = "8.0.40-stacklab"
    static let versionComment = "Source distribution"

    struct State: Sendable {
        var catalog = Catalog()
        var gtidExecuted = GTIDSet()
        var variables: ServerVariables
        /// Last source position the applier committed (mysql.slave_relay_log_info).
        var appliedSource: SourcePosition?
        var open = true
    }

    let state: NIOLockedValueBox<State>

    init(settings: StoreSettings, serverUUID: String, binlog: BinaryLog?, dataLog: DataLog) {
        self.settings = settings
        self.serverUUID = serverUUID
        self.binlog = binlog
        self.dataLog = dataLog
        self.state = NIOLockedValueBox(State(variables: ServerVariables(
            readOnly: settings.readOnly || settings.superReadOnly, superReadOnly: settings.superReadOnly,
            semiSyncSourceEnabled: settings.semiSyncSourceEnabled,
            semiSyncSourceTimeout: settings.semiSyncSourceTimeoutMilliseconds,
            replicaNetTimeout: max(1, settings.replicaNetTimeoutSeconds),
            maxConnections: min(max(1, settings.maxConnections), 100_000),
            maxAllowedPacket: min(max(1024, settings.maxAllowedPacket), 1_073_741_824),
            connectTimeout: min(max(2, settings.connectTimeoutSeconds), 31_536_000),
            waitTimeout: min(max(1, settings.waitTimeoutSeconds), 31_536_000),
            interactiveTimeout: min(max(1, settings.interactiveTimeoutSeconds), 31_536_000))))
    }

    var variables: ServerVariables { state.withLockedValue { $0.variables } }
    var gtidExecuted: GTIDSet { state.withLockedValue { $0.gtidExecuted } }
    var appliedSource: SourcePosition? { state.withLockedValue { $0.appliedSource } }

    /// Runs one statement for a session. `mayWait` is false on an event loop: a write that would wait for another
    /// transaction's lock throws `WriteLock.WouldBlock` before it starts, to be run again on a thread that may wait.
    func execute(_ parsed: ParsedStatement, session: inout Session, mayWait: Bool = true) throws -> Executed {
        let statement = parsed.statement
        switch statement {
        case .begin(let readOnly):
            // BEGIN inside a transaction commits it first (an implicit commit).
            let point = try commitTransaction(&session)
            session.transaction = Transaction(readOnly: readOnly)
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: point)
        case .commit:
            let point = try commitTransaction(&session)
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: point)
        case .rollback:
            rollbackTransaction(&session)
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: nil)
        case .savepoint(let name):
            // Outside a transaction (autocommit) MySQL accepts SAVEPOINT and keeps nothing.
            if var t = session.transaction {
                t.savepoints.removeAll { $0.name.lowercased() == name.lowercased() }
                t.savepoints.append(Transaction.Savepoint(name: name, catalog: t.catalog, statements: t.statements.count))
                session.transaction = t
            }
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: nil)
        case .rollbackToSavepoint(let name), .releaseSavepoint(let name):
            guard var t = session.transaction, let i = t.savepoints.lastIndex(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw StoreError(code: 1305, sqlState: "42000", message: "SAVEPOINT \(name) does not exist")
            }
            if case .rollbackToSavepoint = statement {
                // The rows go back; the write lock stays (InnoDB keeps the locks taken after the savepoint too).
                let point = t.savepoints[i]
                let current = t.catalog
                t.catalog = point.catalog ?? (t.holdsWriteLock ? state.withLockedValue { $0.catalog } : nil)
                if let current { t.catalog?.keepAutoIncrements(of: current) }
                t.statements.removeSubrange(min(point.statements, t.statements.count)...)
                t.savepoints.removeSubrange((i + 1)...)
            } else {
                t.savepoints.removeSubrange(i...)
            }
            session.transaction = t
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: nil)
        default:
            break
        }
        var implicitPoint: (file: String, position: UInt64)?
        if statement.causesImplicitCommit, session.transaction != nil {
            implicitPoint = try commitTransaction(&session)
        }
        if !session.autocommit, session.transaction == nil, statement.isDataStatement {
            session.transaction = Transaction(readOnly: false)
        }
        if statement.isDataStatement, session.transaction != nil {
            return try executeInTransaction(parsed, session: &session, mayWait: mayWait)
        }
        let writes = statement.isWrite
        if writes { try writeLock.acquire(session.connectionID, timeout: lockWaitTimeout(session), mayWait: mayWait) }
        defer { if writes { writeLock.release(session.connectionID) } }
        let autocommitBefore = session.autocommit
        var executed = try executeCommitted(parsed, session: &session)
        if executed.commit == nil { executed.commit = implicitPoint }
        if !autocommitBefore, session.autocommit, session.transaction != nil {
            // SET autocommit=1 commits the open transaction.
            if let point = try commitTransaction(&session) { executed.commit = point }
        }
        return executed
    }

    /// The seconds a writer waits for another transaction's lock: the session's innodb_lock_wait_timeout.
    func lockWaitTimeout(_ session: Session) -> Int {
        session.lockWaitTimeout ?? state.withLockedValue { $0.variables.lockWaitTimeout }
    }

    /// A statement outside a transaction: it runs on the committed state and, if it changed something, commits
    /// at once (autocommit).
    private func executeCommitted(_ parsed: ParsedStatement, session: inout Session) throws -> Executed {
        var s = session
        defer { session = s }
        return try state.withLockedValue { st in
            guard st.open else { throw StoreConnectionError.lostConnection() }
            var ctx = ExecutionContext(engine: self, state: st)
            // A statement that fails changes nothing: its working copy of the state is dropped (MySQL rolls the
            // statement back), also when the failure comes from the commit itself.
            let executed: Executed
            do {
                executed = try ctx.run(parsed, session: &s)
            } catch {
                s.rowCount = -1
                throw error
            }
            s.rowCount = executed.result.columns.isEmpty ? Int64(executed.result.affectedRows) : -1
            st = ctx.state
            if dataLog.needsCheckpoint {
                try? dataLog.checkpoint(DataLog.Snapshot(catalog: st.catalog, gtidExecuted: st.gtidExecuted.description, source: st.appliedSource))
            }
            return executed
        }
    }

    /// A statement inside a transaction: it runs on the transaction's own catalog; what it changed is kept there
    /// and its text queued for the binlog at COMMIT.
    private func executeInTransaction(_ parsed: ParsedStatement, session: inout Session, mayWait: Bool) throws -> Executed {
        guard var txn = session.transaction else { return try executeCommitted(parsed, session: &session) }
        if parsed.statement.isWrite {
            if txn.readOnly {
                throw StoreError(code: 1792, sqlState: "25006", message: "Cannot execute statement in a READ ONLY transaction.")
            }
            if !txn.holdsWriteLock {
                try writeLock.acquire(session.connectionID, timeout: lockWaitTimeout(session), mayWait: mayWait)
                txn.holdsWriteLock = true
                // The first write starts from the latest committed rows; nobody else commits until this one ends.
                txn.catalog = nil
                // Savepoints of the reads before stand for the same rows: those of the moment the lock was taken.
                for i in txn.savepoints.indices { txn.savepoints[i].catalog = nil }
                session.transaction = txn
            }
        }
        var s = session
        defer { session = s }
        return try state.withLockedValue { st in
            guard st.open else { throw StoreConnectionError.lostConnection() }
            var ctx = ExecutionContext(engine: self, state: st)
            if let c = txn.catalog { ctx.state.catalog = c }
            ctx.deferred = []
            let executed: Executed
            do {
                executed = try ctx.run(parsed, session: &s)
            } catch {
                s.rowCount = -1
                throw error
            }
            s.rowCount = executed.result.columns.isEmpty ? Int64(executed.result.affectedRows) : -1
            txn.catalog = ctx.state.catalog
            txn.statements += ctx.deferred ?? []
            s.transaction = txn
            return Executed(result: executed.result, commit: nil, delaySeconds: executed.delaySeconds)
        }
    }

    /// COMMIT: the transaction's statements reach the binlog as one GTID and its catalog becomes the committed one.
    /// Returns where the transaction ended in the binlog (what semi-sync waits for); nil when it changed nothing.
    func commitTransaction(_ session: inout Session) throws -> (file: String, position: UInt64)? {
        guard let txn = session.transaction else { return nil }
        session.transaction = nil
        let connection = session.connectionID
        defer { if txn.holdsWriteLock { writeLock.release(connection) } }
        guard txn.holdsWriteLock, let catalog = txn.catalog, !txn.statements.isEmpty else { return nil }
        return try state.withLockedValue { st in
            guard st.open else { throw StoreConnectionError.lostConnection() }
            var ctx = ExecutionContext(engine: self, state: st)
            ctx.state.catalog = catalog
            let point = try ctx.commit(txn.statements, session: session)
            st = ctx.state
            if dataLog.needsCheckpoint {
                try? dataLog.checkpoint(DataLog.Snapshot(catalog: st.catalog, gtidExecuted: st.gtidExecuted.description, source: st.appliedSource))
            }
            return point
        }
    }

    /// ROLLBACK, and what happens to an open transaction when its connection ends.
    func rollbackTransaction(_ session: inout Session) {
        guard let txn = session.transaction else { return }
        session.transaction = nil
        guard txn.holdsWriteLock else { return }
        if let catalog = txn.catalog {
            // AUTO_INCREMENT values a rolled-back transaction took stay taken, as in InnoDB: the next id skips them.
            state.withLockedValue { st in st.catalog.keepAutoIncrements(of: catalog) }
        }
        writeLock.release(session.connectionID)
    }

    /// Repeats a logged multi-statement transaction (the applier, crash recovery): all of it or nothing, under
    /// its one GTID.
    func executeLogged(_ statements: [LoggedStatement], replay: Replay) throws {
        try writeLock.acquire(0, timeout: lockWaitTimeout(Session.root()), mayWait: true)
        defer { writeLock.release(0) }
        try state.withLockedValue { st in
            guard st.open else { throw StoreConnectionError.lostConnection() }
            var ctx = ExecutionContext(engine: self, state: st)
            ctx.deferred = []
            for statement in statements {
                var session = Session.root()
                session.database = statement.db
                session.replay = Replay(insertID: statement.insertID, millis: statement.millis, gtid: replay.gtid, source: replay.source,
                                        writeBinlog: replay.writeBinlog, writeRedo: replay.writeRedo)
                let parsed = try Parser.parse(statement.sql)
                _ = try ctx.run(ParsedStatement(statement: parsed, text: statement.sql), session: &session)
            }
            var session = Session.root()
            session.replay = replay
            if let logged = ctx.deferred, !logged.isEmpty {
                _ = try ctx.commit(logged, session: session)
            } else if replay.writeRedo, let source = replay.source {
                ctx.state.appliedSource = source
                if let g = replay.gtid { ctx.state.gtidExecuted.insert(uuid: g.uuid, gno: g.gno) }
                try dataLog.append(RedoRecord(db: nil, sql: nil, insertID: 0, millis: 0, gtid: replay.gtid.map { "\($0.uuid):\($0.gno)" }, source: source))
            } else {
                if let source = replay.source { ctx.state.appliedSource = source }
                if let g = replay.gtid { ctx.state.gtidExecuted.insert(uuid: g.uuid, gno: g.gno) }
            }
            st = ctx.state
        }
    }

    /// Records that the applier reached a source position without a data change (e.g. a statement that failed
    /// identically on the source), so a restart does not fetch it again.
    func recordSourcePosition(_ position: SourcePosition, gtid: (uuid: String, gno: Int64)?) throws {
        try state.withLockedValue { st in
            st.appliedSource = position
            if let g = gtid { st.gtidExecuted.insert(uuid: g.uuid, gno: g.gno) }
            try dataLog.append(RedoRecord(db: nil, sql: nil, insertID: 0, millis: 0, gtid: gtid.map { "\($0.uuid):\($0.gno)" }, source: position))
        }
    }

    func close() {
        state.withLockedValue { $0.open = false }
        writeLock.releaseAll()
    }

    func snapshot() -> DataLog.Snapshot {
        state.withLockedValue { DataLog.Snapshot(catalog: $0.catalog, gtidExecuted: $0.gtidExecuted.description, source: $0.appliedSource) }
    }

    func restore(_ snap: DataLog.Snapshot) {
        state.withLockedValue { st in
            st.catalog = snap.catalog
            for name in st.catalog.databases.keys {
                for t in st.catalog.databases[name]?.tables.keys.map({ $0 }) ?? [] { st.catalog.databases[name]?.tables[t]?.normalize() }
            }
            st.gtidExecuted = GTIDSet(parsing: snap.gtidExecuted) ?? GTIDSet()
            st.appliedSource = snap.source
        }
    }

    func mutateVariables(_ body: (inout ServerVariables) -> Void) {
        state.withLockedValue { body(&$0.variables) }
    }

    func setAccounts(_ body: (inout [Account]) -> Void) {
        state.withLockedValue { body(&$0.catalog.accounts) }
    }

    func account(named name: String, from address: String) -> Account? {
        state.withLockedValue { $0.catalog.account(named: name, from: address, server: settings.host) }
    }
}

/// One statement's run with the engine state checked out of the lock.
struct ExecutionContext {
    let engine: StoreEngine
    var state: StoreEngine.State
    /// Inside a transaction: the statements that changed something, kept for the binlog at COMMIT instead of
    /// committed one by one.
    var deferred: [LoggedStatement]?

    init(engine: StoreEngine, state: StoreEngine.State) {
        self.engine = engine
        self.state = state
    }

    var settings: StoreSettings { engine.settings }
    var catalog: Catalog {
        get { state.catalog }
        _modify { yield &state.catalog }
    }

    mutating func run(_ parsed: ParsedStatement, session: inout Session) throws -> Executed {
        let statement = parsed.statement
        if let refusal = statement.refusal { throw refusal }
        if statement.isWrite && session.replay == nil && state.variables.readOnly {
            // read_only spares SUPER users; super_read_only spares nobody (but the applier, which has replay set).
            if state.variables.superReadOnly || !session.isSuper {
                try checkWritePrivilege(statement, session: session)
                // mysqld's err_readonly(): the option named depends on who asks — SUPER users can only be stopped
                // by super_read_only, so they are told "--super-read-only"; everyone else "--read-only".
                throw StoreError.readOnly(superReadOnly: session.isSuper)
            }
        }
        var result: StoreResult
        var logged = false
        var insertID: Int64 = 0
        switch statement {
        case .select(let q): result = try select(q, session: &session)
        case .insert(let t, let cols, let rows, let ignore):
            (result, insertID) = try insert(t, columns: cols, rows: rows, ignore: ignore, session: &session)
            logged = result.affectedRows > 0
        case .update(let t, let a, let w, let l, let o):
            result = try update(t, assignments: a, whereClause: w, limit: l, orderBy: o, session: session)
            logged = result.affectedRows > 0
        case .delete(let t, let w, let l, let o):
            result = try delete(t, whereClause: w, limit: l, orderBy: o, session: session)
            logged = result.affectedRows > 0
        case .truncate(let t):
            result = try truncate(t, session: session); logged = true
        case .createDatabase(let name, let ine): result = try createDatabase(name, ifNotExists: ine, session: session); logged = true
        case .dropDatabase(let name, let ie): result = try dropDatabase(name, ifExists: ie, session: session); logged = true
        case .createTable(let t, let ine, let cols, let pk, let uq, let plain):
            result = try createTable(t, ifNotExists: ine, columns: cols, primaryKey: pk, unique: uq, session: session); logged = true
            if !plain.isEmpty, result.warningList.isEmpty { _ = try alterTable(t, plain, session: session) }
        case .dropTable(let names, let ie): result = try dropTable(names, ifExists: ie, session: session); logged = true
        case .alterTable(let t, let specs): result = try alterTable(t, specs, session: session); logged = true
        case .use(let db):
            try use(db, session: &session)
            result = StoreResult(affectedRows: 0)
        case .show(let kind): result = try show(kind, session: session)
        case .set(let assignments): result = try set(assignments, session: &session)
        case .setNames, .flush, .doNothing: result = StoreResult(affectedRows: 0)
        case .begin, .commit, .rollback, .savepoint, .rollbackToSavepoint, .releaseSavepoint:
            // The engine handles transaction control before a statement reaches here.
            result = StoreResult(affectedRows: 0)
        case .createUser(let users, let ine): result = try createUser(users, ifNotExists: ine, session: session); logged = true
        case .dropUser(let users, let ie): result = try dropUser(users, ifExists: ie, session: session); logged = true
        case .alterUser(let spec): result = try alterUser(spec, session: session); logged = true
        case .grant(let privs, let db, let table, let user):
            result = try grant(privs, database: db, table: table, user: user, session: session); logged = true
        case .revoke:
            throw StoreError.notSupported("REVOKE")
        case .startReplica, .stopReplica, .resetReplica, .changeSource, .resetBinaryLogs:
            throw StoreError.notSupported("replication statement outside the store")
        }
        var commit: (file: String, position: UInt64)?
        if logged {
            let millis = session.replay?.millis ?? UInt64(Date().timeIntervalSince1970 * 1000)
            let statement = LoggedStatement(db: session.database, sql: parsed.text, insertID: insertID, millis: millis)
            if deferred != nil {
                deferred?.append(statement)
            } else {
                commit = try self.commit([statement], session: session)
            }
        } else if deferred == nil, let replay = session.replay, replay.writeRedo, let source = replay.source {
            // The applier moved past a transaction that changed nothing here: remember the position durably.
            state.appliedSource = source
            if let g = replay.gtid { state.gtidExecuted.insert(uuid: g.uuid, gno: g.gno) }
            try engine.dataLog.append(RedoRecord(db: nil, sql: nil, insertID: 0, millis: 0, gtid: replay.gtid.map { "\($0.uuid):\($0.gno)" }, source: source))
        }
        return Executed(result: result, commit: commit)
    }

    /// Binlog first, then the redo log, as MySQL's two-phase commit orders them; only then is the client told OK.
    /// One transaction, one GTID, however many statements it holds.
    mutating func commit(_ statements: [LoggedStatement], session: Session) throws -> (file: String, position: UInt64)? {
        let replay = session.replay
        let gtid: (uuid: String, gno: Int64)
        if let replayed = replay?.gtid {
            gtid = replayed
        } else if let gno = state.gtidExecuted.next(for: engine.serverUUID) {
            gtid = (engine.serverUUID, gno)
        } else {
            throw StoreError(code: 1775, sqlState: "HY000", message: "Impossible to generate GTID: the integer component reached the maximum value. Restart the server with a new server_uuid.")
        }
        var point: (file: String, position: UInt64)?
        if let binlog = engine.binlog, replay?.writeBinlog ?? true {
            point = try binlog.appendTransaction(uuid: gtid.uuid, gno: gtid.gno, statements: statements)
        }
        if replay?.writeRedo ?? true {
            let g = "\(gtid.uuid):\(gtid.gno)"
            if statements.count == 1, let only = statements.first {
                try engine.dataLog.append(RedoRecord(db: only.db, sql: only.sql, insertID: only.insertID, millis: only.millis, gtid: g, source: replay?.source))
            } else {
                try engine.dataLog.append(RedoRecord(db: nil, sql: nil, insertID: 0, millis: statements.first?.millis ?? 0, gtid: g, source: replay?.source,
                                                     statements: statements))
            }
        }
        state.gtidExecuted.insert(uuid: gtid.uuid, gno: gtid.gno)
        if let source = replay?.source { state.appliedSource = source }
        return point
    }

    // MARK: - Name resolution and privileges

    func databaseName(_ t: TableName, _ session: Session) throws -> String {
        if let db = t.database { return db }
        guard let db = session.database else { throw StoreError.noDatabaseSelected() }
        return db
    }

    func checkTablePrivilege(_ privilege: String, db: String, table: String, session: Session) throws {
        guard session.replay == nil, !session.account.has(privilege, database: db) else { return }
        throw StoreError.commandDenied(privilege, user: session.user, host: session.host, table: table)
    }

    func checkWritePrivilege(_ statement: Statement, session: Session) throws {
        switch statement {
        case .insert(let t, _, _, _): try checkTablePrivilege("INSERT", db: try databaseName(t, session), table: t.name, session: session)
        case .update(let t, _, _, _, _): try checkTablePrivilege("UPDATE", db: try databaseName(t, session), table: t.name, session: session)
        case .delete(let t, _, _, _): try checkTablePrivilege("DELETE", db: try databaseName(t, session), table: t.name, session: session)
        default: break
        }
    }

    func requireSuper(_ session: Session, _ privileges: String = "SUPER") throws {
        guard session.replay == nil, !session.isSuper else { return }
        throw StoreError.specificDenied(privileges)
    }

    func table(_ t: TableName, _ session: Session, privilege: String) throws -> (db: String, table: Table) {
        let db = try databaseName(t, session)
        if let system = try systemTable(db, t.name, session: session, privilege: privilege) { return (db, system) }
        guard let database = catalog.databases[db], let table = database.tables[t.name] else {
            if session.replay == nil, !session.account.hasAny(on: db) {
                throw StoreError.commandDenied(privilege, user: session.user, host: session.host, table: t.name)
            }
            throw StoreError.noSuchTable(db, t.name)
        }
        try checkTablePrivilege(privilege, db: db, table: t.name, session: session)
        return (db, table)
    }
}
