import Atomics
import NIOConcurrencyHelpers
import NIOCore

/// What a process is doing, as the shell shows it.
public enum ProcessState: Sendable, Equatable, CustomStringConvertible {
    case running
    /// Accepts connections, never answers (a frozen process).
    case hung
    /// Answers, N ms late.
    case slow(Int)
    /// Shut down gracefully.
    case stopped
    /// Killed: port closed, connections reset.
    case crashed

    public var description: String {
        switch self {
        case .running: "running"
        case .hung: "hung"
        case .slow(let ms): "slow +\(ms)ms"
        case .stopped: "stopped"
        case .crashed: "crashed"
        }
    }

    /// Whether the process's code runs at all (its timers, its health checks).
    public var isAlive: Bool {
        switch self {
        case .running, .slow: true
        case .hung, .stopped, .crashed: false
        }
    }

    /// Whether the port is open.
    public var isListening: Bool {
        switch self {
        case .running, .slow, .hung: true
        case .stopped, .crashed: false
        }
    }
}

/// One process of the lab (haproxy on lb-01, nginx on web-02 …) and the faults it can be put in.
public protocol LabProcess: AnyObject, Sendable {
    var kind: Topology.ProcessKind { get }
    var runtime: ProcessRuntime { get }
    /// Opens the ports and starts the process's own work (health checks, workers, replication).
    func start() async throws
    /// Stops the process's own work after its ports are closed (graceful or not).
    func halt(graceful: Bool) async
    /// Every log the process writes: its own (stream nil) and any other, by the name of its stream (nginx's
    /// `access` and `error`).
    var logBooks: [(stream: String?, book: LogBook)] { get }
}

extension LabProcess {
    /// `web-01/nginx`.
    public var name: String { runtime.name }
    public var serverName: String { runtime.serverName }
    public var state: ProcessState { runtime.state }
    public var log: LogBook { runtime.log }
    public var logBooks: [(stream: String?, book: LogBook)] { [(nil, log)] }

    public func crash() async {
        guard runtime.state.isListening else { return }
        runtime.setState(.crashed)
        await runtime.crashListeners()
        await halt(graceful: false)
    }

    public func stop() async {
        guard runtime.state.isListening else { return }
        runtime.setState(.stopped)
        await runtime.stopListeners()
        await halt(graceful: true)
    }

    public func hang() {
        guard runtime.state.isListening else { return }
        runtime.faults.hang()
        runtime.setState(.hung)
    }

    public func slow(milliseconds: Int) {
        guard runtime.state.isListening else { return }
        runtime.faults.slow(milliseconds: milliseconds)
        runtime.setState(.slow(milliseconds))
    }

    /// Back to normal: a hung or slow process resumes; a crashed or stopped one starts again (new pid).
    public func revive() async throws {
        runtime.faults.clear()
        switch runtime.state {
        case .running: return
        case .hung, .slow: runtime.setState(.running)
        case .stopped, .crashed:
            runtime.newPID()
            try await start()
            try await startExporter()
        }
    }
}

/// What every process has: its name, log, pid, listening sockets, fault switch and counters.
public final class ProcessRuntime: Sendable {
    public let serverName: String
    public let processName: String
    public let serverAddress: String
    public let network: LabNetwork
    public let group: EventLoopGroup
    public let log: LogBook
    public let traces: TraceStore
    public let faults = FaultSwitch()
    public let dialer: Dialer
    private let pids: PIDAllocator
    private let box: NIOLockedValueBox<Box>

    public let requests = ManagedAtomic<Int>(0)
    public let errors = ManagedAtomic<Int>(0)
    /// The process's Prometheus metrics (served on its exporter port; see `MetricsEndpoint`).
    public let metrics = ProcessMetrics()

    private struct Box {
        var state: ProcessState = .stopped
        var pid: Int
        var listeners: [Listener] = []
    }

    init(serverName: String, processName: String, serverAddress: String, network: LabNetwork, group: EventLoopGroup,
         log: LogBook, traces: TraceStore, pids: PIDAllocator) {
        self.serverName = serverName
        self.processName = processName
        self.serverAddress = serverAddress
        self.network = network
        self.group = group
        self.log = log
        self.traces = traces
        self.pids = pids
        self.dialer = Dialer(network: network, fromServer: serverName, sourceAddress: serverAddress)
        self.box = NIOLockedValueBox(Box(pid: pids.next()))
    }

    public var name: String { "\(serverName)/\(processName)" }
    public var state: ProcessState { box.withLockedValue { $0.state } }
    public var pid: Int { box.withLockedValue { $0.pid } }
    public var listeners: [Listener] { box.withLockedValue { $0.listeners } }
    /// `127.0.1.11:8080` for each open port (real ports).
    public var addresses: [String] { listeners.map { "\($0.host):\($0.port)" } }
    public var openConnections: Int { listeners.reduce(0) { $0 + $1.openConnections } }

    func setState(_ state: ProcessState) { box.withLockedValue { $0.state = state } }
    func newPID() { box.withLockedValue { $0.pid = pids.next() } }
    public func nextPID() -> Int { pids.next() }

    /// Binds a port (configured port; the port plan is applied) for this process and marks it running.
    /// `budgets`: the process's connection limits this port counts against; `backlog`: its kernel accept queue.
    public func listen(host: String, configuredPort: Int, delaysReads: Bool = true, budgets: [ConnectionBudget] = [], backlog: Int = 1024,
                       initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) async throws {
        let listener = Listener(host: host, port: network.port(configuredPort), serverName: serverName, processName: processName, group: group,
                                network: network, faults: faults, delaysReads: delaysReads, budgets: budgets, backlog: backlog,
                                initializer: initializer)
        try await listener.start()
        box.withLockedValue { $0.listeners.append(listener) }
    }

    /// Called by a process at the end of a successful start.
    public func markRunning() { setState(.running) }

    func crashListeners() async {
        let listeners = box.withLockedValue { box in
            defer { box.listeners = [] }
            return box.listeners
        }
        for listener in listeners { await listener.crash() }
    }

    func stopListeners() async {
        let listeners = box.withLockedValue { box in
            defer { box.listeners = [] }
            return box.listeners
        }
        await withTaskGroup(of: Void.self) { group in
            for listener in listeners { group.addTask { await listener.stop() } }
        }
    }

    /// Closes the ports on one address (a floating address keepalived moved away), connections reset.
    func closeListeners(host: String) async {
        let closing = box.withLockedValue { box in
            defer { box.listeners.removeAll { $0.host == host } }
            return box.listeners.filter { $0.host == host }
        }
        for listener in closing { await listener.crash() }
    }

    /// Closes ports that were opened by a start that then failed.
    func abandonListeners() async { await crashListeners() }
}

/// Process ids that look like a real machine's, unique in a lab.
public final class PIDAllocator: Sendable {
    private let counter: ManagedAtomic<Int>
    public init(start: Int = 1200) { counter = ManagedAtomic(start) }
    public func next() -> Int { counter.wrappingIncrementThenLoad(by: Int.random(in: 1...7), ordering: .relaxed) }
}
