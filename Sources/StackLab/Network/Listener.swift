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
    private let state = NIOLockedValueBox(State())

    private struct State {
        var serverChannel: Channel?
        var children: [ObjectIdentifier: Channel] = [:]
        var accepted = 0
    }

    /// - Parameters:
    ///   - port: the real port (the port plan is already applied).
    ///   - initializer: installs the process's own handlers on an accepted connection.
    public init(host: String, port: Int, serverName: String, processName: String = "", group: EventLoopGroup, network: LabNetwork,
                faults: FaultSwitch, delaysReads: Bool = true, initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) {
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
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                track(channel)
                // Firewall and taps (the [security] issue): one atomic load when neither is in use.
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

public struct ListenError: Error, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var underlying: any Error

    public var description: String {
        let text = "\(underlying)"
        if text.contains("Address already in use") || text.contains("EADDRINUSE") || (underlying as? IOError)?.errnoCode == EADDRINUSE {
            return "cannot listen on \(host):\(port): the address is already in use (another stacklab, or another program). "
                + "Stop it, or start this lab on other ports with --port-base N (every port of the lab moves up by N)."
        }
        return "cannot listen on \(host):\(port): \(text)"
    }
}
