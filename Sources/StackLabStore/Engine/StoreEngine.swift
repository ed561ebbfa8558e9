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

/// A session's SQLite connection, as `Session` (a value that moves between threads) carries it.
///
/// @unchecked Sendable: a MySQL session runs one statement at a time — the wire handler starts the next only after
/// the previous one's answer, in-process sessions run a script to its end before the next — and every use of
/// `sqlite` and `evaluator` happens inside one statement's run, so one thread at a time touches them.
final class SessionConnection: @unchecked Sendable {
    let sqlite: SQLiteSession
    let engine: ObjectIdentifier
    /// The engine's count of CREATE/DROP DATABASE when this connection last attached the directory's files.
    var generation: Int
    /// What MySQL's functions evaluated by SQLite read (the session, the variables) during the running statement.
    let slot: EvaluatorSlot
    /// Held while a statement of the session runs; the engine takes it to end the connection's transaction when
    /// the server stops or crashes (a dead mysqld holds no locks).
    let running = NSLock()
    /// The server stopped: the connection's transaction is gone and it runs nothing more.
    var ended = false

    init(sqlite: SQLiteSession, engine: ObjectIdentifier, generation: Int, slot: EvaluatorSlot) {
        self.sqlite = sqlite
        self.engine = engine
        self.generation = generation
        self.slot = slot
    }
}

/// The evaluator SQLite's `mysql_fn`/`mysql_op` call back into while a statement runs. Used by the one thread
/// running the session's statement (see `SessionConnection`).
final class EvaluatorSlot {
    var evaluator: Evaluator?
}

/// The SQL engine: the dictionary (MySQL's definitions of the tables, whose rows live in SQLite), GTIDs,
/// variables, and the commit path (binlog, then SQLite's commit with the GTID, then OK).
///
/// Each session has its own SQLite connection (`SessionConnection`); a transaction is SQLite's, its snapshot
/// WAL's. `writeLock` lets one writing transaction at a time hold on to the right to commit, so binlog order is
/// commit order and the statements it logs replay on a replica exactly as they ran.
final class StoreEngine: Sendable {
    let settings: StoreSettings
    let serverUUID: String
    let binlog: BinaryLog?
    /// The data directory's SQLite files; nil for the placeholder engine of a store that has not started.
    let datadir: SQLiteDatadir?
    let writeLock = WriteLock()
    /// The replication applier's and crash recovery's connection, used under `writeLock` held as connection 0.
    private let applier = NIOLockedValueBox<SessionConnection?>(nil)
    /// Every session's connection, to end their transactions when the server goes down.
    private let connections = NIOLockedValueBox<[ObjectIdentifier: WeakConnection]>([:])

    struct WeakConnection: Sendable {
        weak var connection: SessionConnection?
    }
    static let version = "8.0.40-stacklab"
    static let versionComment = "Source distribution"

    struct State: Sendable {
        var catalog = Catalog()
        var gtidExecuted = GTIDSet()
        var variables: ServerVariables
        /// Last source position the applier committed (mysql.slave_relay_log_info).
        var appliedSource: SourcePosition?
        var open = true
        /// CREATE and DROP DATABASE so far: a session's connection attaches the files again when it changed.
        var databaseGeneration = 0
    }

    let state: NIOLockedValueBox<State>

    init(settings: StoreSettings, serverUUID: String, binlog: BinaryLog?, datadir: SQLiteDatadir?) {
        self.settings = settings
        self.serverUUID = serverUUID
        self.binlog = binlog
        self.datadir = datadir
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

    // MARK: - Connections

    /// A new SQLite connection for a session: every database attached, MySQL's functions and collation registered.
    func openConnection(lockWaitTimeout seconds: Int) throws -> SessionConnection {
        guard let datadir, state.withLockedValue({ $0.open }) else { throw StoreConnectionError.lostConnection() }
        let generation = state.withLockedValue { $0.databaseGeneration }
        let slot = EvaluatorSlot()
        let sqlite = try datadir.openSession(lockWaitTimeoutSeconds: seconds) { c in
            try MySQLSemantics.register(on: c) { e, group in
                guard let evaluator = slot.evaluator else { throw StoreError.notSupported("a MySQL function outside a statement") }
                return try evaluator.eval(e, row: nil, group: group)
            }
        }
        let c = SessionConnection(sqlite: sqlite, engine: ObjectIdentifier(self), generation: generation, slot: slot)
        connections.withLockedValue { all in
            all = all.filter { $0.value.connection != nil }
            all[ObjectIdentifier(c)] = WeakConnection(connection: c)
        }
        return c
    }

    /// The session's connection, opened at its first statement; between transactions it attaches the databases
    /// created (and detaches those dropped) since it last looked.
    func connection(_ session: inout Session) throws -> SessionConnection {
        let generation = state.withLockedValue { $0.databaseGeneration }
        if let c = session.connection, c.engine == ObjectIdentifier(self) {
            if c.generation != generation, !c.sqlite.inTransaction {
                try c.sqlite.refreshAttachments()
                c.generation = generation
            }
            c.sqlite.setLockWaitTimeout(seconds: lockWaitTimeout(session))
            return c
        }
        let c = try openConnection(lockWaitTimeout: lockWaitTimeout(session))
        session.connection = c
        return c
    }

    /// The applier's session: root, on the engine's own connection.
    func applierSession() throws -> Session {
        var session = Session.root()
        let existing = applier.withLockedValue { $0 }
        if let existing {
            session.connection = existing
        } else {
            let c = try openConnection(lockWaitTimeout: lockWaitTimeout(session))
            applier.withLockedValue { $0 = c }
            session.connection = c
        }
        _ = try connection(&session)
        return session
    }

    /// Runs one statement for a session, on a thread that may wait (never an event loop): a write waits for
    /// another transaction's lock up to innodb_lock_wait_timeout, then fails with 1205.
    func execute(_ parsed: ParsedStatement, session: inout Session) throws -> Executed {
        if case .use(let db) = parsed.statement {
            // USE reads the dictionary only, without SQLite: a login naming a database and COM_INIT_DB run it on
            // their event loop.
            try state.withLockedValue { st in
                guard st.open else { throw StoreConnectionError.lostConnection() }
                var ctx = ExecutionContext(engine: self, state: st)
                try ctx.use(db, session: &session)
            }
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: nil)
        }
        let c = try connection(&session)
        c.running.lock()
        defer { c.running.unlock() }
        guard !c.ended else { throw StoreConnectionError.lostConnection() }
        return try run(parsed, session: &session)
    }

    private func run(_ parsed: ParsedStatement, session: inout Session) throws -> Executed {
        let statement = parsed.statement
        switch statement {
        case .begin(let readOnly):
            // BEGIN inside a transaction commits it first (an implicit commit).
            let point = try commitTransaction(&session)
            try startTransaction(&session, readOnly: readOnly)
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: point)
        case .commit:
            let point = try commitTransaction(&session)
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: point)
        case .rollback:
            endTransaction(&session)
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: nil)
        case .savepoint(let name):
            // Outside a transaction (autocommit) MySQL accepts SAVEPOINT and keeps nothing.
            if var t = session.transaction, let c = session.connection {
                try c.sqlite.savepoint(name)
                t.savepoints.removeAll { $0.name.lowercased() == name.lowercased() }
                t.savepoints.append(Transaction.Savepoint(name: name, statements: t.statements.count))
                session.transaction = t
            }
            session.rowCount = 0
            return Executed(result: StoreResult(affectedRows: 0), commit: nil)
        case .rollbackToSavepoint(let name), .releaseSavepoint(let name):
            guard var t = session.transaction, let c = session.connection,
                  let i = t.savepoints.lastIndex(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw StoreError(code: 1305, sqlState: "42000", message: "SAVEPOINT \(name) does not exist")
            }
            if case .rollbackToSavepoint = statement {
                // The rows go back; the write lock stays (InnoDB keeps the locks taken after the savepoint too).
                // AUTO_INCREMENT values taken after it stay taken, as in InnoDB: the dictionary's counter does
                // not go back.
                let point = t.savepoints[i]
                try c.sqlite.rollback(toSavepoint: name)
                try saveAutoIncrements(on: c.sqlite)
                t.statements.removeSubrange(min(point.statements, t.statements.count)...)
                t.savepoints.removeSubrange((i + 1)...)
            } else {
                try c.sqlite.release(savepoint: name)
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
            try startTransaction(&session, readOnly: false)
        }
        if statement.isDataStatement, session.transaction != nil {
            return try executeInTransaction(parsed, session: &session)
        }
        let writes = statement.isWrite
        if writes { try writeLock.acquire(session.connectionID, timeout: lockWaitTimeout(session)) }
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

    /// BEGIN on the session's connection: SQLite's deferred transaction, whose snapshot is taken at its first
    /// read, as InnoDB's consistent read view is.
    private func startTransaction(_ session: inout Session, readOnly: Bool) throws {
        let c = try connection(&session)
        try c.sqlite.begin()
        session.transaction = Transaction(readOnly: readOnly)
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
        let c = try connection(&s)
        let statement = parsed.statement
        // A write runs in an SQLite transaction of its own. CREATE and DROP DATABASE attach and detach files,
        // which SQLite does only outside a transaction: their GTID is recorded after.
        var transactional = statement.isWrite
        switch statement {
        case .createDatabase, .dropDatabase: transactional = false
        default: break
        }
        return try state.withLockedValue { st in
            guard st.open else { throw StoreConnectionError.lostConnection() }
            var ctx = ExecutionContext(engine: self, state: st)
            ctx.sqlite = c.sqlite
            c.slot.evaluator = ctx.evaluator(nil, s, clause: "field list")
            defer { c.slot.evaluator = nil }
            if transactional { try c.sqlite.beginImmediate() }
            // A statement that fails changes nothing: its SQLite transaction and its working copy of the state
            // are dropped (MySQL rolls the statement back), also when the failure comes from the commit itself.
            let executed: Executed
            do {
                executed = try ctx.run(parsed, session: &s)
                if transactional, c.sqlite.inTransaction { try c.sqlite.commit(gtid: nil, source: nil) }
            } catch {
                // Only its own transaction: a statement that reads nothing of the rows (SHOW, SET, SELECT 1)
                // may run inside the session's open one.
                if transactional { try? c.sqlite.rollback() }
                s.rowCount = -1
                throw error
            }
            s.rowCount = executed.result.columns.isEmpty ? Int64(executed.result.affectedRows) : -1
            st = ctx.state
            switch statement {
            case .createDatabase, .dropDatabase: st.databaseGeneration += 1
            default: break
            }
            return executed
        }
    }

    /// A statement inside a transaction: it runs in the session's SQLite transaction; its text is queued for the
    /// binlog at COMMIT.
    private func executeInTransaction(_ parsed: ParsedStatement, session: inout Session) throws -> Executed {
        guard var txn = session.transaction, let c = session.connection else { return try executeCommitted(parsed, session: &session) }
        if parsed.statement.isWrite {
            if txn.readOnly {
                throw StoreError(code: 1792, sqlState: "25006", message: "Cannot execute statement in a READ ONLY transaction.")
            }
            if !txn.holdsWriteLock {
                try writeLock.acquire(session.connectionID, timeout: lockWaitTimeout(session))
                // The first write starts from the latest committed rows (InnoDB's writes read the latest
                // version); nobody else commits until this transaction ends. Its savepoints so far stand for
                // those rows too. SQLite cannot move a snapshot forward: the transaction, which has only read,
                // begins again.
                do {
                    try c.sqlite.rollback()
                    try c.sqlite.beginImmediate()
                    for p in txn.savepoints { try c.sqlite.savepoint(p.name) }
                } catch {
                    writeLock.release(session.connectionID)
                    throw error
                }
                txn.holdsWriteLock = true
                session.transaction = txn
            }
        }
        var s = session
        defer { session = s }
        return try state.withLockedValue { st in
            guard st.open else { throw StoreConnectionError.lostConnection() }
            var ctx = ExecutionContext(engine: self, state: st)
            ctx.sqlite = c.sqlite
            ctx.deferred = []
            c.slot.evaluator = ctx.evaluator(nil, s, clause: "field list")
            defer { c.slot.evaluator = nil }
            let executed: Executed
            do {
                executed = try ctx.run(parsed, session: &s)
            } catch {
                s.rowCount = -1
                throw error
            }
            s.rowCount = executed.result.columns.isEmpty ? Int64(executed.result.affectedRows) : -1
            txn.statements += ctx.deferred ?? []
            s.transaction = txn
            // The dictionary's changes (AUTO_INCREMENT counters) are the store's at once: InnoDB does not give a
            // number back at ROLLBACK either.
            st = ctx.state
            return Executed(result: executed.result, commit: nil, delaySeconds: executed.delaySeconds)
        }
    }

    /// COMMIT: the transaction's statements reach the binlog as one GTID, then SQLite commits its rows with it.
    /// Returns where the transaction ended in the binlog (what semi-sync waits for); nil when it changed nothing.
    func commitTransaction(_ session: inout Session) throws -> (file: String, position: UInt64)? {
        guard let txn = session.transaction else { return nil }
        session.transaction = nil
        let connection = session.connectionID
        defer { if txn.holdsWriteLock { writeLock.release(connection) } }
        guard let c = session.connection else { return nil }
        guard txn.holdsWriteLock, !txn.statements.isEmpty else {
            // Nothing for the binlog; what the dictionary moved (AUTO_INCREMENT) is kept.
            do { try c.sqlite.commit(gtid: nil, source: nil) } catch { try? c.sqlite.rollback(); throw error }
            return nil
        }
        return try state.withLockedValue { st in
            guard st.open else {
                try? c.sqlite.rollback()
                throw StoreConnectionError.lostConnection()
            }
            var ctx = ExecutionContext(engine: self, state: st)
            ctx.sqlite = c.sqlite
            let point: (file: String, position: UInt64)?
            do {
                point = try ctx.commit(txn.statements, session: session)
            } catch {
                try? c.sqlite.rollback()
                throw error
            }
            st = ctx.state
            return point
        }
    }

    /// ROLLBACK, and what happens to an open transaction when its connection ends.
    func rollbackTransaction(_ session: inout Session) {
        guard session.transaction != nil, let c = session.connection, c.engine == ObjectIdentifier(self) else {
            session.transaction = nil
            return
        }
        c.running.lock()
        defer { c.running.unlock() }
        endTransaction(&session)
    }

    private func endTransaction(_ session: inout Session) {
        guard let txn = session.transaction else { return }
        session.transaction = nil
        if let c = session.connection, c.engine == ObjectIdentifier(self), !c.ended {
            try? c.sqlite.rollback()
            // AUTO_INCREMENT values a rolled-back transaction took stay taken, as in InnoDB: the next id skips them.
            if txn.holdsWriteLock, (try? c.sqlite.beginImmediate()) != nil {
                if (try? saveAutoIncrements(on: c.sqlite)) != nil { try? c.sqlite.commit(gtid: nil, source: nil) } else { try? c.sqlite.rollback() }
            }
        }
        if txn.holdsWriteLock { writeLock.release(session.connectionID) }
    }

    /// Writes the dictionary's AUTO_INCREMENT counters into the files where SQLite has rolled them back.
    private func saveAutoIncrements(on sqlite: SQLiteSession) throws {
        let catalog = state.withLockedValue { $0.catalog }
        for (db, database) in catalog.databases where sqlite.attached.contains(db) {
            let saved = Dictionary(try sqlite.definitions(in: db).map { ($0.name, $0.autoIncrement) }, uniquingKeysWith: { a, _ in a })
            for table in database.tables.values where table.autoIncrementColumn != nil {
                if let s = saved[table.name], s < table.autoIncrement { try sqlite.saveDefinition(TableDefinition(table), in: db) }
            }
        }
    }

    /// Repeats a logged multi-statement transaction (the applier, crash recovery): all of it or nothing, under
    /// its one GTID, committed in SQLite with the GTID and the source position.
    func executeLogged(_ statements: [LoggedStatement], replay: Replay) throws {
        try withApplierConnection { base, c in try executeLogged(statements, replay: replay, base: base, on: c) }
    }

    /// The applier's own connection, under the store's write lock, for one transaction of the applier.
    private func withApplierConnection(_ body: (Session, SessionConnection) throws -> Void) throws {
        try writeLock.acquire(0, timeout: lockWaitTimeout(Session.root()))
        defer { writeLock.release(0) }
        let base = try applierSession()
        guard let c = base.connection else { return }
        c.running.lock()
        defer { c.running.unlock() }
        guard !c.ended else { throw StoreConnectionError.lostConnection() }
        try body(base, c)
    }

    private func executeLogged(_ statements: [LoggedStatement], replay: Replay, base: Session, on c: SessionConnection) throws {
        try state.withLockedValue { st in
            guard st.open else { throw StoreConnectionError.lostConnection() }
            var ctx = ExecutionContext(engine: self, state: st)
            ctx.sqlite = c.sqlite
            ctx.deferred = []
            try c.sqlite.beginImmediate()
            do {
                for statement in statements {
                    var session = base
                    session.database = statement.db
                    session.replay = Replay(insertID: statement.insertID, millis: statement.millis, gtid: replay.gtid, source: replay.source,
                                            writeBinlog: replay.writeBinlog)
                    c.slot.evaluator = ctx.evaluator(nil, session, clause: "field list")
                    defer { c.slot.evaluator = nil }
                    let parsed = try Parser.parse(statement.sql)
                    _ = try ctx.run(ParsedStatement(statement: parsed, text: statement.sql), session: &session)
                }
                var session = base
                session.replay = replay
                if let logged = ctx.deferred, !logged.isEmpty {
                    _ = try ctx.commit(logged, session: session)
                } else {
                    try c.sqlite.commit(gtid: replay.gtid, source: replay.source)
                    if let source = replay.source { ctx.state.appliedSource = source }
                    if let g = replay.gtid { ctx.state.gtidExecuted.insert(uuid: g.uuid, gno: g.gno) }
                }
            } catch {
                try? c.sqlite.rollback()
                throw error
            }
            st = ctx.state
        }
    }

    /// Records that the applier reached a source position without a data change (e.g. a statement that failed
    /// identically on the source), so a restart does not fetch it again.
    func recordSourcePosition(_ position: SourcePosition, gtid: (uuid: String, gno: Int64)?) throws {
        try withApplierConnection { _, c in try recordSourcePosition(position, gtid: gtid, on: c) }
    }

    private func recordSourcePosition(_ position: SourcePosition, gtid: (uuid: String, gno: Int64)?, on c: SessionConnection) throws {
        try state.withLockedValue { st in
            try c.sqlite.beginImmediate()
            do { try c.sqlite.commit(gtid: gtid, source: position) } catch {
                try? c.sqlite.rollback()
                throw error
            }
            st.appliedSource = position
            if let g = gtid { st.gtidExecuted.insert(uuid: g.uuid, gno: g.gno) }
        }
    }

    /// The server stops or crashes: every session's open transaction ends with it, as a dead mysqld's do, so
    /// the next start finds no lock held.
    func close() {
        state.withLockedValue { $0.open = false }
        let applied = applier.withLockedValue { box in defer { box = nil }; return box }
        writeLock.releaseAll()
        var open = connections.withLockedValue { all in
            defer { all = [:] }
            return all.values.compactMap(\.connection)
        }
        if let applied, !open.contains(where: { $0 === applied }) { open.append(applied) }
        for c in open {
            c.running.lock()
            // Every statement stopped first: a ROLLBACK beside a statement still stepping would fail and keep the lock.
            c.sqlite.connection.abandon()
            try? c.sqlite.rollback()
            c.ended = true
            c.running.unlock()
        }
    }

    /// What a start reads back from the data directory: the dictionary, the accounts, the GTIDs, the applier's
    /// position.
    func restore(_ recovered: RecoveredDatadir) {
        state.withLockedValue { st in
            st.catalog = Catalog(recovered)
            st.gtidExecuted = recovered.gtidExecuted
            st.appliedSource = recovered.source
        }
    }

    func mutateVariables(_ body: (inout ServerVariables) -> Void) {
        state.withLockedValue { body(&$0.variables) }
    }

    /// Changes the accounts and writes them to the `mysql` file (the accounts made from the settings at first start).
    func setAccounts(_ body: (inout [Account]) -> Void) throws {
        let accounts = state.withLockedValue { st in
            body(&st.catalog.accounts)
            return st.catalog.accounts
        }
        var session = Session.root()
        let c = try connection(&session)
        try c.sqlite.beginImmediate()
        do {
            try c.sqlite.saveAccounts(accounts)
            try c.sqlite.commit(gtid: nil, source: nil)
        } catch {
            try? c.sqlite.rollback()
            throw error
        }
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
    /// The session's SQLite connection, where the rows are.
    var sqlite: SQLiteSession?

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
        // SQLite reads JOINs, subqueries, UNION, WITH and window functions; the values a write computes are the
        // store's own evaluator's, which refuses them there.
        if case .select = statement {} else if let refusal = statement.refusal { throw refusal }
        if statement.isWrite && session.replay == nil && state.variables.readOnly {
            // read_only spares SUPER users; super_read_only spares nobody (but the applier, which has replay set).
            if state.variables.superReadOnly || !session.isSuper {
                try checkWritePrivilege(statement, session: session)
                // mysqld's err_readonly(): the option named depends on who asks — SUPER users can only be stopped
                // by super_read_only, so they are told "--super-read-only"; everyone else "--read-only".
                throw StoreError.readOnly(superReadOnly: session.isSuper)
            }
        }
        guard let sqlite else { throw StoreConnectionError.lostConnection() }
        var result: StoreResult
        var logged = false
        var insertID: Int64 = 0
        switch statement {
        case .select(let q): result = try select(q, session: &session, on: sqlite)
        case .insert(let t, let cols, let rows, let ignore):
            (result, insertID) = try insert(t, columns: cols, rows: rows, ignore: ignore, session: &session, on: sqlite)
            logged = result.affectedRows > 0
        case .update(let t, let a, let w, let l, let o):
            result = try update(t, assignments: a, whereClause: w, limit: l, orderBy: o, session: session, on: sqlite)
            logged = result.affectedRows > 0
        case .delete(let t, let w, let l, let o):
            result = try delete(t, whereClause: w, limit: l, orderBy: o, session: session, on: sqlite)
            logged = result.affectedRows > 0
        case .truncate(let t):
            result = try truncate(t, session: session, on: sqlite); logged = true
        case .createDatabase(let name, let ine): result = try createDatabase(name, ifNotExists: ine, session: session, on: sqlite); logged = true
        case .dropDatabase(let name, let ie): result = try dropDatabase(name, ifExists: ie, session: session, on: sqlite); logged = true
        case .createTable(let t, let ine, let cols, let pk, let uq, let plain):
            result = try createTable(t, ifNotExists: ine, columns: cols, primaryKey: pk, unique: uq, plain: plain, session: session, on: sqlite)
            logged = true
        case .dropTable(let names, let ie): result = try dropTable(names, ifExists: ie, session: session, on: sqlite); logged = true
        case .alterTable(let t, let specs): result = try alterTable(t, specs, session: session, on: sqlite); logged = true
        case .use(let db):
            try use(db, session: &session)
            result = StoreResult(affectedRows: 0)
        case .show(let kind): result = try show(kind, session: session)
        case .set(let assignments): result = try set(assignments, session: &session)
        case .setNames, .flush, .doNothing: result = StoreResult(affectedRows: 0)
        case .begin, .commit, .rollback, .savepoint, .rollbackToSavepoint, .releaseSavepoint:
            // The engine handles transaction control before a statement reaches here.
            result = StoreResult(affectedRows: 0)
        case .createUser(let users, let ine):
            result = try createUser(users, ifNotExists: ine, session: session); logged = true
            try sqlite.saveAccounts(catalog.accounts)
        case .dropUser(let users, let ie):
            result = try dropUser(users, ifExists: ie, session: session); logged = true
            try sqlite.saveAccounts(catalog.accounts)
        case .alterUser(let spec):
            result = try alterUser(spec, session: session); logged = true
            try sqlite.saveAccounts(catalog.accounts)
        case .grant(let privs, let db, let table, let user):
            result = try grant(privs, database: db, table: table, user: user, session: session); logged = true
            try sqlite.saveAccounts(catalog.accounts)
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
        } else if deferred == nil, let replay = session.replay, let source = replay.source {
            // The applier moved past a transaction that changed nothing here: remember the position durably.
            try sqlite.commitRecording(gtid: replay.gtid, source: source)
            state.appliedSource = source
            if let g = replay.gtid { state.gtidExecuted.insert(uuid: g.uuid, gno: g.gno) }
        }
        return Executed(result: result, commit: commit)
    }

    /// Binlog first, then SQLite's commit with the GTID in the same transaction as the rows, as MySQL's two-phase
    /// commit orders them; only then is the client told OK. One transaction, one GTID, however many statements
    /// it holds. A crash between the two leaves the data without a transaction the binlog has: the next start
    /// repeats it (`BinaryLog.transactions(missingFrom:)`).
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
        try sqlite?.commitRecording(gtid: gtid, source: replay?.source)
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
