import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay that can start dropping everything silently (like a firewall DROP between two servers), for testing
/// what a replica does when its source goes quiet without closing anything.
final class BlackholeProxy: Sendable {
    let listener: Channel
    let port: Int
    private let dropping = NIOLockedValueBox(false)

    var blackholed: Bool {
        get { dropping.withLockedValue { $0 } }
        set { dropping.withLockedValue { $0 = newValue } }
    }

    private init(listener: Channel, port: Int) {
        self.listener = listener
        self.port = port
    }

    static func start(to targetPort: Int) async throws -> BlackholeProxy {
        let box = NIOLockedValueBox<BlackholeProxy?>(nil)
        let listener = try await ServerBootstrap(group: testGroup)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.autoRead, value: true)
            .childChannelInitializer { inbound in
                guard let proxy = box.withLockedValue({ $0 }) else { return inbound.close() }
                return ClientBootstrap(group: inbound.eventLoop)
                    .channelInitializer { outbound in
                        outbound.pipeline.addHandler(Relay(peer: inbound, proxy: proxy))
                    }
                    .connect(host: "127.0.0.1", port: targetPort)
                    .flatMap { outbound in inbound.pipeline.addHandler(Relay(peer: outbound, proxy: proxy)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let proxy = BlackholeProxy(listener: listener, port: listener.localAddress?.port ?? 0)
        box.withLockedValue { $0 = proxy }
        return proxy
    }

    func close() async { try? await listener.close() }

    private final class Relay: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let peer: Channel
        let proxy: BlackholeProxy
        init(peer: Channel, proxy: BlackholeProxy) {
            self.peer = peer
            self.proxy = proxy
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if proxy.blackholed { return }
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }
        func channelInactive(context: ChannelHandlerContext) {
            if !proxy.blackholed { peer.close(promise: nil) }
        }
    }
}
