import Foundation
import NIOCore
import NIOPosix
@testable import StackLabStore
import StackLabTestSupport

/// Shared event loops for all tests (2 threads: the machine has 2 cores).
let testGroup = MultiThreadedEventLoopGroup(numberOfThreads: 2)

/// A store behind a real listening socket on 127.0.0.1, as the lab would run it.
final class TestServer: Sendable {
    let store: MySQLStore
    let listener: Channel
    let port: Int
    let settings: StoreSettings
    let logLines: LogCollector

    private init(store: MySQLStore, listener: Channel, port: Int, settings: StoreSettings, log: LogCollector) {
        self.store = store
        self.listener = listener
        self.port = port
        self.settings = settings
        self.logLines = log
    }

    static func temporaryDirectory(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "stacklab-store-tests/\(name)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Starts a store; `port` 0 picks a free one (read back), a fixed port restarts on the same address.
    static func start(name: String = "web-01", serverID: Int = 1, port: Int = 0, dataDirectory: String? = nil,
                      holdReplicaDials: Bool = false, configure: (inout StoreSettings) -> Void = { _ in }) async throws -> TestServer {
        var settings = StoreSettings(serverName: name, serverID: serverID, host: "127.0.0.1", port: port,
                                     dataDirectory: dataDirectory ?? temporaryDirectory(name))
        settings.users = [StoreUser(name: "app", host: "%", password: "app"), StoreUser(name: "repl", host: "%", password: "repl")]
        settings.initStatements = ["GRANT ALL ON foobar.* TO 'app'@'%'", "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'"]
        // A test's client can wait longer than MySQL's 10 s to be run at all while the whole suite starts at once;
        // the tests of connect_timeout set their own.
        settings.connectTimeoutSeconds = 60
        configure(&settings)
        let log = LogCollector()
        let storeBox = NIOLockedValueBoxRef<MySQLStore?>(nil)
        let bootstrap = ServerBootstrap(group: testGroup)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard let store = storeBox.value else { return channel.close() }
                return store.configureConnection(channel)
            }
        let listener = try await bind(bootstrap, port: port)
        let actualPort = listener.localAddress?.port ?? port
        settings.port = actualPort
        let store = MySQLStore(settings: settings, group: testGroup, dial: StoreDialers.direct(group: testGroup), log: { log.append($0) })
        storeBox.value = store
        if holdReplicaDials { store.holdReplicaDials() }
        try await store.start()
        return TestServer(store: store, listener: listener, port: actualPort, settings: settings, log: log)
    }

    /// Ports handed out for "any free port": below the kernel's ephemeral range (32768–60999), so that no client
    /// connection borrows a crashed server's port as its source port before the test restarts it there, and above
    /// the lab ports the tests shift by a port base (at most 14950 + 9165).
    private static let nextPort = NIOLockedValueBoxRef(28_000)

    private static func bind(_ bootstrap: ServerBootstrap, port: Int) async throws -> Channel {
        if port != 0 { return try await bootstrap.bind(host: "127.0.0.1", port: port).get() }
        var lastError: Error?
        for _ in 0..<400 {
            let candidate = nextPort.withValue { p -> Int in
                let c = p
                p = p >= 31_999 ? 28_000 : p + 1
                return c
            }
            do { return try await bootstrap.bind(host: "127.0.0.1", port: candidate).get() } catch { lastError = error }
        }
        throw lastError ?? ChannelError.inappropriateOperationForState
    }

    func stop() async {
        try? await listener.close()
        await store.stop()
    }

    /// kill -9: the listening socket goes too, so clients are refused until a restart.
    func crash() async {
        store.crash()
        try? await listener.close()
    }

    func sql(_ q: String) async throws -> StoreResult { try await store.execute(q) }
}

/// Tiny lock-protected reference box for values handed to NIO closures.
final class NIOLockedValueBoxRef<T: Sendable>: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var _value: T
    init(_ v: T) { _value = v }
    func withValue<R>(_ body: (inout T) -> R) -> R {
        lock.lock(); defer { lock.unlock() }
        return body(&_value)
    }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return _value }
        set { lock.lock(); _value = newValue; lock.unlock() }
    }
}

final class LogCollector: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

struct Timeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}


/// The real mariadb command-line client, when installed.
enum MariaDBClient {
    static let path: String? = ["/usr/bin/mariadb", "/usr/local/bin/mariadb", "/usr/bin/mysql"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var available: Bool { path != nil }

    struct Output: Sendable { var status: Int32; var stdout: String; var stderr: String }

    /// Runs the client, waiting on a Dispatch thread (ChildProcess.run), never on the tests' cooperative threads: a
    /// blocked cooperative thread (two cores: two of them) starves every other test running at the same time.
    static func running(port: Int, user: String = "app", password: String = "app", database: String? = nil, _ args: [String],
                        stdin: String? = nil) async throws -> Output {
        guard let path else { throw Timeout(what: "mariadb client") }
        var a = ["--no-defaults", "-h", "127.0.0.1", "-P", String(port), "-u", user, "-p\(password)", "--connect-timeout=20"]
        if let database { a += ["-D", database] }
        // stdin: the text, or end of file at once.
        let result = try await ChildProcess.run(path, a + args, input: stdin ?? "")
        return Output(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }
}
