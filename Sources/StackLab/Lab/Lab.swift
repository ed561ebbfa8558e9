import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Options for starting a lab.
public struct LabOptions: Sendable {
    /// Added to every port of the lab (`--port-base`).
    public var portOffset: Int
    /// Threads for all the lab's sockets; defaults to the number of cores.
    public var threads: Int

    public init(portOffset: Int = 0, threads: Int = System.coreCount) {
        self.portOffset = portOffset
        self.threads = max(1, threads)
    }
}

/// A running lab: every server's processes on real loopback sockets, and the faults to break them.
///
/// ```swift
/// let lab = try await Lab.start(LabDefinition.load(directory: "my-lab"))
/// try await lab.apply(.crash, to: .process(server: "web-01", process: .nginx))
/// ```
public final class Lab: Sendable {
    public let definition: LabDefinition
    public let network: LabNetwork
    public let traces: TraceStore
    public let group: MultiThreadedEventLoopGroup
    /// Processes in start order (stores, app servers, web servers, balancers).
    public let processes: [any LabProcess]
    private let flushTimer: NIOLockedValueBox<RepeatedTask?>
    /// TLS files this start minted (the [security] issue), for the shell to tell the learner how to trust them.
    let mintedTLSFiles = NIOLockedValueBox<[TLSMaterial.Minted]>([])
    /// The monitor address's proxy for a real Prometheus, while a firewall keeps the internet from the exporters.
    let scrapeRelay = NIOLockedValueBox<ScrapeRelay?>(nil)
    private let ownsGroup: Bool

    public enum Fault: Sendable, Equatable {
        case crash, stop, hang, slow(milliseconds: Int), revive
    }

    private init(definition: LabDefinition, network: LabNetwork, group: MultiThreadedEventLoopGroup, traces: TraceStore,
                 processes: [any LabProcess]) {
        self.definition = definition
        self.traces = traces
        self.network = network
        self.group = group
        self.processes = processes
        self.flushTimer = NIOLockedValueBox(nil)
        self.ownsGroup = true
    }

    /// Starts every process of the lab. A port in use, or any other failure, stops what was started and throws.
    public static func start(_ definition: LabDefinition, options: LabOptions = LabOptions()) async throws -> Lab {
        try checkPortPlan(definition, options: options)
        // TLS files the configs name (crt, ssl_certificate) are minted on first use (the [security] issue).
        let minted = try TLSMaterial.mintMissing(for: definition)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        let network = LabNetwork(servers: definition.topology.servers.map { ($0.name, $0.address) }, portOffset: options.portOffset)
        // The [security] issue: each server's firewall from its ufw.rules.
        network.security.installFirewalls(servers: definition.topology.servers.map { ($0.name, $0.address) }, rules: definition.ufw)
        let traces = TraceStore()
        let pids = PIDAllocator()
        var processes: [any LabProcess] = []
        let order: [Topology.ProcessKind] = [.mysql, .gunicorn, .nginx, .haproxy, .keepalived]
        for kind in order {
            for server in definition.topology.servers where server.processes.contains(kind) {
                let folder = (definition.directory as NSString).appendingPathComponent(server.name)
                // Logs and store data: the server's folder, or its folder under the lab's state directory.
                let output = definition.outputFolder(server: server.name)
                func runtime(log file: String? = nil) -> ProcessRuntime {
                    ProcessRuntime(serverName: server.name, processName: kind.rawValue, serverAddress: server.address, network: network,
                                   group: group, log: LogBook(name: "\(server.name)/\(kind.rawValue)", file: file), traces: traces, pids: pids)
                }
                func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : (output as NSString).appendingPathComponent(path) }
                switch kind {
                case .haproxy:
                    guard let config = definition.haproxy[server.name] else { continue }
                    // HAProxy logs through syslog; the lab's lb-01 writes the lines to a file beside nginx's logs.
                    let balancer = Balancer(config: config, runtime: runtime(log: resolve("logs/haproxy.log")), folder: folder)
                    balancer.floating.declare(definition.keepalived[server.name]?.virtualAddresses ?? [])
                    processes.append(balancer)
                case .keepalived:
                    if let keepalived = makeKeepalived(definition: definition, server: server, runtime: runtime(), processes: processes) {
                        processes.append(keepalived)
                    }
                case .nginx:
                    guard let config = definition.nginx[server.name] else { continue }
                    let access = config.servers.first?.fallback.accessLog
                    let accessFile: String? = if case .file(let path) = access { resolve(path) } else { nil }
                    processes.append(WebServer(config: config, runtime: runtime(log: resolve(config.errorLog ?? "logs/error.log")),
                                               folder: folder, accessLog: LogBook(name: "\(server.name)/nginx access", file: accessFile)))
                case .gunicorn:
                    guard let config = definition.gunicorn[server.name] else { continue }
                    let errorFile = config.errorLog == "-" ? nil : resolve(config.errorLog)
                    let appRuntime = runtime(log: errorFile)
                    // accesslog "-" goes to the process's own output, like gunicorn's stdout.
                    let access: LogBook? = switch config.accessLog {
                    case nil: nil
                    case "-": appRuntime.log
                    case let path?: LogBook(name: "\(server.name)/gunicorn access", file: resolve(path))
                    }
                    let posts = makePostsStore(config: config, runtime: appRuntime)
                    processes.append(AppServer(config: config, runtime: appRuntime, app: FoobarApp(serverName: server.name, posts: posts),
                                               accessLog: access))
                case .mysql:
                    if let store = makeStoreProcess(definition: definition, server: server, runtime: runtime()) {
                        processes.append(store)
                    }
                }
            }
        }
        let lab = Lab(definition: definition, network: network, group: group, traces: traces, processes: processes)
        lab.mintedTLSFiles.withLockedValue { $0 = minted }
        do {
            // Stores first (the apps connect to them), then the HTTP processes, each group at once.
            // Every store listens before any replica dials its source: a replica that dialled a primary still
            // starting would be refused and wait Connect_Retry (60 s) before its next attempt.
            for store in lab.stores { store.holdReplicaDialsForBoot() }
            defer { for store in lab.stores { store.releaseReplicaDialsAfterBoot() } }
            try await lab.startAll(processes.filter { $0.kind == .mysql })
            for store in lab.stores { store.releaseReplicaDialsAfterBoot() }
            await lab.waitForReplicasToCatchUp(timeout: .seconds(3))
            try await lab.startAll(processes.filter { $0.kind != .mysql })
        } catch {
            await lab.shutdown()
            throw error
        }
        let timer = group.next().scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { _ in
            lab.flushLogs()
        }
        lab.flushTimer.withLockedValue { $0 = timer }
        await lab.startScrapeRelayIfFirewalled()
        lab.writePrometheusConfig()
        return lab
    }

    /// With a firewall on, a Prometheus on this machine (connecting from 127.0.0.1) would be kept from the exporters:
    /// the scrape relay on the monitor's address carries its scrapes. Without its port the file says nothing of it.
    func startScrapeRelayIfFirewalled() async {
        let firewalled = topology.servers.contains { network.security.firewall(for: $0.name)?.isActive == true }
        guard firewalled, !metricsTargets.isEmpty, let relay = try? await ScrapeRelay.start(lab: self) else { return }
        scrapeRelay.withLockedValue { $0 = relay }
    }

    /// `monitor/prometheus.yml` in the lab folder, for a real Prometheus beside the lab (the ports as they answer,
    /// the lab's alert rules): `prometheus --config.file=monitor/prometheus.yml`.
    func writePrometheusConfig() {
        let folder = (definition.directory as NSString).appendingPathComponent("monitor")
        let rules = FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("alerts.yml")) ? ["alerts.yml"] : []
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? prometheusConfig(ruleFiles: rules).write(toFile: (folder as NSString).appendingPathComponent("prometheus.yml"), atomically: true,
                                                      encoding: .utf8)
    }

    /// Every port the lab will listen on, moved by the port base, is a TCP port (1…65535); otherwise the error names
    /// the first that is not, with its file and the base, and the largest base the lab fits with — before anything
    /// starts, so nothing listens on a port wrapped round past 65535.
    public static func checkPortPlan(_ definition: LabDefinition, options: LabOptions) throws(PortPlanError) {
        var ports: [(port: Int, what: String)] = []
        for server in definition.topology.servers {
            let name = server.name
            for bind in definition.haproxy[name]?.frontends.flatMap(\.binds) ?? [] { ports.append((bind.port, "\(name)/haproxy.cfg:\(bind.line)")) }
            for listen in definition.nginx[name]?.servers.flatMap(\.listens) ?? [] { ports.append((listen.port, "\(name)/nginx.conf:\(listen.line)")) }
            if let gunicorn = definition.gunicorn[name] { ports.append((gunicorn.bindPort, "\(name)/gunicorn.conf.py bind")) }
            if let mysql = definition.mysql[name] { ports.append((mysql.port, "\(name)/my.cnf port")) }
            if definition.keepalived[name] != nil { ports.append((Keepalived.vrrpPort, "\(name)'s keepalived adverts")) }
            for kind in server.processes { ports.append((MetricsEndpoint.configuredPort(for: kind), "\(name)'s \(kind.rawValue) metrics")) }
        }
        let highest = ports.map(\.port).max() ?? 0
        for (port, what) in ports where !(1...65535).contains(port &+ options.portOffset) {
            throw PortPlanError(configured: port, offset: options.portOffset, what: what, largestBase: 65535 - highest)
        }
    }

    private func startAll(_ list: [any LabProcess]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for process in list {
                group.addTask {
                    try await process.start()
                    try await process.startExporter()
                }
            }
            try await group.waitForAll()
        }
    }

    /// Stops every process (gracefully, but quickly) and releases the threads. `keepThreads` leaves the event loops
    /// running, so that a lab stopped to make room for another still answers every question put to it (a scan, a
    /// status) should the other fail to start; `releaseThreads()` ends them.
    public func shutdown(keepThreads: Bool = false) async {
        flushTimer.withLockedValue { $0?.cancel() }
        await Monitor.stopAll(watching: self)
        if let relay = scrapeRelay.withLockedValue({ box in defer { box = nil }; return box }) { await relay.stop() }
        // Close every port at once, then let each process end its own work (stores flush, replication stops),
        // then close the app servers' database connections, and only then stop the threads.
        for process in processes.reversed() where process.state.isListening {
            await process.runtime.crashListenersQuietly()
            await process.halt(graceful: true)
            process.runtime.setState(.stopped)
        }
        for case let app as AppServer in processes { await app.app.posts?.close() }
        flushLogs()
        for process in processes { for log in process.logBooks { log.book.close() } }
        if !keepThreads { await releaseThreads() }
    }

    /// Ends the event loops of a lab stopped with `shutdown(keepThreads: true)`.
    public func releaseThreads() async {
        try? await group.shutdownGracefully()
    }

    func flushLogs() {
        for process in processes { for log in process.logBooks { log.book.flush() } }
    }

    // MARK: - Finding things

    public var topology: Topology { definition.topology }

    public func process(_ server: String, _ kind: Topology.ProcessKind) -> (any LabProcess)? {
        processes.first { $0.serverName == server && $0.kind == kind }
    }

    public func processes(on server: String) -> [any LabProcess] {
        let order = topology.server(named: server)?.processes ?? []
        return processes.filter { $0.serverName == server }.sorted {
            (order.firstIndex(of: $0.kind) ?? 0) < (order.firstIndex(of: $1.kind) ?? 0)
        }
    }

    public func processes(for target: Target) -> [any LabProcess] {
        switch target {
        case .server(let name): processes(on: name)
        case .process(let server, let kind): process(server, kind).map { [$0] } ?? []
        }
    }

    public func target(_ text: String) throws(TargetError) -> Target { try Target.parse(text, in: topology) }

    /// The balancers of the lab (usually just lb-01).
    public var balancers: [Balancer] { processes.compactMap { $0 as? Balancer } }

    /// Where the internet reaches the site: the first balancer's first bind, as `host:port` with the real port.
    public var entryAddress: String? {
        guard let bind = balancers.first?.config.frontends.first?.binds.first else { return nil }
        return "\(bind.host):\(network.port(bind.port))"
    }

    // MARK: - Faults

    /// Puts a server (every process on it) or one process into a fault, or revives it.
    public func apply(_ fault: Fault, to target: Target) async throws {
        let list = processes(for: target)
        switch fault {
        case .revive:
            // Bring back the stores first, then what depends on them, as a machine boots (the lab's start order).
            let bootOrder = list.sorted { a, b in
                (processes.firstIndex { $0 === a } ?? 0) < (processes.firstIndex { $0 === b } ?? 0)
            }
            for process in bootOrder { try await process.revive() }
        case .crash:
            for process in list.reversed() { await process.crash() }
        case .stop:
            for process in list.reversed() { await process.stop() }
        case .hang:
            for process in list { process.hang() }
        case .slow(let ms):
            for process in list { process.slow(milliseconds: ms) }
        }
    }

    /// Waits (at most `timeout`) until every balancer has run its first health check on every checked server, so a
    /// learner's first request after a start meets servers lb-01 has seen (a new server shows `UP 1/3` until then).
    public func waitForFirstChecks(timeout: TimeAmount = .seconds(5)) async {
        let deadline = NIODeadline.now() + timeout
        while NIODeadline.now() < deadline {
            let pending = balancers.contains { $0.serverStatuses.contains { $0.checked && $0.health.lastResult == .initial } }
            if !pending { return }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    /// Cuts the link between two servers (connections between them time out); `heal` restores it.
    public func partition(_ a: String, _ b: String) { network.partition(a, b) }
    public func heal(_ a: String, _ b: String) { network.heal(a, b) }
    public func healAll() { network.healAll() }

    /// Back to the starting state: every fault cleared, every process running.
    public func reviveAll() async throws {
        healAll()
        for process in processes where process.state != .running { try await process.revive() }
    }
}

extension ProcessRuntime {
    func crashListenersQuietly() async { await crashListeners() }
}
