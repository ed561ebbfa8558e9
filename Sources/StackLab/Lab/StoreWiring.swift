import Foundation
import NIOConcurrencyHelpers
import NIOCore
import StackLabStore

// How the lab builds its MySQL-like stores (module StackLabStore) and the app's access to them.

/// web-0N/mysql: the store as a lab process. The lab owns the listening socket (so crash, hang and slow work as for
/// every process); the store installs its protocol handlers on each accepted connection.
public final class StoreProcess: LabProcess {
    public let kind = Topology.ProcessKind.mysql
    public let runtime: ProcessRuntime
    public let config: MySQLConfig
    public let settings: StoreSettings
    private let current: NIOLockedValueBoxStore
    /// Set while the lab boots every store at once: replicas dial their source only once all of them listen.
    private let bootHold = NIOLockedValueBox(false)

    init(config: MySQLConfig, settings: StoreSettings, runtime: ProcessRuntime) {
        self.config = config
        self.settings = settings
        self.runtime = runtime
        self.current = NIOLockedValueBoxStore()
    }

    /// The running store (nil while crashed or stopped).
    public var store: MySQLStore? { current.value }

    public func start() async throws {
        let log = runtime.log
        let store = MySQLStore(settings: settings, group: runtime.group, dial: storeDialer(runtime.dialer, group: runtime.group),
                               log: { line in log.append(line) })
        if bootHold.withLockedValue({ $0 }) { store.holdReplicaDials() }
        try await store.start()
        do {
            try await runtime.listen(host: config.bindAddress, configuredPort: config.port) { channel in
                store.configureConnection(channel)
            }
        } catch {
            store.crash()
            await runtime.abandonListeners()
            throw error
        }
        current.set(store)
        runtime.markRunning()
    }

    /// The lab's boot: hold replica dials of the stores about to start, then let them dial once all listen.
    func holdReplicaDialsForBoot() { bootHold.withLockedValue { $0 = true } }
    func releaseReplicaDialsAfterBoot() {
        bootHold.withLockedValue { $0 = false }
        store?.releaseReplicaDials()
    }

    public func halt(graceful: Bool) async {
        guard let store = current.take() else { return }
        if graceful { await store.stop() } else { store.crash() }
    }
}

extension Lab {
    /// The stores of the lab, primary and replicas.
    public var stores: [StoreProcess] { processes.compactMap { $0 as? StoreProcess } }

    /// A fresh replica starts empty and receives the users and the schema from its primary. The app servers start
    /// once that has happened (or after `timeout`), so the site's first request does not meet a replica that does
    /// not know the app's user yet.
    func waitForReplicasToCatchUp(timeout: TimeAmount) async {
        let deadline = NIODeadline.now() + timeout
        func caughtUp() -> Bool {
            for store in stores {
                guard let status = store.store?.status, let replica = status.replica else { continue }
                guard let source = stores.first(where: { $0.config.bindAddress == replica.sourceHost })?.store?.status else { continue }
                if !status.gtidExecuted.contains(source.gtidExecuted) { return false }
            }
            return true
        }
        while !caughtUp() && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
    }
}

/// A one-value lock box (MySQLStore is Sendable; the box makes swapping it safe).
final class NIOLockedValueBoxStore: Sendable {
    private let box = NIOLockedValueBox<MySQLStore?>(nil)
    var value: MySQLStore? { box.withLockedValue { $0 } }
    func set(_ store: MySQLStore) { box.withLockedValue { $0 = store } }
    func take() -> MySQLStore? { box.withLockedValue { box in defer { box = nil }; return box } }
}

/// The store's outbound connections (replica → primary, app → store) leave from the server's own address, honour
/// partitions, and use configured ports (the lab's port plan is applied here).
func storeDialer(_ dialer: Dialer, group: EventLoopGroup) -> StoreDialer {
    { host, port, initializer in
        let loop = group.next()
        return dialer.connect(host: host, configuredPort: port, on: loop, timeoutMilliseconds: 5000, initializer: initializer)
    }
}

/// The app's database connections name the port that answers (the config's, moved by the port plan), so their errors
/// say where they really tried (`Can't connect to MySQL server on '127.0.1.11:44306'` under --port-base 41000).
func appStoreDialer(_ dialer: Dialer, network: LabNetwork, group: EventLoopGroup) -> StoreDialer {
    { host, port, initializer in
        dialer.connect(host: host, configuredPort: network.configuredPort(port), on: group.next(), timeoutMilliseconds: 5000,
                       initializer: initializer)
    }
}

extension LabDefinition {
    /// Where a server's store keeps its data: my.cnf's `datadir`, relative to the server's folder under the state
    /// directory (or the lab folder).
    public func storeDataDirectory(server: String) -> String? {
        guard let config = mysql[server] else { return nil }
        if config.dataDirectory.hasPrefix("/") { return config.dataDirectory }
        return (outputFolder(server: server) as NSString).appendingPathComponent(config.dataDirectory)
    }

    /// The folder a server's relative log and data paths start from.
    func outputFolder(server: String) -> String {
        ((stateDirectory ?? directory) as NSString).appendingPathComponent(server)
    }
}

func makeStoreProcess(definition: LabDefinition, server: Topology.Server, runtime: ProcessRuntime) -> (any LabProcess)? {
    guard let config = definition.mysql[server.name], let dataDirectory = definition.storeDataDirectory(server: server.name) else { return nil }
    var settings = StoreSettings(serverName: server.name, serverID: config.serverID, host: config.bindAddress, port: config.port,
                                 dataDirectory: dataDirectory)
    settings.logBin = config.logBin
    settings.relayLog = config.relayLog
    settings.readOnly = config.readOnly || config.superReadOnly
    settings.superReadOnly = config.superReadOnly
    settings.gtidMode = config.gtidMode
    settings.semiSyncSourceEnabled = config.semiSyncSourceEnabled
    settings.semiSyncSourceTimeoutMilliseconds = config.semiSyncSourceTimeout
    settings.initStatements = definition.mysqlInitStatements[server.name] ?? []
    settings.maxConnections = config.maxConnections
    settings.maxAllowedPacket = config.maxAllowedPacket
    settings.connectTimeoutSeconds = config.connectTimeout
    settings.waitTimeoutSeconds = config.waitTimeout
    settings.interactiveTimeoutSeconds = config.interactiveTimeout
    return StoreProcess(config: config, settings: settings, runtime: runtime)
}

/// The foobar app's database access, from gunicorn's `raw_env`: reads go to DB_REPLICA, writes to DB_PRIMARY.
func makePostsStore(config: GunicornConfig, runtime: ProcessRuntime) -> (any PostsStore)? {
    let env = config.environment
    // A comma-separated DB_PRIMARY is a failover list (App/PrimaryFailover.swift).
    let primaries = (env["DB_PRIMARY"] ?? "").split(separator: ",").compactMap { HostPort(String($0).trimmingSpaces) }
    guard let primary = primaries.first else { return nil }
    let replica = env["DB_REPLICA"].flatMap(HostPort.init) ?? primary
    let user = env["DB_USER"] ?? "app"
    let password = env["DB_PASSWORD"] ?? ""
    let database = env["DB_NAME"] ?? "foobar"
    let size = max(1, config.workers)
    let dial = appStoreDialer(runtime.dialer, network: runtime.network, group: runtime.group)
    let port = runtime.network.port
    if primaries.count > 1 {
        return FailoverPostsStore(stores: primaries.map { candidate in
            MySQLPostsStore(
                primary: MySQLClientPool(host: candidate.host, port: port(candidate.port), user: user, password: password, database: database, size: size, dial: dial),
                replica: MySQLClientPool(host: replica.host, port: port(replica.port), user: user, password: password, database: database, size: size, dial: dial),
                primaryAddress: candidate, replicaAddress: replica, runtime: runtime)
        })
    }
    return MySQLPostsStore(
        primary: MySQLClientPool(host: primary.host, port: port(primary.port), user: user, password: password, database: database, size: size, dial: dial),
        replica: MySQLClientPool(host: replica.host, port: port(replica.port), user: user, password: password, database: database, size: size, dial: dial),
        primaryAddress: primary, replicaAddress: replica, runtime: runtime)
}

struct HostPort: Sendable {
    var host: String
    var port: Int
    init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { return nil }
        host = String(parts[0])
        self.port = port
    }
}

/// Posts in MySQL: the app → store hop is a real MySQL conversation, and a span in the request's trace.
struct MySQLPostsStore: PostsStore {
    let primary: MySQLClientPool
    let replica: MySQLClientPool
    let primaryAddress: HostPort
    let replicaAddress: HostPort
    let runtime: ProcessRuntime

    func recentPosts(limit: Int) async throws -> [Post] {
        let result = try await traced(replicaAddress, "SELECT … FROM posts (read)") {
            try await replica.query("SELECT id, author, body, created_at FROM posts ORDER BY id DESC LIMIT \(limit)")
        }
        return result.rows.map { row in
            Post(id: Int(row[0] ?? "") ?? 0, author: row[1] ?? "", body: row[2] ?? "", createdAt: row[3] ?? "")
        }
    }

    func createPost(author: String, body: String) async throws -> Int {
        let result = try await traced(primaryAddress, "INSERT INTO posts (write)") {
            try await primary.query("INSERT INTO posts (author, body) VALUES (\(Self.quote(author)), \(Self.quote(body)))")
        }
        return result.lastInsertID
    }

    func close() async {
        await primary.close()
        await replica.close()
    }

    private func traced<T: Sendable>(_ address: HostPort, _ note: String, _ body: () async throws -> T) async throws -> T {
        let started = (Date(), NIODeadline.now())
        let server = runtime.network.serverName(forAddress: address.host) ?? address.host
        do {
            let value = try await body()
            recordSpan(server: server, started: started, note: note, ok: true)
            return value
        } catch {
            recordSpan(server: server, started: started, note: "\(note): \(error)", ok: false)
            throw error
        }
    }

    /// Timed on the monotonic clock, as every other hop (`IncomingRequest.spanDuration`).
    private func recordSpan(server: String, started: (date: Date, deadline: NIODeadline), note: String, ok: Bool) {
        guard let trace = CurrentTrace.context else { return }
        runtime.traces.record(Span(traceID: trace.traceID, spanID: TraceContext.randomHex(8), parentID: trace.spanID,
                                   process: "\(server)/mysql", start: started.date,
                                   duration: Double((NIODeadline.now() - started.deadline).nanoseconds) / 1e9,
                                   status: 0, note: note))
    }

    /// A MySQL string literal: quotes and backslashes escaped.
    static func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}

/// The trace of the request an app worker is handling, so the database hop can join it.
enum CurrentTrace {
    @TaskLocal static var context: TraceContext?
}
