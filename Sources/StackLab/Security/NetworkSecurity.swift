import Atomics
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The lab's security wiring, one per `LabNetwork`: the servers' firewalls and the running taps, and the hooks the
/// listeners and the dialer call. With no firewall active and no tap running, a new connection costs one atomic load
/// (`isWatching`), and nothing at all per packet.
public final class NetworkSecurity: Sendable {
    private let watching = ManagedAtomic<Bool>(false)
    private let filtering = ManagedAtomic<Bool>(false)
    private let box = NIOLockedValueBox(Box())

    private struct Box {
        var firewalls: [String: Firewall] = [:]
        var addresses: [String: String] = [:]   // address → server
        var taps: [ObjectIdentifier: Tap] = [:]
        var listeners: [ObjectIdentifier: Listener] = [:]
    }

    public init() {}

    /// Whether anything looks at new connections (an active firewall or a tap).
    @inline(__always) public var isWatching: Bool { watching.load(ordering: .relaxed) }
    /// Whether any firewall is active.
    @inline(__always) public var isFiltering: Bool { filtering.load(ordering: .relaxed) }

    // MARK: - Firewalls

    /// Gives every server its firewall (from its `ufw.rules`, or ufw's fresh-install state: inactive).
    func installFirewalls(servers: [(name: String, address: String)], rules: [String: UFWRuleSet]) {
        var firewalls: [String: Firewall] = [:]
        for server in servers {
            firewalls[server.name] = Firewall(serverName: server.name, address: server.address, rules: rules[server.name] ?? UFWRuleSet()) {
                [weak self] firewall in self?.firewallChanged(firewall)
            }
        }
        box.withLockedValue { box in
            box.firewalls = firewalls
            for server in servers { box.addresses[server.address] = server.name }
        }
        refreshFlags()
    }

    public func firewall(for server: String) -> Firewall? { box.withLockedValue { $0.firewalls[server] } }
    public var firewalls: [Firewall] { box.withLockedValue { Array($0.firewalls.values) }.sorted { $0.serverName < $1.serverName } }

    private func firewallChanged(_ firewall: Firewall) {
        refreshFlags()
        let listeners = box.withLockedValue { $0.listeners.values.filter { $0.serverName == firewall.serverName } }
        let applied = listeners.compactMap { applyKernelFilter($0) }
        // A ufw command takes effect before it returns (the shell, a test): wait for the sockets' event loops.
        // On an event loop itself, waiting is not allowed; the change then lands within that loop's next turn.
        if MultiThreadedEventLoopGroup.currentEventLoop == nil {
            for future in applied { try? future.wait() }
        }
    }

    private func refreshFlags() {
        let (anyFirewall, anyTap) = box.withLockedValue { box in (box.firewalls.values.contains { $0.isActive }, !box.taps.isEmpty) }
        filtering.store(anyFirewall, ordering: .relaxed)
        watching.store(anyFirewall || anyTap, ordering: .relaxed)
    }

    /// The verdict for a connection the lab itself opens (the dialer, `scan`): the source server's outgoing rules,
    /// then the destination server's incoming rules. Nil when nothing blocks it.
    public func verdict(fromServer: String, sourceAddress: String, toAddress: String, configuredPort: Int, record: Bool = false) -> Firewall.Verdict? {
        guard isFiltering else { return nil }
        let (source, destination) = box.withLockedValue { box in
            (box.firewalls[fromServer], box.addresses[toAddress].flatMap { box.firewalls[$0] })
        }
        if let source {
            let outgoing = source.outgoing(to: toAddress, port: configuredPort)
            if outgoing != .allow { return outgoing }
        }
        if let destination {
            let incoming = destination.incoming(from: sourceAddress, port: configuredPort, record: record)
            if incoming != .allow { return incoming }
        }
        return nil
    }

    // MARK: - Listener hooks

    /// A listener opened its port: remember it, and give it the kernel filter its server's firewall asks for.
    func listenerStarted(_ listener: Listener) async {
        box.withLockedValue { box in
            box.listeners = box.listeners.filter { $0.value.isListening }
            box.listeners[ObjectIdentifier(listener)] = listener
        }
        if firewall(for: listener.serverName)?.isActive == true, let applied = applyKernelFilter(listener) { try? await applied.get() }
    }

    @discardableResult
    private func applyKernelFilter(_ listener: Listener) -> EventLoopFuture<Void>? {
        guard let firewall = firewall(for: listener.serverName), let channel = listener.serverSocket else { return nil }
        let program = firewall.kernelProgram(port: listener.configuredPort).flatMap {
            FirewallSocketFilter.program(ownAddress: firewall.address, rules: $0.rules, dropByDefault: $0.dropByDefault)
        }
        return FirewallSocketFilter.apply(program, to: channel)
    }

    /// A connection was accepted (called only while `isWatching`). Applies the firewall's verdict — reject resets
    /// the connection at once; drop (when the kernel filter could not) keeps it silent — and attaches running taps.
    /// Returns false when the process must not see the connection.
    func admit(_ channel: Channel, listener: Listener, network: LabNetwork) -> Bool {
        let remote = channel.remoteAddress
        let peerAddress = remote?.ipAddress ?? "?"
        let peer = network.serverName(forAddress: peerAddress)
        if isFiltering, let firewall = firewall(for: listener.serverName) {
            switch firewall.incoming(from: peerAddress, sourcePort: remote?.port ?? 0, port: listener.configuredPort) {
            case .allow: break
            case .reject:
                _ = try? channel.pipeline.syncOperations.addHandler(FirewallRefusal(silent: false))
                return false
            case .drop:
                _ = try? channel.pipeline.syncOperations.addHandler(FirewallRefusal(silent: true))
                return false
            }
        }
        let taps = box.withLockedValue { Array($0.taps.values) }
        for tap in taps where tap.selector.matches(server: listener.serverName, process: listener.processName, peer: peer) {
            tap.attach(to: channel, client: "\(peer ?? "?") \(peerAddress):\(remote?.port ?? 0)",
                       server: "\(listener.serverName)/\(listener.processName) \(listener.host):\(listener.port)", process: listener.processName)
        }
        return true
    }

    // MARK: - Taps

    /// Starts a tap: new matching connections get its handler as they are accepted, open ones at once.
    func startTap(_ selector: TapSelector, listeners: [Listener], network: LabNetwork) -> Tap {
        let tap = Tap(selector: selector, security: self)
        box.withLockedValue { $0.taps[ObjectIdentifier(tap)] = tap }
        refreshFlags()
        for listener in listeners where listener.serverName == selector.server
            && (selector.process == nil || selector.process?.rawValue == listener.processName) {
            for channel in listener.openChannels {
                let address = channel.remoteAddress?.ipAddress ?? "?"
                let peer = network.serverName(forAddress: address)
                guard tap.selector.matches(server: listener.serverName, process: listener.processName, peer: peer) else { continue }
                tap.attach(to: channel, client: "\(peer ?? "?") \(address):\(channel.remoteAddress?.port ?? 0)",
                           server: "\(listener.serverName)/\(listener.processName) \(listener.host):\(listener.port)", process: listener.processName)
            }
        }
        return tap
    }

    func remove(_ tap: Tap) {
        box.withLockedValue { _ = $0.taps.removeValue(forKey: ObjectIdentifier(tap)) }
        refreshFlags()
    }
}

/// What a blocked connection that got past the kernel meets: reset at once (reject: SO_LINGER 0, so the peer
/// gets an RST), or silence (drop: nothing is read or answered until the client gives up, or 5 minutes pass).
final class FirewallRefusal: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    private let silent: Bool

    init(silent: Bool) { self.silent = silent }

    func channelActive(context: ChannelHandlerContext) {
        if silent {
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            let channel = context.channel
            context.eventLoop.scheduleTask(in: .minutes(5)) { channel.close(promise: nil) }
            return
        }
        let channel = context.channel
        if let provider = channel as? SocketOptionProvider {
            provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
