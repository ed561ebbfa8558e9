import NIOCore
import NIOPosix

/// Why an outbound connection failed, in the words the real tools log (`111: Connection refused`).
public enum DialError: Error, Sendable, Equatable, CustomStringConvertible {
    case refused
    case timedOut
    case other(String)

    public var description: String {
        switch self {
        case .refused: "Connection refused"
        case .timedOut: "Connection timed out"
        case .other(let text): text
        }
    }

    /// errno as nginx and MySQL print it: `(111: Connection refused)`.
    public var errnoCode: Int {
        switch self {
        case .refused: 111
        case .timedOut: 110
        case .other: 104
        }
    }

    static func classify(_ error: any Error) -> DialError {
        if let dial = error as? DialError { return dial }
        if error is ChannelError, case .connectTimeout = error as? ChannelError { return .timedOut }
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return .refused }
        if let connect = error as? NIOConnectionError {
            if connect.connectionErrors.contains(where: { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }) { return .refused }
            if connect.connectionErrors.contains(where: { if case .connectTimeout = $0.error as? ChannelError { true } else { false } }) {
                return .timedOut
            }
        }
        let text = "\(error)"
        if text.contains("refused") { return .refused }
        if text.contains("connectTimeout") || text.contains("timed out") { return .timedOut }
        return .other(text)
    }
}

/// Opens connections *from* a server of the lab: binds the server's own address as the source, so the receiving side
/// (its logs, its firewall) sees the true peer, and honours partitions (a cut link looks like a lost packet: the
/// connection attempt times out).
public struct Dialer: Sendable {
    public let network: LabNetwork
    public let fromServer: String
    public let sourceAddress: String

    public init(network: LabNetwork, fromServer: String, sourceAddress: String) {
        self.network = network
        self.fromServer = fromServer
        self.sourceAddress = sourceAddress
    }

    /// Connects to a lab address with a *configured* port (the port plan is applied here).
    public func connect(
        host: String,
        configuredPort: Int,
        on eventLoop: EventLoop,
        timeoutMilliseconds: Int?,
        initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<Channel> {
        connect(host: host, port: network.port(configuredPort), on: eventLoop, timeoutMilliseconds: timeoutMilliseconds,
                initializer: initializer)
    }

    /// Connects to a real port.
    public func connect(
        host: String,
        port: Int,
        on eventLoop: EventLoop,
        timeoutMilliseconds: Int?,
        initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<Channel> {
        // Past 65535 (a large --port-base) there is no port: nothing can answer, and a socket would wrap it round.
        guard (1...65535).contains(port) else { return eventLoop.makeFailedFuture(DialError.refused) }
        let timeout = TimeAmount.milliseconds(Int64(timeoutMilliseconds ?? 60_000))
        if network.isPartitioned(fromServer, network.serverName(forAddress: host)) {
            // The SYN is lost: the caller hears nothing until its own connect timeout.
            let promise = eventLoop.makePromise(of: Channel.self)
            eventLoop.scheduleTask(in: timeout) { promise.fail(DialError.timedOut) }
            return promise.futureResult
        }
        // A firewall on either end: deny drops (the caller waits for its timeout), reject refuses.
        if network.security.isFiltering, let verdict = network.security.verdict(
            fromServer: fromServer, sourceAddress: sourceAddress, toAddress: host, configuredPort: network.configuredPort(port)) {
            let promise = eventLoop.makePromise(of: Channel.self)
            if verdict == .reject {
                promise.fail(DialError.refused)
            } else {
                eventLoop.scheduleTask(in: timeout) { promise.fail(DialError.timedOut) }
            }
            return promise.futureResult
        }
        var bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(timeout)
            .channelInitializer(initializer)
        if let source = try? SocketAddress(ipAddress: sourceAddress, port: 0) {
            bootstrap = bootstrap.bind(to: source)
        }
        // Lab addresses are IP literals: connect to them directly. (connect(host:) would resolve even "127.0.1.11"
        // through getaddrinfo on a thread pool, a tenth of the CPU of a request.)
        let connecting: EventLoopFuture<Channel>
        if let address = try? SocketAddress(ipAddress: host, port: port) {
            connecting = bootstrap.connect(to: address)
        } else {
            connecting = bootstrap.connect(host: host, port: port)
        }
        return connecting.flatMapErrorThrowing { error in
            throw DialError.classify(error)
        }
    }
}
