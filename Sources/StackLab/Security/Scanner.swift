import Foundation
import NIOCore
import NIOPosix

/// A port's state as nmap names it: `open` (it accepted), `closed` (refused at once), `filtered` (no answer).
public enum PortState: String, Sendable, Equatable {
    case open, closed, filtered
}

public struct ScanResult: Sendable, Equatable {
    /// The configured port (what the lab's files and ufw rules name).
    public var port: Int
    /// The real port probed (after the lab's port plan).
    public var realPort: Int
    public var state: PortState
    public var service: String
}

/// A simple nmap-like TCP connect scan from the internet side (127.0.0.1): each port is probed at once, in
/// parallel; a port that does not answer within the probe timeout is `filtered`.
///
/// The firewall of the scanned server is consulted first, as the kernel would: a dropped port is `filtered`
/// (it would time out), a rejected one `closed`. That also covers ports nobody listens on, which the kernel filter
/// (attached to listening sockets only) cannot see.
public enum Scanner {
    /// nmap's names for the ports a web stack uses (nmap-services).
    public static let services: [Int: String] = [
        21: "ftp", 22: "ssh", 25: "smtp", 53: "domain", 80: "http", 443: "https", 3306: "mysql", 5432: "postgresql",
        6379: "redis", 8000: "http-alt", 8080: "http-proxy", 8405: "svbackup", 8443: "https-alt", 9090: "zeus-admin",
        9093: "copycat", 9100: "jetdirect", 9101: "jetdirect", 9102: "jetdirect", 9103: "jetdirect", 9104: "jetdirect",
    ]

    /// What `scan` probes when no ports are named: common ports plus every port a process of the lab listens on.
    public static func defaultPorts(in lab: Lab) -> [Int] {
        let common = [22, 80, 443, 3306, 8000, 8080, 8443]
        let listening = lab.processes.flatMap { $0.runtime.listeners.map(\.configuredPort) }
        return Array(Set(common + listening)).sorted()
    }

    /// Parses `22,80,8000-8100` (nmap's -p syntax).
    public static func ports(_ text: String) -> [Int]? {
        var ports: [Int] = []
        for item in text.split(separator: ",") {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = bounds.last.flatMap({ Int($0) }), 1 <= low, low <= high,
                  high <= 65535, ports.count + (high - low) < 4096 else {
                return nil
            }
            ports += Array(low...high)
        }
        guard !ports.isEmpty else { return nil }
        return Array(Set(ports)).sorted()
    }

    /// Scans `address` (a lab server's address) on the configured `ports` from 127.0.0.1.
    public static func scan(_ lab: Lab, address: String, ports: [Int], timeoutMilliseconds: Int = 1500) async -> [ScanResult] {
        let network = lab.network
        return await withTaskGroup(of: ScanResult.self) { group in
            for port in ports {
                group.addTask {
                    let real = network.port(port)
                    let service = services[port] ?? "unknown"
                    switch network.security.verdict(fromServer: "internet", sourceAddress: LabNetwork.internetAddress, toAddress: address,
                                                    configuredPort: port, record: true) {
                    case .drop?:
                        // The SYN is dropped: nmap waits, then calls it filtered.
                        try? await Task.sleep(nanoseconds: UInt64(timeoutMilliseconds) * 1_000_000)
                        return ScanResult(port: port, realPort: real, state: .filtered, service: service)
                    case .reject?:
                        return ScanResult(port: port, realPort: real, state: .closed, service: service)
                    case .allow?, nil:
                        break
                    }
                    let state = await probe(group: lab.group, host: address, port: real, timeoutMilliseconds: timeoutMilliseconds)
                    return ScanResult(port: port, realPort: real, state: state, service: service)
                }
            }
            var results: [ScanResult] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.port < $1.port }
        }
    }

    /// One connect probe from 127.0.0.1; the connection is closed as soon as it opens (nmap -sT).
    static func probe(group: EventLoopGroup, host: String, port: Int, timeoutMilliseconds: Int) async -> PortState {
        // Past 65535 (a port moved by a large --port-base) there is no port to connect to.
        guard (1...65535).contains(port) else { return .closed }
        var bootstrap = ClientBootstrap(group: group).connectTimeout(.milliseconds(Int64(timeoutMilliseconds)))
        if let source = try? SocketAddress(ipAddress: LabNetwork.internetAddress, port: 0) { bootstrap = bootstrap.bind(to: source) }
        do {
            let address = try SocketAddress(ipAddress: host, port: port)
            let channel = try await bootstrap.connect(to: address).get()
            try? await channel.close()
            return .open
        } catch {
            switch DialError.classify(error) {
            case .refused: return .closed
            case .timedOut: return .filtered
            case .other: return .closed
            }
        }
    }

    /// nmap's table: `PORT     STATE    SERVICE`.
    public static func render(_ results: [ScanResult], showRealPorts: Bool = false) -> String {
        let portWidth = max(8, (results.map { "\($0.port)/tcp".count }.max() ?? 0) + 1)
        func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(1, width - s.count)) }
        var text = pad("PORT", portWidth) + pad("STATE", 9) + "SERVICE" + (showRealPorts ? "      REAL PORT" : "") + "\n"
        for result in results {
            text += pad("\(result.port)/tcp", portWidth) + pad(result.state.rawValue, 9)
                + (showRealPorts ? pad(result.service, 13) + "\(result.realPort)" : result.service) + "\n"
        }
        return text
    }
}
