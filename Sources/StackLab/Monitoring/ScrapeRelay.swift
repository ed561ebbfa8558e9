import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Where a real Prometheus beside a firewalled lab scrapes from: a plain HTTP proxy on the monitor's address
/// (`127.0.1.20:3128`, moved by the port plan). The hardened lab's ufw rules let only the monitor (127.0.1.20) reach
/// the exporters; a Prometheus run on this machine connects from 127.0.0.1, the lab's internet, which those rules
/// keep out. So in a lab with a firewall on, the written prometheus.yml sends each scrape through this proxy
/// (`proxy_url`), and the scrape reaches the exporter from the monitor's address — as it would from a Prometheus
/// running on the monitor server. It relays `GET` of the lab's metrics targets only; anything else is refused.
final class ScrapeRelay: Sendable {
    static let configuredPort = 3128

    let address: String
    let port: Int
    private let listener: Listener

    private init(address: String, port: Int, listener: Listener) {
        self.address = address
        self.port = port
        self.listener = listener
    }

    /// `http://127.0.1.20:3128` (the real port), for prometheus.yml's `proxy_url`.
    var url: String { "http://\(address):\(port)" }

    static func start(lab: Lab) async throws -> ScrapeRelay {
        let address = Monitor.defaultAddress
        let port = lab.network.port(configuredPort)
        let client = HTTPClient(dialer: Dialer(network: lab.network, fromServer: Monitor.serverName, sourceAddress: address), group: lab.group)
        let responder = ScrapeRelayResponder(targets: lab.metricsTargets, client: client)
        let listener = Listener(host: address, port: port, serverName: Monitor.serverName, group: lab.group, network: lab.network,
                                faults: FaultSwitch()) { channel in
            HTTPServerHandler.install(on: channel, responder: responder, serverHeader: nil)
        }
        try await listener.start()
        return ScrapeRelay(address: address, port: port, listener: listener)
    }

    func stop() async { await listener.crash() }
}

private struct ScrapeRelayResponder: HTTPResponder {
    let targets: [MetricsTarget]
    let client: HTTPClient

    /// A proxy request names the whole URL: `GET http://127.0.1.11:9113/metrics HTTP/1.1`.
    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse> {
        let loop = request.eventLoop
        let uri = request.head.uri
        guard request.head.method == .GET, uri.hasPrefix("http://") else {
            return loop.makeSucceededFuture(Self.refusal(.methodNotAllowed, "the lab's scrape relay takes GET http://TARGET/metrics only\n"))
        }
        let rest = uri.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        guard let target = targets.first(where: { $0.address == authority }), path.hasPrefix("/metrics") else {
            return loop.makeSucceededFuture(Self.refusal(.forbidden, "\(authority) is not one of the lab's metrics targets\n"))
        }
        let client = self.client
        let promise = loop.makePromise(of: ServerResponse.self)
        promise.completeWithTask {
            do {
                let answer = try await client.request(host: target.host, port: target.port, path: String(path), timeout: 10)
                var headers = HTTPHeaders()
                if let type = answer.header("Content-Type") { headers.add(name: "Content-Type", value: type) }
                return ServerResponse(status: .custom(code: UInt(max(100, min(599, answer.status))), reasonPhrase: answer.reason),
                                      headers: headers, body: ByteBuffer(string: answer.body))
            } catch {
                return Self.refusal(.badGateway, "\(target.instance) did not answer from the monitor's address: \(error)\n")
            }
        }
        return promise.futureResult
    }

    static func refusal(_ status: HTTPResponseStatus, _ text: String) -> ServerResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        return ServerResponse(status: status, headers: headers, body: ByteBuffer(string: text))
    }
}
