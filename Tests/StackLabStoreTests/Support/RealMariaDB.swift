import Foundation
import NIOConcurrencyHelpers
import StackLabTestSupport
import Testing

/// Every test against the shared real MariaDB, one at a time: some change its global variables.
@Suite("Side by side with the real MariaDB", .enabled(if: RealMariaDB.installed), .serialized)
struct SideBySideWithRealMariaDB {}

/// A real MariaDB server on 127.0.0.1 for side-by-side tests, started once per test run the way
/// ../shared/anchors/real-stack.sh starts one (mariadb-install-db, then mariadbd --no-defaults on loopback), and
/// stopped (its folder removed) by a watchdog shell when the test process ends. Nil when mariadbd or the client is not installed.
///
/// ```swift
/// guard let real = RealMariaDB.shared else { return }
/// let out = try await real.sql("SELECT 1")          // as root over the socket
/// ```
/// Tests that change its global variables run in `.serialized` suites and put them back.
final class RealMariaDB: Sendable {
    let port: Int
    let socket: String
    let directory: String

    static let serverPath: String? = ["/usr/sbin/mariadbd", "/usr/local/sbin/mariadbd", "/usr/sbin/mysqld"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let installPath: String? = ["/usr/bin/mariadb-install-db", "/usr/local/bin/mariadb-install-db", "/usr/bin/mysql_install_db"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var installed: Bool { serverPath != nil && installPath != nil && MariaDBClient.available }

    private static let started = NIOLockedValueBox<RealMariaDB??>(nil)

    /// The shared server, started on first use (a few seconds); nil when it cannot run here.
    static var shared: RealMariaDB? {
        started.withLockedValue { box in
            if let done = box { return done }
            let server = installed ? try? start() : nil
            box = .some(server)
            return server
        }
    }

    /// The same statements through the stock mariadb client (--batch) on the store and on this server, in `database`:
    /// the two answers as EdgeNumbers.answer prints them, ours first.
    func both(_ sql: String, ours: TestServer, database: String = "foobar") async throws -> (String, String) {
        let a = try await MariaDBClient.running(port: ours.port, database: database, ["--batch", "-e", sql])
        let b = try await MariaDBClient.running(port: port, database: database, ["--batch", "-e", sql])
        return (SideBySideWithRealMariaDB.EdgeNumbers.answer(a), SideBySideWithRealMariaDB.EdgeNumbers.answer(b))
    }

    private init(port: Int, socket: String, directory: String) {
        self.port = port
        self.socket = socket
        self.directory = directory
    }

    private static func start() throws -> RealMariaDB? {
        guard let serverPath, let installPath else { return nil }
        let dir = NSTemporaryDirectory() + "stacklab-real-mariadb-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        let install = try ChildProcess.runBlocking(installPath, ["--no-defaults", "--datadir=\(dir)/data", "--auth-root-authentication-method=normal"]
                                                   + (asRoot ? ["--user=root"] : []))
        guard install.status == 0 else { return nil }
        let port = freePort()
        let socket = dir + "/mysql.sock"
        let server = [serverPath, "--no-defaults", "--datadir=\(dir)/data", "--bind-address=127.0.0.1", "--port=\(port)",
                      "--socket=\(socket)", "--pid-file=\(dir)/mysqld.pid", "--skip-name-resolve", "--skip-log-bin",
                      "--innodb-buffer-pool-size=16M", "--log-error=\(dir)/error.log"] + (asRoot ? ["--user=root"] : [])
        // The watchdog ends mariadbd when this test process is gone, however it ends.
        let watchdog = "\(server.map { "'\($0)'" }.joined(separator: " ")) & m=$!; while kill -0 \(getpid()) 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null; wait $m; rm -rf '\(dir)'"
        _ = try ChildProcess.start("/bin/sh", ["-c", watchdog])
        let real = RealMariaDB(port: port, socket: socket, directory: dir)
        guard waitUntilBlocking(timeout: 60, { (try? real.runSQL("SELECT 1").status) == 0 }) else { return nil }
        _ = try real.runSQL("CREATE USER 'app'@'%' IDENTIFIED BY 'app'; CREATE DATABASE foobar; GRANT ALL ON foobar.* TO 'app'@'%'")
        return real
    }

    /// Runs statements as root over the socket, on a Dispatch thread (never block the tests' cooperative pool).
    func sql(_ statements: String) async throws -> MariaDBClient.Output {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try self.runSQL(statements) }) }
        }
    }

    private func runSQL(_ statements: String) throws -> MariaDBClient.Output {
        guard let client = MariaDBClient.path else { throw Timeout(what: "mariadb client") }
        let result = try ChildProcess.runBlocking(client, ["--no-defaults", "-S", socket, "-uroot", "--batch", "-e", statements])
        return MariaDBClient.Output(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// A port the kernel has just handed out on 127.0.0.1 (free a moment ago; a clash is a start failure, not a flake).
    private static func freePort() -> Int {
        let fd = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
