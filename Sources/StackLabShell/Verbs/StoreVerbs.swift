import ArgumentParser
import Foundation
import StackLab
import StackLabCourse
import StackLabStore

/// `sql`: statements on a store, in one lasting session per store, as in the mysql client: `SHOW WARNINGS` after a
/// statement shows that statement's warnings, `USE` and `@variables` carry over. A lab that runs no store says so.
struct SQLVerb: RawTextVerb {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run SQL on a store (the primary unless TARGET says) and print each result table.",
        discussion: """
        Statements run in the lab's database (foobar), as the mysql client's root user, in one session per \
        store that lasts until 'reset' — so SHOW WARNINGS after a statement shows its warnings. The rest of the \
        line is SQL: ';' separates statements, which run in turn until one fails. End with \\G for one column \
        per line.

        Examples:
          sql SELECT * FROM posts ORDER BY id DESC LIMIT 5
          sql BEGIN; DELETE FROM posts; ROLLBACK
          sql web-02 SHOW REPLICA STATUS
        """)
    static let group = VerbGroup.store
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("[TARGET] STATEMENT: a server or its mysql, then the SQL.",
                                                                    valueName: "statement")) var words: [String] = []
    var rawText = ""

    init() {}
    init(rawText: String, words: [String]) {
        self.rawText = rawText
        self.words = words
    }

    enum CodingKeys: CodingKey { case words }

    func execute(in shell: Shell) async throws {
        guard !rawText.isEmpty else { throw ShellError.usage("give a statement, e.g. 'sql SELECT * FROM posts'") }
        let lab = shell.lab
        var statement = rawText
        var chosen: StoreProcess?
        // A first word naming a server or its mysql process picks the store; otherwise the primary.
        if let first = words.first, first.contains("-") || first.contains("/") {
            let target = try lab.target(first)
            chosen = lab.processes(for: target).compactMap { $0 as? StoreProcess }.first
            guard chosen != nil else { throw ShellError("\(target) runs no store — stores: \(StoreAvailability.names(lab))") }
            statement = String(rawText.dropFirst(first.count)).trimmingSpaces
        }
        let process = try chosen ?? StoreAvailability.primary(lab)
        guard let store = process.store else {
            // The mysql client's words, with the port that would answer (the config's, moved by the port plan).
            let address = "\(process.runtime.serverAddress):\(lab.network.port(process.config.port))"
            shell.report(.sql(SQLFact(server: process.serverName, statement: statement, errorCode: 2003,
                                      errorMessage: "Can't connect to MySQL server on '\(address)' (111)")))
            throw ShellError("ERROR 2003 (HY000): Can't connect to MySQL server on '\(address)' (111) — \(process.name) is "
                + "\(process.state) ('revive \(process.name)')")
        }
        guard !statement.isEmpty else { throw ShellError.usage("give a statement after \(process.name), e.g. 'sql \(process.serverName) SHOW REPLICA STATUS'") }
        var vertical = false
        if statement.hasSuffix("\\G") {
            vertical = true
            statement = String(statement.dropLast(2))
        }
        // Like `mysql foobar`: the session starts in the database the store's init file creates.
        let database = StoreAvailability.database(of: process, in: lab)
        let started = ContinuousClock.now
        do {
            var session = try shell.sqlSessions.session(for: process.name, store: store, database: database, generation: shell.session.generation)
            let outcomes: [Result<StoreResult, StoreError>]
            do {
                outcomes = try await cancellable { [session, statement] in try await store.executeScript(statement, in: session) }
            } catch let error as StoreConnectionError where error.code == 2006 {
                // The server restarted under the session: the mysql client says so, reconnects and runs it again.
                shell.say("ERROR \(error.code) (HY000): \(error.message)")
                shell.say("No connection. Trying to reconnect...")
                session = try shell.sqlSessions.reconnect(process.name, store: store, database: database, generation: shell.session.generation)
                shell.say("Connection id:    \(session.connectionID)")
                shell.say("Current database: \(session.database ?? "*** NONE ***")")
                shell.say("")
                outcomes = try await cancellable { [session, statement] in try await store.executeScript(statement, in: session) }
            }
            guard !outcomes.isEmpty else { throw ShellError("ERROR: No query specified") }
            let seconds = Double(started.milliseconds) / 1000
            // One block per statement, as the mysql client prints a line of several; the first error ends it.
            for (index, outcome) in outcomes.enumerated() {
                switch outcome {
                case .success(let result):
                    // A blank line between blocks, as the mysql client leaves after each statement.
                    if index > 0 { shell.write("\n") }
                    let last = index == outcomes.count - 1
                    let rendered = vertical && last ? result.renderVertical(seconds: seconds) : result.renderTable(seconds: seconds)
                    shell.write(rendered.hasSuffix("\n") ? rendered : rendered + "\n")
                    shell.report(.sql(SQLFact(server: process.serverName, statement: statement, columns: result.columns, rows: result.rows,
                                              affectedRows: result.affectedRows)))
                case .failure(let error):
                    throw error
                }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as ShellError {
            throw error
        } catch {
            let failure = error as? StoreError
            shell.report(.sql(SQLFact(server: process.serverName, statement: statement, errorCode: failure?.code,
                                      errorMessage: failure?.message ?? "\(error)")))
            throw ShellError("\(error)")
        }
    }
}

/// The shell's SQL sessions: one per store process, for the lab that is running (a `reset` starts them afresh).
@MainActor
final class SQLSessions {
    private var sessions: [String: (generation: Int, session: StoreClientSession)] = [:]

    nonisolated init() {}

    func session(for process: String, store: MySQLStore, database: String?, generation: Int) throws -> StoreClientSession {
        if let kept = sessions[process], kept.generation == generation { return kept.session }
        return try reconnect(process, store: store, database: database, generation: generation)
    }

    func reconnect(_ process: String, store: MySQLStore, database: String?, generation: Int) throws -> StoreClientSession {
        let session = try store.openSession(database: database)
        sessions[process] = (generation, session)
        return session
    }
}

struct ReplicationVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "replication",
        abstract: "Is the replica keeping up with the primary? A summary of SHOW REPLICA STATUS.",
        discussion: """
        For each store: its role, and for a replica its two threads (IO: fetching the primary's binlog; SQL:
        applying it) and how far behind it is. "Seconds_Behind_Source: NULL" means it is not replicating at all.

        Example:
          replication
        """)
    static let group = VerbGroup.store

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        let stores = lab.processes.compactMap { $0 as? StoreProcess }
        guard !stores.isEmpty else { throw StoreAvailability.none }
        let style = shell.style
        var seen: [ReplicaFact] = []
        defer { shell.report(.replication(seen)) }
        for process in stores {
            guard let store = process.store else {
                shell.say("\(process.name): " + style.red("\(process.state)") + " — not running")
                continue
            }
            let status = store.status
            guard let replica = status.replica else {
                let binlog = status.binlogFile.map { " · binlog \($0) position \(status.binlogPosition ?? 0)" } ?? " · no binary log"
                shell.say("\(process.name): " + style.bold("PRIMARY") + (status.readOnly ? " (read_only)" : " (takes writes)") + binlog)
                continue
            }
            seen.append(ReplicaFact(store: process.name, ioRunning: replica.ioRunning == .yes, sqlRunning: replica.sqlRunning,
                                    secondsBehindSource: replica.secondsBehindSource))
            let io = replica.ioRunning.rawValue, sql = replica.sqlRunning ? "Yes" : "No"
            let healthy = replica.ioRunning == .yes && replica.sqlRunning
            let behind = replica.secondsBehindSource.map { "\($0) s" } ?? "NULL"
            // The source's port that answers; SHOW REPLICA STATUS keeps the SOURCE_PORT it was given.
            let port = lab.network.port(replica.sourcePort)
            let moved = port == replica.sourcePort ? "" : " (SOURCE_PORT=\(replica.sourcePort) + --port-base)"
            shell.say(TerminalText.wrapStyled("\(process.name): " + style.bold("REPLICA") + " of \(replica.sourceHost):\(port)\(moved)"
                + (status.readOnly ? " (read_only)" : ""), width: shell.style.width, indent: "  "))
            shell.say(TerminalText.wrapStyled("Replica_IO_Running: " + (replica.ioRunning == .yes ? style.green(io) : style.red(io))
                + "  Replica_SQL_Running: " + (replica.sqlRunning ? style.green(sql) : style.red(sql))
                + "  Seconds_Behind_Source: " + (healthy ? style.green(behind) : style.red(behind)), width: shell.style.width,
                lead: "  ", indent: "  "))
            shell.say("  read up to \(replica.sourceLogFile):\(replica.readSourceLogPos), applied up to \(replica.execSourceLogPos)")
            if !replica.lastIOError.isEmpty { shell.say("  " + style.red("Last_IO_Error: \(replica.lastIOError)")) }
            if !replica.lastSQLError.isEmpty { shell.say("  " + style.red("Last_SQL_Error: \(replica.lastSQLError)")) }
        }
    }
}

enum StoreAvailability {
    static let none = ShellError("this lab runs no MySQL-like store (no server in lab.conf lists mysql), so there is no database")

    /// The first database the store's init file creates (`CREATE DATABASE foobar`), nil when none.
    @MainActor static func database(of process: StoreProcess, in lab: Lab) -> String? {
        // A replica gets its databases from the primary, so look there too.
        let own = lab.definition.mysqlInitStatements[process.serverName] ?? []
        let others = lab.definition.mysqlInitStatements.sorted { $0.key < $1.key }.flatMap(\.value)
        for statement in own + others {
            let words = statement.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            guard words.count >= 3, words[0].uppercased() == "CREATE", ["DATABASE", "SCHEMA"].contains(words[1].uppercased()) else { continue }
            let name = words.dropFirst(2).first { !["IF", "NOT", "EXISTS"].contains($0.uppercased()) }
            return name.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "`;")) }
        }
        return nil
    }

    @MainActor static func names(_ lab: Lab) -> String {
        let names = lab.processes.filter { $0.kind == .mysql }.map(\.name)
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }

    /// The store that takes writes: not read_only in its my.cnf (the lab's design), else the first.
    @MainActor static func primary(_ lab: Lab) throws -> StoreProcess {
        let stores = lab.processes.compactMap { $0 as? StoreProcess }
        guard let first = stores.first else { throw none }
        return stores.first { $0.store?.status.role == .primary && !$0.config.readOnly } ?? stores.first { !$0.config.readOnly } ?? first
    }
}
