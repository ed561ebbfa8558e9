import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// lb-0N/keepalived: VRRP between the balancers. The MASTER holds the floating address (its haproxy listens on it);
/// a BACKUP that hears no advert for Master_Down_Interval becomes MASTER and takes the address. Adverts travel as
/// UDP datagrams from each balancer's own address to the others' (honouring partitions); track scripts watch the
/// local haproxy.
public final class Keepalived: LabProcess {
    public let kind = Topology.ProcessKind.keepalived
    public let runtime: ProcessRuntime
    public let config: KeepalivedConfig
    /// The configured VRRP port (UDP; the lab's port plan is applied). VRRP is IP protocol 112, hence 8112.
    public static let vrrpPort = 8112

    /// The addresses of the other keepalived servers of the lab.
    private let peers: [String]
    /// The state of a process on this server (the track scripts' "killall -0 haproxy").
    private let localProcessState: @Sendable (Topology.ProcessKind) -> ProcessState?
    /// The balancer on this server, which listens on the floating address while MASTER.
    private let balancer: @Sendable () -> Balancer?
    private let box: NIOLockedValueBox<Box>
    private let clock = ContinuousClock()
    private let epoch: ContinuousClock.Instant

    private struct Box {
        var instances: [VRRPInstance] = []
        var channel: Channel?
        var timer: RepeatedTask?
        var scriptState: [String: ScriptState] = [:]
        var transitions: [(instance: String, role: VRRPInstance.Role, at: Date)] = []
        /// Addresses a MASTER could not take yet (the old master's haproxy still listened there): tried again each tick.
        var untaken: Set<String> = []
    }

    private struct ScriptState {
        var ok = true
        var failures = 0
        var successes = 0
        var nextRun = 0.0
    }

    init(config: KeepalivedConfig, runtime: ProcessRuntime, peers: [String],
         localProcessState: @escaping @Sendable (Topology.ProcessKind) -> ProcessState?, balancer: @escaping @Sendable () -> Balancer?) {
        self.config = config
        self.runtime = runtime
        self.peers = peers
        self.localProcessState = localProcessState
        self.balancer = balancer
        self.box = NIOLockedValueBox(Box())
        self.epoch = clock.now
    }

    /// Each instance's role (`VI_1 MASTER`).
    public var roles: [(instance: String, role: VRRPInstance.Role)] {
        box.withLockedValue { $0.instances.map { ($0.config.name, $0.role) } }
    }

    /// Whether this server holds `address` (its instance is MASTER).
    public func holds(_ address: String) -> Bool {
        box.withLockedValue { $0.instances.contains { $0.role == .master && $0.config.virtualAddresses.contains(address) } }
    }

    private var now: Double {
        let d = clock.now - epoch
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    public func start() async throws {
        let pid = runtime.pid
        runtime.log.append("Keepalived_vrrp[\(pid)]: Starting VRRP child process, pid=\(pid)")
        let channel = try await DatagramBootstrap(group: runtime.group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AdvertReader(keepalived: self)) }
            }
            .bind(host: runtime.serverAddress, port: runtime.network.port(Self.vrrpPort)).get()
        let instances = config.instances.map { VRRPInstance(config: $0, address: runtime.serverAddress) }
        var actions: [(Int, [VRRPInstance.Action])] = []
        box.withLockedValue { box in
            box.channel = channel
            box.instances = instances
            box.scriptState = [:]
            let t = now
            for name in config.scripts.keys { box.scriptState[name] = ScriptState() }
            for index in box.instances.indices {
                runtime.log.append("Keepalived_vrrp[\(pid)]: (\(box.instances[index].config.name)) Entering BACKUP STATE (init)")
                actions.append((index, box.instances[index].start(now: t)))
            }
        }
        runtime.markRunning()
        for (index, list) in actions { await perform(list, instance: index) }
        let timer = channel.eventLoop.scheduleRepeatedAsyncTask(initialDelay: .milliseconds(5), delay: .milliseconds(5)) { _ in
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.completeWithTask { await self.tick() }
            return promise.futureResult
        }
        box.withLockedValue { $0.timer = timer }
    }

    public func halt(graceful: Bool) async {
        let (channel, timer, actions) = box.withLockedValue { box -> (Channel?, RepeatedTask?, [(Int, [VRRPInstance.Action])]) in
            var actions: [(Int, [VRRPInstance.Action])] = []
            if graceful { for index in box.instances.indices { actions.append((index, box.instances[index].shutdown())) } }
            defer { box.channel = nil; box.timer = nil }
            return (box.channel, box.timer, actions)
        }
        timer?.cancel()
        if graceful {
            for (index, list) in actions { await perform(list, instance: index, channel: channel) }
            runtime.log.append("Keepalived_vrrp[\(runtime.pid)]: Stopped")
        }
        // Whether stopped or killed, the floating address leaves this server with keepalived (a simplification: a
        // real `kill -9 keepalived` leaves the address on the interface).
        for address in config.virtualAddresses { await balancer()?.releaseFloating(address) }
        box.withLockedValue { box in for index in box.instances.indices { _ = box.instances[index].shutdown() } }
        try? await channel?.close()
    }

    // MARK: - Events

    func received(_ bytes: [UInt8], from sender: String) async {
        guard runtime.state.isAlive, !runtime.faults.isHung else { return }
        guard let advert = VRRPAdvert.decode(bytes) else {
            runtime.log.append("Keepalived_vrrp[\(runtime.pid)]: bogus VRRP packet received from \(sender) !!!")
            return
        }
        if runtime.network.isPartitioned(runtime.serverName, runtime.network.serverName(forAddress: sender)) { return }
        let t = now
        let actions = box.withLockedValue { box -> [(Int, [VRRPInstance.Action])] in
            box.instances.indices.compactMap { index in
                let instance = box.instances[index]
                guard instance.config.virtualRouterID == advert.virtualRouterID else { return nil }
                guard instance.config.version == advert.version else { return nil }
                guard instance.config.version == 3 || instance.config.authPass == advert.authPass else {
                    runtime.log.append("Keepalived_vrrp[\(runtime.pid)]: (\(instance.config.name)) bad authentication from \(sender)")
                    return nil
                }
                return (index, box.instances[index].advertReceived(priority: advert.priority, from: sender, now: t))
            }
        }
        for (index, list) in actions { await perform(list, instance: index) }
    }

    private func tick() async {
        guard runtime.state.isAlive else { return }
        let t = now
        // Track scripts first: they may change the priority or put an instance in FAULT.
        var changed = false
        box.withLockedValue { box in
            for (name, script) in config.scripts {
                guard var state = box.scriptState[name], t >= state.nextRun else { continue }
                state.nextRun = t + script.interval
                // `killall -0 haproxy` succeeds while the process exists: running, slow or hung.
                let passed = script.checksProcess.flatMap { localProcessState($0) }.map(\.isListening) ?? false
                if passed {
                    state.successes += 1
                    state.failures = 0
                    if !state.ok && state.successes >= script.rise {
                        state.ok = true
                        changed = true
                        runtime.log.append("Keepalived_vrrp[\(runtime.pid)]: VRRP_Script(\(name)) succeeded")
                    }
                } else {
                    state.failures += 1
                    state.successes = 0
                    if state.ok && state.failures >= script.fall {
                        state.ok = false
                        changed = true
                        runtime.log.append("Keepalived_vrrp[\(runtime.pid)]: VRRP_Script(\(name)) failed (exited with status 1)")
                    }
                }
                box.scriptState[name] = state
            }
        }
        var actions: [(Int, [VRRPInstance.Action])] = []
        box.withLockedValue { box in
            for index in box.instances.indices {
                if changed {
                    let tracked = box.instances[index].config.trackScripts.compactMap { config.scripts[$0] }
                    let failing = tracked.filter { !(box.scriptState[$0.name]?.ok ?? true) }
                    let fault = failing.contains { $0.weight == 0 }
                    let weight = failing.filter { $0.weight < 0 }.map(\.weight).reduce(0, +)
                        + tracked.filter { $0.weight > 0 && (box.scriptState[$0.name]?.ok ?? true) }.map(\.weight).reduce(0, +)
                    actions.append((index, box.instances[index].trackChanged(ok: !fault, weight: weight, now: t)))
                }
                actions.append((index, box.instances[index].tick(now: t)))
            }
        }
        for (index, list) in actions where !list.isEmpty { await perform(list, instance: index) }
        // A MASTER whose address was still held elsewhere takes it as soon as it is free.
        let retry = box.withLockedValue { box in
            box.instances.filter { $0.role == .master }.flatMap(\.config.virtualAddresses).filter { box.untaken.contains($0) }
        }
        for address in retry { await take(address, instance: nil) }
    }

    /// Makes the local haproxy listen on `address`; remembers it for another try when the port is still taken.
    private func take(_ address: String, instance name: String?) async {
        do {
            try await balancer()?.takeFloating(address)
            box.withLockedValue { _ = $0.untaken.remove(address) }
            if let name {
                runtime.log.append("Keepalived_vrrp[\(runtime.pid)]: (\(name)) Sending/queueing gratuitous ARPs for \(address)")
            }
        } catch {
            let first = box.withLockedValue { $0.untaken.insert(address).inserted }
            if first { runtime.log.append("Keepalived_vrrp[\(runtime.pid)]: cannot take \(address) yet (\(error)); trying again") }
        }
    }

    private func perform(_ actions: [VRRPInstance.Action], instance index: Int, channel: Channel? = nil) async {
        guard let instance = box.withLockedValue({ $0.instances.indices.contains(index) ? $0.instances[index] : nil }) else { return }
        let name = instance.config.name
        let pid = runtime.pid
        for action in actions {
            switch action {
            case .becomeMaster:
                runtime.log.append("Keepalived_vrrp[\(pid)]: (\(name)) Entering MASTER STATE")
                record(name, .master)
                for address in instance.config.virtualAddresses { await take(address, instance: name) }
            case .becomeBackup:
                runtime.log.append("Keepalived_vrrp[\(pid)]: (\(name)) Entering BACKUP STATE")
                record(name, .backup)
                box.withLockedValue { $0.untaken.subtract(instance.config.virtualAddresses) }
                for address in instance.config.virtualAddresses { await balancer()?.releaseFloating(address) }
            case .enterFault:
                runtime.log.append("Keepalived_vrrp[\(pid)]: (\(name)) Entering FAULT STATE")
                record(name, .fault)
                box.withLockedValue { $0.untaken.subtract(instance.config.virtualAddresses) }
                for address in instance.config.virtualAddresses { await balancer()?.releaseFloating(address) }
            case .sendAdvert(let priority):
                let advert = VRRPAdvert(virtualRouterID: instance.config.virtualRouterID, priority: priority,
                                        advertInterval: instance.config.advertInterval, addresses: instance.config.virtualAddresses,
                                        authPass: instance.config.version == 3 ? nil : instance.config.authPass,
                                        version: instance.config.version)
                send(advert, on: channel)
            }
        }
    }

    private func record(_ name: String, _ role: VRRPInstance.Role) {
        box.withLockedValue { box in
            box.transitions.append((name, role, Date()))
            if box.transitions.count > 100 { box.transitions.removeFirst() }
        }
    }

    private func send(_ advert: VRRPAdvert, on given: Channel? = nil) {
        guard !runtime.faults.isHung, let channel = given ?? box.withLockedValue({ $0.channel }) else { return }
        let bytes = advert.encoded()
        for peer in peers where !runtime.network.isPartitioned(runtime.serverName, runtime.network.serverName(forAddress: peer)) {
            guard let address = try? SocketAddress(ipAddress: peer, port: runtime.network.port(Self.vrrpPort)) else { continue }
            var buffer = channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
        }
    }

    /// Reads adverts off the UDP socket.
    private final class AdvertReader: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let keepalived: Keepalived
        init(keepalived: Keepalived) { self.keepalived = keepalived }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let bytes = Array(envelope.data.readableBytesView)
            let sender = envelope.remoteAddress.ipAddress ?? ""
            let keepalived = self.keepalived
            Task { await keepalived.received(bytes, from: sender) }
        }
    }
}

/// The floating addresses a balancer serves while its server is MASTER. keepalived and the balancer's own start and
/// stop may run at once (a revive, a busy machine): one lock decides which of them opens the binds on an address, so
/// an address held while haproxy starts is opened exactly once, by whichever comes second.
public final class FloatingAddresses: Sendable {
    private struct State {
        var floating: Set<String> = []
        /// Held by this server's keepalived (MASTER).
        var held: Set<String> = []
        /// Held addresses whose binds the balancer has opened, or is opening.
        var open: Set<String> = []
        /// The balancer is between the start of its `start()` and its halt.
        var running = false
    }
    private let box = NIOLockedValueBox(State())

    public init() {}

    /// Declares the addresses keepalived on this server manages (from keepalived.conf).
    func declare(_ addresses: [String]) { box.withLockedValue { $0.floating.formUnion(addresses) } }

    /// The balancer starts: from now on keepalived opens an address it takes. Returns the floating addresses held now,
    /// whose binds the start opens, and every floating address (binds on any other host always open).
    func beginListening() -> (Set<String>, floating: Set<String>) {
        box.withLockedValue { state in
            state.running = true
            state.open = state.held
            return (state.open, state.floating)
        }
    }

    /// The balancer stopped or its start failed: its binds are closed.
    func endListening() { box.withLockedValue { $0.running = false; $0.open = [] } }

    /// keepalived made this server MASTER: true when the caller is the one to open the binds now.
    func take(_ address: String) -> Bool {
        box.withLockedValue { state in
            state.held.insert(address)
            guard state.running, !state.open.contains(address) else { return false }
            state.open.insert(address)
            return true
        }
    }

    /// Whether the binds on `address` should be open (checked after an open, which may have raced a release).
    func isOpen(_ address: String) -> Bool { box.withLockedValue { $0.open.contains(address) } }

    /// The server is no longer MASTER: true when binds were open (or opening) and must close.
    func release(_ address: String) -> Bool {
        box.withLockedValue { state in
            state.held.remove(address)
            return state.open.remove(address) != nil
        }
    }

    /// A failed open: not held after all.
    func abandon(_ address: String) { box.withLockedValue { _ = $0.held.remove(address); _ = $0.open.remove(address) } }
}

extension Balancer {
    /// keepalived made this server MASTER: listen on the frontends' binds on `address` (at once when haproxy runs,
    /// else when it starts).
    func takeFloating(_ address: String) async throws {
        guard floating.take(address) else { return }
        do {
            for frontend in config.frontends {
                for bind in frontend.binds where bind.host == address { try await listen(bind, frontend: frontend) }
            }
        } catch {
            // Not held after all: close what did open, so the next try starts clean.
            floating.abandon(address)
            await runtime.closeListeners(host: address)
            throw error
        }
        // Released (or haproxy stopped) while the binds were opening: close them again.
        if !floating.isOpen(address) { await runtime.closeListeners(host: address) }
    }

    /// The server is no longer MASTER: close the binds on `address`.
    func releaseFloating(_ address: String) async {
        guard floating.release(address) else { return }
        await runtime.closeListeners(host: address)
    }
}

/// lb-0N/keepalived for `Lab.start`: its peers are the other keepalived servers; it watches and drives the
/// balancer on its own server.
func makeKeepalived(definition: LabDefinition, server: Topology.Server, runtime: ProcessRuntime, processes: [any LabProcess]) -> Keepalived? {
    guard let config = definition.keepalived[server.name] else { return nil }
    let peers = definition.topology.servers.filter { $0.name != server.name && $0.processes.contains(.keepalived) }.map(\.address)
    let local = processes.filter { $0.serverName == server.name }
    let balancer = local.compactMap { $0 as? Balancer }.first
    return Keepalived(config: config, runtime: runtime, peers: peers,
                      localProcessState: { kind in local.first { $0.kind == kind }?.state },
                      balancer: { balancer })
}

/// keepalived_exporter's names (gen2brain/keepalived_exporter): `keepalived_up`, and per instance
/// `keepalived_vrrp_state` — 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT — with its interface, router id and address.
extension Keepalived: MetricsSource {
    public func collectMetrics(into metrics: ProcessMetrics) {
        metrics.gauge("keepalived_up", "Status", [], state.isAlive ? 1 : 0)
        let instances = config.instances
        for (name, role) in roles {
            guard let instance = instances.first(where: { $0.name == name }) else { continue }
            let value = switch role {
            case .initialize: 0
            case .backup: 1
            case .master: 2
            case .fault: 3
            }
            metrics.gauge("keepalived_vrrp_state", "State of vrrp", [
                ("iname", name), ("intf", instance.interface), ("vrid", "\(instance.virtualRouterID)"),
                ("ip_address", instance.virtualAddresses.joined(separator: ",")),
            ], value)
        }
    }
}
