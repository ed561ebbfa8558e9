import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Which connections a tap watches: those accepted by a server (or one process on it), optionally only from one
/// peer. `internet>lb-01`, `lb-01>web-01`, `web-01>web-01/mysql`, `web-02/mysql`, `web-01`.
public struct TapSelector: Sendable, Equatable, CustomStringConvertible {
    /// The connecting side: a server name, `internet`, or nil for anyone.
    public var from: String?
    /// The accepting server.
    public var server: String
    /// One process on it, or nil for all of them.
    public var process: Topology.ProcessKind?

    public init(from: String? = nil, server: String, process: Topology.ProcessKind? = nil) {
        self.from = from
        self.server = server
        self.process = process
    }

    public var description: String {
        let target = process.map { "\(server)/\($0.rawValue)" } ?? server
        return from.map { "\($0)>\(target)" } ?? target
    }

    /// Parses a hop, checking names against the topology.
    public static func parse(_ text: String, in topology: Topology) throws(TargetError) -> TapSelector {
        let parts = text.split(separator: ">", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard parts.count <= 2, !(parts.last ?? "").isEmpty else {
            throw TargetError(message: "a hop is FROM>TO (internet>lb-01, lb-01>web-01, web-01>web-01/mysql) or a process (web-01/mysql)")
        }
        var from: String?
        if parts.count == 2 {
            let name = parts[0]
            let names = ["internet"] + topology.servers.map(\.name)
            guard names.contains(name) else {
                var message = "unknown sender '\(name)' — senders: \(names.joined(separator: ", "))"
                if let near = Suggestions.nearest(name, in: names) { message += " (did you mean '\(near)'?)" }
                throw TargetError(message: message)
            }
            from = name
        }
        if parts.last == "internet" {
            throw TargetError(message: "the internet accepts no connections in the lab: tap the server it talks to (internet>lb-01)")
        }
        switch try Target.parse(parts.last!, in: topology) {
        case .server(let name): return TapSelector(from: from, server: name)
        case .process(let server, let kind): return TapSelector(from: from, server: server, process: kind)
        }
    }

    func matches(server: String, process: String, peer: String?) -> Bool {
        guard server == self.server else { return false }
        if let kind = self.process, kind.rawValue != process { return false }
        if let from, from != peer { return false }
        return true
    }
}

/// One message seen on a tapped connection: which way, how big, and what it says.
public struct TapMessage: Sendable, CustomStringConvertible {
    public var time: Date
    /// `internet 127.0.0.1:40522`
    public var client: String
    /// `lb-01/haproxy 127.0.1.1:8080`
    public var server: String
    /// True for client → server.
    public var toServer: Bool
    public var bytes: Int
    /// What the payload was read as.
    public var kind: WireKind
    /// The payload: text lines, decoded records (TLS, MySQL), or a hex/ASCII excerpt.
    public var lines: [String]

    public var headline: String {
        let arrow = toServer ? "\(client) → \(server)" : "\(server) → \(client)"
        return "\(LogTime.haproxy(time).suffix(12)) \(arrow)  \(bytes) byte\(bytes == 1 ? "" : "s")"
    }

    public var description: String { ([headline] + lines.map { "    " + $0 }).joined(separator: "\n") }

    /// The whole payload view in one string, for searching.
    public var text: String { lines.joined(separator: "\n") }
}

public enum WireKind: String, Sendable {
    case text, tls, mysql, binary
}

/// A running tap: messages arrive on `messages` until `stop()`.
///
/// ```swift
/// let tap = try lab.tap("internet>lb-01")
/// for await message in tap.messages { print(message) }
/// ```
public final class Tap: Sendable {
    public let selector: TapSelector
    public let messages: AsyncStream<TapMessage>
    private let continuation: AsyncStream<TapMessage>.Continuation
    private let channels = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])
    private let stopped = NIOLockedValueBox(false)
    private let security: NetworkSecurity
    let handlerName: String

    init(selector: TapSelector, security: NetworkSecurity) {
        self.selector = selector
        self.security = security
        self.handlerName = "stacklab.tap.\(UUID().uuidString.prefix(8))"
        (messages, continuation) = AsyncStream.makeStream(of: TapMessage.self, bufferingPolicy: .bufferingNewest(10_000))
    }

    func report(_ message: TapMessage) { continuation.yield(message) }

    /// Puts the tap's handler in front of a connection's pipeline (on the channel's event loop).
    func attach(to channel: Channel, client: String, server: String, process: String) {
        let alreadyStopped = stopped.withLockedValue { stopped in
            if !stopped { channels.withLockedValue { $0[ObjectIdentifier(channel)] = channel } }
            return stopped
        }
        guard !alreadyStopped else { return }
        let name = handlerName
        let isMySQL = process == "mysql"
        if channel.eventLoop.inEventLoop {
            // A connection being accepted: in place before its first byte is read.
            try? channel.pipeline.syncOperations.addHandler(TapHandler(tap: self, client: client, server: server, isMySQL: isMySQL),
                                                             name: name, position: .first)
        } else {
            channel.eventLoop.execute {
                try? channel.pipeline.syncOperations.addHandler(TapHandler(tap: self, client: client, server: server, isMySQL: isMySQL),
                                                                 name: name, position: .first)
            }
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.channels.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    /// Ends the tap: its handlers leave every connection, the message stream finishes.
    public func stop() {
        let already = stopped.withLockedValue { stopped in defer { stopped = true }; return stopped }
        guard !already else { return }
        security.remove(self)
        let open = channels.withLockedValue { channels in defer { channels = [:] }; return Array(channels.values) }
        for channel in open { _ = channel.pipeline.removeHandler(name: handlerName) }
        continuation.finish()
    }

    deinit { continuation.finish() }
}

/// Sits first in a tapped connection's pipeline: sees the bytes exactly as they cross the socket (TLS stays
/// encrypted) and reports each read and each write.
final class TapHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let tap: Tap
    private let client: String
    private let server: String
    private var fromClient: WireDecoder
    private var fromServer: WireDecoder

    init(tap: Tap, client: String, server: String, isMySQL: Bool) {
        self.tap = tap
        self.client = client
        self.server = server
        fromClient = WireDecoder(isMySQL: isMySQL, toServer: true)
        fromServer = WireDecoder(isMySQL: isMySQL, toServer: false)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let (kind, lines) = fromClient.decode(buffer.readableBytesView)
        tap.report(TapMessage(time: Date(), client: client, server: server, toServer: true, bytes: buffer.readableBytes, kind: kind, lines: lines))
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer):
            let (kind, lines) = fromServer.decode(buffer.readableBytesView)
            tap.report(TapMessage(time: Date(), client: client, server: server, toServer: false, bytes: buffer.readableBytes, kind: kind, lines: lines))
        case .fileRegion(let region):
            tap.report(TapMessage(time: Date(), client: client, server: server, toServer: false, bytes: region.readableBytes, kind: .binary,
                                  lines: ["(file contents sent straight from disk with sendfile)"]))
        }
        context.write(data, promise: promise)
    }
}
