import Foundation

extension Lab {
    /// Starts a tap on a hop (`internet>lb-01`, `lb-01>web-01`, `web-01>web-01/mysql`) or a process (`web-01/mysql`).
    ///
    /// ```swift
    /// let tap = try lab.tap("internet>lb-01")
    /// defer { tap.stop() }
    /// for await message in tap.messages { print(message) }
    /// ```
    public func tap(_ hop: String) throws(TargetError) -> Tap {
        let selector = try TapSelector.parse(hop, in: topology)
        let listeners = processes.flatMap { $0.runtime.listeners }
        return network.security.startTap(selector, listeners: listeners, network: network)
    }

    /// A server's firewall (every server has one; it is inactive until enabled, as ufw ships).
    public func firewall(_ server: String) throws(TargetError) -> Firewall {
        guard case .server(let name) = try target(server) else {
            throw TargetError(message: "a firewall belongs to a whole server: write \(server.split(separator: "/").first ?? "web-01")")
        }
        guard let firewall = network.security.firewall(for: name) else { throw TargetError(message: "\(name) has no firewall") }
        return firewall
    }

    /// The TLS files the lab minted when it started (empty when they already existed).
    public var mintedTLS: [TLSMaterial.Minted] { mintedTLSFiles.withLockedValue { $0 } }

    /// Where the lab terminates TLS, as `host:port` with real ports (binds with `ssl crt`, nginx `listen … ssl`).
    public var tlsAddresses: [(server: String, address: String)] {
        var list: [(String, String)] = []
        for balancer in balancers {
            for bind in balancer.config.frontends.flatMap(\.binds) where bind.certificateFile != nil {
                list.append((balancer.serverName, "\(bind.host):\(network.port(bind.port))"))
            }
        }
        for case let web as WebServer in processes {
            for listen in web.config.servers.flatMap(\.listens) where listen.ssl {
                list.append((web.serverName, "\(listen.host):\(network.port(listen.port))"))
            }
        }
        return list
    }
}
