import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real program run by a test: mariadb, haproxy -c, promtool, tmux, the stacklab binary, a real server.
///
/// posix_spawn, not Foundation's Process: Process.run() in Swift 6.3's Foundation reads past the end of readdir
/// records while it counts the open descriptors (`findMaximumOpenFromProcSelfFD`), and crashes more often the more
/// sockets the test process holds — and other tests hold hundreds. The child also inherits nothing but its three
/// standard streams: no lab's listening socket lives on in a tool that outlives the test.
///
/// ```swift
/// let result = try await ChildProcess.run("/usr/sbin/haproxy", ["-c", "-f", "haproxy.cfg"], directory: folder)
/// #expect(result.status == 0, "\(result.stderr)")
/// let server = try ChildProcess.start(prometheus, ["--config.file=\(config)"])   // output to /dev/null
/// _ = await server.stop()
/// ```
///
/// Every wait for a child blocks a thread, so the waits run on Dispatch threads, never on the cooperative threads
/// the tests share (two of them on two cores): `run` and `Background.wait()` are the async forms; `runBlocking` and
/// `Background.waitBlocking()` are for code that already runs on a thread of its own.
public enum ChildProcess {
    /// How a child ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        /// waitpid found no such child: something else in the test process collected it first.
        case lost

        /// The exit status; 128 + the signal's number for a killed child, as a shell says it; -1 when lost.
        public var status: Int32 {
            switch self {
            case .exited(let status): status
            case .signalled(let signal): 128 + signal
            case .lost: -1
            }
        }

        public var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .signalled(let signal): "killed by signal \(signal)"
            case .lost: "ended (collected elsewhere)"
            }
        }

        /// From a waitpid status word (the WIFEXITED/WTERMSIG macros, which Swift does not import).
        init(waitStatus: Int32) {
            let signal = waitStatus & 0x7f
            self = signal == 0 ? .exited((waitStatus >> 8) & 0xff) : .signalled(signal)
        }
    }

    /// What a child that ran to its end printed, and how it ended.
    public struct Output: Sendable {
        public var termination: Termination
        public var stdout: String
        /// Empty when the child's stderr was merged into `stdout`.
        public var stderr: String
        /// `termination.status`: the exit status, or 128 + signal.
        public var status: Int32 { termination.status }
    }

    /// A child that could not start, or that did not end in time and was killed.
    public struct Failure: Error, CustomStringConvertible {
        public enum Reason: Sendable, Equatable {
            case couldNotStart(String)
            case timedOut(seconds: Double)
        }

        public var command: String
        public var reason: Reason
        /// What the child printed before it was killed.
        public var stdout = ""
        public var stderr = ""

        public var description: String {
            switch reason {
            case .couldNotStart(let why):
                return "could not start \(command): \(why)"
            case .timedOut(let seconds):
                let said = (stdout + stderr).suffix(4000)
                let limit = seconds == seconds.rounded() && abs(seconds) < 1e9 ? "\(Int(seconds))" : "\(seconds)"
                return "\(command) did not end within \(limit) s and was killed (SIGKILL)"
                    + (said.isEmpty ? "; it printed nothing" : "; it printed:\n\(said)")
            }
        }
    }

    /// Runs `executable` to its end and returns its exit status and output. stdout and stderr are read together as
    /// the child writes them, so a chatty child never blocks on a full pipe; `mergingStderr` gives both streams in
    /// one, in the order written (`2>&1`). `input`: text on stdin, which is then closed; without it stdin is
    /// /dev/null. `environment`: the child's whole environment (default: the test process's). A child still
    /// running after `timeout` seconds is killed with its process group, and the error says so.
    public static func run(_ executable: String, _ arguments: [String] = [], input: String? = nil,
                           environment: [String: String]? = nil, directory: String? = nil,
                           mergingStderr: Bool = false, timeout: Double = 300) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    try runOnThisThread(executable, arguments, input: input, environment: environment, directory: directory,
                                        mergingStderr: mergingStderr, timeout: timeout)
                })
            }
        }
    }

    /// `run`, waiting on the calling thread: for code already on a Dispatch thread or a thread of its own.
    @available(*, noasync, message: "blocks its thread until the child ends; use run(_:_:...) from async code")
    public static func runBlocking(_ executable: String, _ arguments: [String] = [], input: String? = nil,
                                   environment: [String: String]? = nil, directory: String? = nil,
                                   mergingStderr: Bool = false, timeout: Double = 300) throws -> Output {
        try runOnThisThread(executable, arguments, input: input, environment: environment, directory: directory,
                            mergingStderr: mergingStderr, timeout: timeout)
    }

    /// Starts a long-lived child (a server) and returns at once. Its stdout and stderr go to the file `output`
    /// (appended to, created if missing), or to /dev/null; stdin is /dev/null.
    public static func start(_ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
                             directory: String? = nil, output: String? = nil) throws -> Background {
        let command = describe(executable, arguments)
        let pid = try spawn(executable, arguments, command: command, environment: environment, directory: directory,
                            stdin: .open("/dev/null", O_RDONLY),
                            stdout: .open(output ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND), stderr: .sameAsStdout)
        return Background(pid: pid, command: command)
    }

    /// A child started with `start`.
    public final class Background: @unchecked Sendable {
        // @unchecked: `ended` is read and written only while `lock` is held; `pid` and `command` never change.
        // Collecting the child (waitpid) also happens only under the lock, so a signal is never sent to a pid that
        // has been collected and may belong to another process since.
        public let pid: pid_t
        public let command: String
        private let lock = NSLock()
        private var ended: Termination?

        init(pid: pid_t, command: String) {
            self.pid = pid
            self.command = command
        }

        public var isRunning: Bool { collected() == nil }

        /// How it ended; nil while it runs.
        public var termination: Termination? { collected() }

        /// Sends `signal` (SIGTERM unless said), unless the child has ended already.
        public func terminate(_ signal: Int32 = SIGTERM) {
            lock.lock()
            defer { lock.unlock() }
            if collectLocked() == nil { kill(pid, signal) }
        }

        /// Waits for the end on a Dispatch thread.
        public func wait() async -> Termination {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(returning: self.waitOnThisThread()) }
            }
        }

        /// `terminate(signal)`, then waits for the end.
        @discardableResult
        public func stop(_ signal: Int32 = SIGTERM) async -> Termination {
            terminate(signal)
            return await wait()
        }

        /// Waits for the end on the calling thread.
        @available(*, noasync, message: "blocks its thread until the child ends; use wait() from async code")
        public func waitBlocking() -> Termination { waitOnThisThread() }

        private func waitOnThisThread() -> Termination {
            while true {
                if let termination = collected() { return termination }
                // Sleeps until the child has ended, and leaves it (WNOWAIT) for `collected` to collect under the lock.
                var info = siginfo_t()
                while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
            }
        }

        private func collected() -> Termination? {
            lock.lock()
            defer { lock.unlock() }
            return collectLocked()
        }

        private func collectLocked() -> Termination? {
            if ended == nil { ended = ChildProcess.collect(pid, blocking: false) }
            return ended
        }
    }

    // MARK: - Spawning

    enum Stream {
        /// A descriptor of the parent, dup2'd onto the stream.
        case descriptor(Int32)
        /// A file opened in the child.
        case open(String, Int32)
        /// stderr only: the same as stdout (`2>&1`).
        case sameAsStdout
    }

    /// posix_spawn with the child's three streams set up, every other descriptor closed, the signal mask empty and
    /// every signal's handling back to its default (the test process ignores SIGPIPE, and a Dispatch thread may
    /// block signals), in a process group of its own (a timeout kills the group).
    static func spawn(_ executable: String, _ arguments: [String], command: String, environment: [String: String]?,
                      directory: String?, stdin: Stream, stdout: Stream, stderr: Stream) throws -> pid_t {
        guard let closeFrom = GNU.closeFrom, let changeDirectory = GNU.changeDirectory else {
            throw Failure(command: command, reason: .couldNotStart("this C library has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)"))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, stream) in [(STDIN_FILENO, stdin), (STDOUT_FILENO, stdout), (STDERR_FILENO, stderr)] {
            switch stream {
            case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, target)
            case .open(let path, let flags): posix_spawn_file_actions_addopen(&actions, target, path, flags, 0o644)
            case .sameAsStdout: posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, target)
            }
        }
        // Everything above stderr: the test process's sockets, pipes and files stay with it.
        _ = closeFrom(&actions, STDERR_FILENO + 1)
        if let directory { _ = changeDirectory(&actions, directory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number: Int32 in 1..<32 where number != SIGKILL && number != SIGSTOP { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp ?? [] { free(pointer) }
        }
        var pid: pid_t = 0
        let result = envp.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw Failure(command: command, reason: .couldNotStart(String(cString: strerror(result)))) }
        return pid
    }

    /// The GNU extensions Swift's Glibc module leaves out (they need _GNU_SOURCE), looked up in the C library.
    enum GNU {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

        static let closeFrom = function("posix_spawn_file_actions_addclosefrom_np", as: CloseFrom.self)
        static let changeDirectory = function("posix_spawn_file_actions_addchdir_np", as: ChangeDirectory.self)
        static let pipe2 = function("pipe2", as: Pipe2.self)

        private static func function<F>(_ name: String, as type: F.Type) -> F? {
            // dlsym(RTLD_DEFAULT, …): RTLD_DEFAULT is the null handle.
            guard let address = dlsym(nil, name) else { return nil }
            return unsafeBitCast(address, to: type)
        }
    }

    /// A pipe whose two ends close on exec (O_CLOEXEC at once, so a child spawned meanwhile by another thread of the
    /// test process cannot inherit them either).
    static func makePipe(command: String) throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        let made = GNU.pipe2.map { $0(&ends, O_CLOEXEC) } ?? {
            guard pipe(&ends) == 0 else { return -1 }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            return 0
        }()
        guard made == 0 else { throw Failure(command: command, reason: .couldNotStart("pipe: \(String(cString: strerror(errno)))")) }
        return (ends[0], ends[1])
    }

    /// waitpid for this one child.
    static func collect(_ pid: pid_t, blocking: Bool) -> Termination? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if result == pid { return Termination(waitStatus: status) }
            if result == 0 { return nil }
            if errno == EINTR { continue }
            return .lost
        }
    }

    static func describe(_ executable: String, _ arguments: [String]) -> String {
        ([executable] + arguments).map { word in
            word.isEmpty || word.contains(where: { " \t\n'\"\\$".contains($0) })
                ? "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" : word
        }.joined(separator: " ")
    }

    /// Writing to a child that has stopped reading must be an error (EPIPE), not a signal that ends the tests. NIO
    /// ignores SIGPIPE for the whole process too.
    private static let ignoringBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    // MARK: - Running to the end

    private static func runOnThisThread(_ executable: String, _ arguments: [String], input: String?,
                                        environment: [String: String]?, directory: String?,
                                        mergingStderr: Bool, timeout: Double) throws -> Output {
        _ = ignoringBrokenPipes
        let command = describe(executable, arguments)
        var ends: [Int32] = []
        func pipe() throws -> (read: Int32, write: Int32) {
            let pair = try makePipe(command: command)
            ends += [pair.read, pair.write]
            return pair
        }
        let out: (read: Int32, write: Int32), err: (read: Int32, write: Int32)?, stdin: (read: Int32, write: Int32)?
        let pid: pid_t
        do {
            out = try pipe()
            err = mergingStderr ? nil : try pipe()
            stdin = input == nil ? nil : try pipe()
            pid = try spawn(executable, arguments, command: command, environment: environment, directory: directory,
                            stdin: stdin.map { .descriptor($0.read) } ?? .open("/dev/null", O_RDONLY),
                            stdout: .descriptor(out.write), stderr: err.map { .descriptor($0.write) } ?? .sameAsStdout)
        } catch {
            for fd in ends { close(fd) }
            throw error
        }
        // The child's ends are the child's now: while the parent holds a copy, the child's exit brings no end of file.
        for fd in [out.write, err?.write, stdin?.read].compactMap({ $0 }) { close(fd) }
        // The parent's ends belong to the pump, which closes each once.
        var pump = Pump(stdout: out.read, stderr: err?.read, stdin: stdin.map { ($0.write, Array(input!.utf8)) })
        defer { pump.closeAll() }
        let seconds = timeout.isNaN ? 0 : min(max(0, timeout), 1e8)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        var nap: Int32 = 1
        while true {
            if let termination = collect(pid, blocking: false) {
                // What it wrote before it ended is in the pipes; a grandchild that still holds them is not waited for.
                pump.drain()
                return Output(termination: termination, stdout: pump.text(0), stderr: pump.text(1))
            }
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                _ = collect(pid, blocking: true)
                pump.drain()
                throw Failure(command: command, reason: .timedOut(seconds: timeout), stdout: pump.text(0), stderr: pump.text(1))
            }
            let left = Int32(min(100, (deadline - now) / 1_000_000 + 1))
            if pump.isOpen {
                pump.step(waiting: left)
                nap = 1
            } else {
                // Its streams are closed but it has not ended yet (or keeps running with them closed).
                _ = poll(nil, 0, min(nap, left))
                nap = min(nap * 2, 100)
            }
        }
    }

    /// Moves bytes between the child's pipes and memory with poll(2): input out, both outputs in, at once.
    private struct Pump {
        var readers: [(fd: Int32, bytes: [UInt8])] = []
        var writer: (fd: Int32, bytes: [UInt8], offset: Int)?
        private var buffer = [UInt8](repeating: 0, count: 65_536)

        init(stdout: Int32, stderr: Int32?, stdin: (fd: Int32, bytes: [UInt8])?) {
            readers = [(stdout, [])] + (stderr.map { [($0, [])] } ?? [(-1, [])])
            for fd in [stdout, stderr, stdin?.fd].compactMap({ $0 }) { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            if let stdin {
                writer = (stdin.fd, stdin.bytes, 0)
                if stdin.bytes.isEmpty { finishWriting() }
            }
        }

        var isOpen: Bool { writer != nil || readers.contains { $0.fd >= 0 } }

        func text(_ index: Int) -> String { String(decoding: readers[index].bytes, as: UTF8.self) }

        /// One poll: waits up to `milliseconds` for any pipe to be ready, then moves what it can.
        mutating func step(waiting milliseconds: Int32) {
            var fds = readers.filter { $0.fd >= 0 }.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if let writer { fds.append(pollfd(fd: writer.fd, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), milliseconds)
            guard ready > 0 else { return }
            for entry in fds where entry.revents != 0 {
                if entry.fd == writer?.fd { write() } else if let index = readers.firstIndex(where: { $0.fd == entry.fd }) { read(index) }
            }
        }

        /// After the child's end: what is left in the pipes, without waiting for more.
        mutating func drain() {
            finishWriting()
            for index in readers.indices where readers[index].fd >= 0 {
                // A few rounds hold more than a full pipe; a grandchild that goes on writing is not followed.
                for _ in 0..<4 where readers[index].fd >= 0 { if !read(index) { break } }
                if readers[index].fd >= 0 { finishReading(index) }
            }
        }

        mutating func closeAll() {
            finishWriting()
            for index in readers.indices where readers[index].fd >= 0 { finishReading(index) }
        }

        /// Reads what is there now; true when the pipe may have more right away.
        @discardableResult
        private mutating func read(_ index: Int) -> Bool {
            let fd = readers[index].fd
            // A bounded number of reads per call, so a child that never stops writing cannot keep the loop from
            // its deadline.
            for _ in 0..<16 {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    readers[index].bytes += buffer[..<count]
                    continue
                }
                if count < 0 && errno == EINTR { continue }
                if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return false }
                finishReading(index)   // end of file, or an error that will not pass
                return false
            }
            return true
        }

        private mutating func write() {
            guard let (fd, bytes, offset) = writer else { return }
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count > 0 {
                writer?.offset += count
                if offset + count == bytes.count { finishWriting() }
            } else if count < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else {
                finishWriting()   // EPIPE: the child stopped reading
            }
        }

        private mutating func finishReading(_ index: Int) {
            close(readers[index].fd)
            readers[index].fd = -1
        }

        /// Closes stdin: the child reads end of file.
        private mutating func finishWriting() {
            guard let writer else { return }
            close(writer.fd)
            self.writer = nil
        }
    }
}
