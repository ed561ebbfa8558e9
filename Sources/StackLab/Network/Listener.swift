import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A listening socket of a lab process, with the faults a real process can suffer:
/// crash (port closed, open connections reset), stop (port closed, in-flight work finishes), hang, slow.
public final class Listener: Sendable {
    public let host: String
    public let port: Int
    private let group: EventLoopGroup
    private let network: LabNetwork
    public let serverName: String
    /// `haproxy`, `nginx` … (for taps: `tap web-01/mysql`).
    public let processName: String
    public let faults: FaultSwitch
    private let initializer: @Sendable (Channel) -> EventLoopFuture<Void>
    private let delaysReads: Bool
    /// The process's connection limits (HAProxy's global and frontend maxconn, nginx's worker_connections …).
    private let budgets: [ConnectionBudget]
    /// The kernel's accept queue for this port (`listen(2)` backlog): where connections wait while accepting pauses.
    private let backlog: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var serverChannel: Channel?
        var children: [ObjectIdentifier: Channel] = [:]
        var accepted = 0
        /// Connections a budget refused: closed as soon as they are set up.
        var refused: Set<ObjectIdentifier> = []
        var paused = false
    }

    /// - Parameters:
    ///   - port: the real port (the port plan is already applied).
    ///   - initializer: installs the process's own handlers on an accepted connection.
    ///   - budgets: connection limits this port counts against (each admits a connection, or the connection is refused
    ///     or the port stops accepting, as the budget's policy says).
    ///   - backlog: the kernel's accept queue (HAProxy: the frontend's maxconn; nginx 511; gunicorn `backlog`).
    public init(host: String, port: Int, serverName: String, processName: String = "", group: EventLoopGroup, network: LabNetwork,
                faults: FaultSwitch, delaysReads: Bool = true, budgets: [ConnectionBudget] = [], backlog: Int = 1024,
                initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) {
        self.budgets = budgets
        self.backlog = min(max(1, backlog), 65_535)
        self.processName = processName
        self.delaysReads = delaysReads
        self.host = host
        self.port = port
        self.serverName = serverName
        self.group = group
        self.network = network
        self.faults = faults
        self.initializer = initializer
    }

    public var isListening: Bool { state.withLockedValue { $0.serverChannel != nil } }
    public var openConnections: Int { state.withLockedValue { $0.children.count } }
    public var acceptedConnections: Int { state.withLockedValue { $0.accepted } }
    /// The port as the config files write it (the port plan taken off): what firewall rules name.
    public var configuredPort: Int { network.configuredPort(port) }
    /// The listening socket (for the firewall's kernel filter); nil when closed.
    var serverSocket: Channel? { state.withLockedValue { $0.serverChannel } }
    /// The accepted connections still open (a tap joins them when it starts).
    var openChannels: [Channel] { state.withLockedValue { Array($0.children.values) } }

    /// Binds the port. A port that is taken is a clear error naming the address.
    public func start() async throws {
        // A socket would take the port modulo 65536 and listen somewhere nobody looks.
        guard (1...65535).contains(port) else {
            throw PortPlanError(configured: configuredPort, offset: network.portOffset, what: "\(serverName) \(processName)".trimmingSpaces,
                                largestBase: 65535 - configuredPort)
        }
        // The last word on "loopback only", whatever a config file or a caller asked for: 0.0.0.0 (nginx's default
        // `listen 8000`) or a public address never gets a socket.
        guard ConfigText.isLoopback(host) else { throw ListenError(host: host, port: port, underlying: NotLoopback()) }
        let pauses = budgets.contains { $0.policy == .pauseAccepting }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(backlog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // One accept per wake-up while a budget may pause: the connection after the limit stays in the kernel.
            .serverChannelOption(.maxMessagesPerRead, value: UInt(pauses ? 1 : 4))
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .serverChannelInitializer { [self] channel in
                guard !budgets.isEmpty else { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AdmissionHandler(listener: self))
                }
            }
            .childChannelInitializer { [self] channel in
                if state.withLockedValue({ $0.refused.remove(ObjectIdentifier(channel)) != nil }) {
                    return channel.close()
                }
                track(channel)
                // Firewall and taps: one atomic load when neither is in use.
                if network.security.isWatching, !network.security.admit(channel, listener: self, network: network) {
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        FaultGate(faults: faults, network: network, localServer: serverName, delaysReads: delaysReads))
                }
                .flatMap { self.initializer(channel) }
            }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            state.withLockedValue { $0.serverChannel = channel }
            await network.security.listenerStarted(self)
        } catch {
            throw ListenError(host: host, port: port, underlying: error)
        }
    }

    /// Counts an accepted connection against every budget; false when one refuses it (nginx out of connections).
    fileprivate func admit(_ channel: Channel) -> Bool {
        var taken: [ConnectionBudget] = []
        for budget in budgets {
            guard budget.admit(channel) else {
                for other in taken { other.release(channel) }
                state.withLockedValue { _ = $0.refused.insert(ObjectIdentifier(channel)) }
                return false
            }
            taken.append(budget)
        }
        let budgets = self.budgets
        channel.closeFuture.whenComplete { _ in for budget in budgets { budget.release(channel) } }
        return true
    }

    /// Stops accepting while a budget that pauses is full; the budget resumes it when a connection closes.
    fileprivate func pauseIfFull(_ serverChannel: Channel) {
        let full = budgets.filter { $0.policy == .pauseAccepting && $0.wait(self) }
        guard !full.isEmpty else { return }
        state.withLockedValue { $0.paused = true }
        serverChannel.setOption(.autoRead, value: false).whenFailure { _ in }
    }

    /// A budget has room again: accept again unless another budget of this port is still full.
    func resumeAccepting() {
        guard let server = state.withLockedValue({ $0.serverChannel }) else { return }
        server.eventLoop.execute { [self] in
            guard state.withLockedValue({ $0.paused }) else { return }
            let full = budgets.filter { $0.policy == .pauseAccepting && $0.wait(self) }
            guard full.isEmpty else { return }
            state.withLockedValue { $0.paused = false }
            server.setOption(.autoRead, value: true).whenFailure { _ in }
        }
    }

    /// Whether the port has stopped accepting because a connection limit is reached.
    public var isPaused: Bool { state.withLockedValue { $0.paused } }

    private func track(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        state.withLockedValue {
            $0.children[id] = channel
            $0.accepted += 1
        }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLockedValue { _ = $0.children.removeValue(forKey: id) }
        }
    }

    /// Closes the port at once and resets every open connection (the peer sees ECONNRESET), like a killed process.
    public func crash() async {
        for budget in budgets { budget.forget(self) }
        let (server, children) = state.withLockedValue { state in
            let result = (state.serverChannel, Array(state.children.values))
            state.serverChannel = nil
            return result
        }
        try? await server?.close()
        for child in children {
            if let provider = child as? SocketOptionProvider {
                _ = try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
            }
            try? await child.close()
        }
    }

    /// Closes the port; open connections finish what they are doing (NIO's quiesce), then close.
    /// Whatever is still open after `grace` is closed.
    public func stop(grace: TimeAmount = .seconds(5)) async {
        for budget in budgets { budget.forget(self) }
        let (server, children) = state.withLockedValue { state in
            let result = (state.serverChannel, Array(state.children.values))
            state.serverChannel = nil
            return result
        }
        try? await server?.close()
        for child in children { child.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        let deadline = NIODeadline.now() + grace
        while openConnections > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        for child in state.withLockedValue({ Array($0.children.values) }) { try? await child.close() }
    }
}

/// On the listening socket, before NIO's accept handler: counts each accepted connection against the process's
/// budgets and pauses accepting at the limit, synchronously, so the connection after it stays in the kernel.
private final class AdmissionHandler: ChannelInboundHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel
    private let listener: Listener

    init(listener: Listener) { self.listener = listener }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        _ = listener.admit(child)
        context.fireChannelRead(data)
        listener.pauseIfFull(context.channel)
    }
}

/// An address outside 127.0.0.0/8.
struct NotLoopback: Error, CustomStringConvertible {
    var description: String { "stacklab listens on loopback only (127.0.0.0/8), each server on its own address" }
}

public struct ListenError: Error, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var underlying: any Error

    /// Another socket holds the address (EADDRINUSE).
    public var isAddressInUse: Bool {
        let text = "\(underlying)"
        return text.contains("Address already in use") || text.contains("EADDRINUSE") || (underlying as? IOError)?.errnoCode == EADDRINUSE
    }

    public var description: String {
        let text = "\(underlying)"
        if isAddressInUse {
            return "cannot listen on \(host):\(port): the address is already in use (another stacklab, or another program). "
                + "Stop it, or start this lab on other ports with --port-base N (every port of the lab moves up by N)."
        }
        return "cannot listen on \(host):\(port): \(text)"
    }
}
