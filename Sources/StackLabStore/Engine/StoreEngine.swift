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
}

/// The SQL engine: catalog, GTIDs, variables, and the commit path (binlog, then redo log, then OK).
/// Statements run one at a time under one lock: the miniature's "InnoDB" is a single mutex, which keeps every
/// binlog order identical to commit order.
final class StoreEngine: Sendable {
    let settings: StoreSettings
    let serverUUID: String
    let binlog: BinaryLog?
    let dataLog: DataLog
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

    func execute(_ parsed: ParsedStatement, session: inout Session) throws -> Executed {
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

    /// Records that the applier reached a source position without a data change (e.g. a statement that failed
    /// identically on the source), so a restart does not fetch it again.
    func recordSourcePosition(_ position: SourcePosition, gtid: (uuid: String, gno: Int64)?) throws {
        try state.withLockedValue { st in
            st.appliedSource = position
            if let g = gtid { st.gtidExecuted.insert(uuid: g.uuid, gno: g.gno) }
            try dataLog.append(RedoRecord(db: nil, sql: nil, insertID: 0, millis: 0, gtid: gtid.map { "\($0.uuid):\($0.gno)" }, source: position))
        }
    }

    func close() { state.withLockedValue { $0.open = false } }

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

    var settings: StoreSettings { engine.settings }
    var catalog: Catalog {
        get { state.catalog }
        _modify { yield &state.catalog }
    }

    mutating func run(_ parsed: ParsedStatement, session: inout Session) throws -> Executed {
        let statement = parsed.statement
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
        case .update(let t, let a, let w, let l):
            result = try update(t, assignments: a, whereClause: w, limit: l, session: session)
            logged = result.affectedRows > 0
        case .delete(let t, let w, let l):
            result = try delete(t, whereClause: w, limit: l, session: session)
            logged = result.affectedRows > 0
        case .truncate(let t):
            result = try truncate(t, session: session); logged = true
        case .createDatabase(let name, let ine): result = try createDatabase(name, ifNotExists: ine, session: session); logged = true
        case .dropDatabase(let name, let ie): result = try dropDatabase(name, ifExists: ie, session: session); logged = true
        case .createTable(let t, let ine, let cols, let pk, let uq):
            result = try createTable(t, ifNotExists: ine, columns: cols, primaryKey: pk, unique: uq, session: session); logged = true
        case .dropTable(let names, let ie): result = try dropTable(names, ifExists: ie, session: session); logged = true
        case .use(let db):
            try use(db, session: &session)
            result = StoreResult(affectedRows: 0)
        case .show(let kind): result = try show(kind, session: session)
        case .set(let assignments): result = try set(assignments, session: &session)
        case .setNames, .begin, .commit, .rollback, .flush, .doNothing: result = StoreResult(affectedRows: 0)
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
            commit = try self.commit(sql: parsed.text, database: session.database, insertID: insertID, session: session)
        } else if let replay = session.replay, replay.writeRedo, let source = replay.source {
            // The applier moved past a transaction that changed nothing here: remember the position durably.
            state.appliedSource = source
            if let g = replay.gtid { state.gtidExecuted.insert(uuid: g.uuid, gno: g.gno) }
            try engine.dataLog.append(RedoRecord(db: nil, sql: nil, insertID: 0, millis: 0, gtid: replay.gtid.map { "\($0.uuid):\($0.gno)" }, source: source))
        }
        return Executed(result: result, commit: commit)
    }

    /// Binlog first, then the redo log, as MySQL's two-phase commit orders them; only then is the client told OK.
    mutating func commit(sql: String, database: String?, insertID: Int64, session: Session) throws -> (file: String, position: UInt64)? {
        let replay = session.replay
        let millis = replay?.millis ?? UInt64(Date().timeIntervalSince1970 * 1000)
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
            point = try binlog.appendTransaction(uuid: gtid.uuid, gno: gtid.gno, database: database, sql: sql, insertID: insertID, millis: millis)
        }
        if replay?.writeRedo ?? true {
            try engine.dataLog.append(RedoRecord(db: database, sql: sql, insertID: insertID, millis: millis, gtid: "\(gtid.uuid):\(gtid.gno)", source: replay?.source))
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
        case .update(let t, _, _, _): try checkTablePrivilege("UPDATE", db: try databaseName(t, session), table: t.name, session: session)
        case .delete(let t, _, _): try checkTablePrivilege("DELETE", db: try databaseName(t, session), table: t.name, session: session)
        default: break
        }
    }

    func requireSuper(_ session: Session, _ privileges: String = "SUPER") throws {
        guard session.replay == nil, !session.isSuper else { return }
        throw StoreError.specificDenied(privileges)
    }

    func table(_ t: TableName, _ session: Session, privilege: String) throws -> (db: String, table: Table) {
        let db = try databaseName(t, session)
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
