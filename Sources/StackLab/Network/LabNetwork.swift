import Atomics
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers

/// The wires between the lab's servers: who owns which loopback address, the port plan, and partitions.
///
/// Every server has its own address in 127.0.0.0/8; the internet side (curl, the shell) is 127.0.0.1.
public final class LabNetwork: Sendable {
    /// The address clients "on the internet" use (the shell's curl, load, scan).
    public static let internetAddress = "127.0.0.1"

    /// The threads of the internet side (curl, load, scan, the graders' requests): a client machine of its own,
    /// whose threads outlive any one lab. A load running in the background meets `reset` or `lab load` as wrk meets
    /// servers that restart — its connections close and it connects again — instead of asking threads that are gone.
    public static var internetThreads: any EventLoopGroup { MultiThreadedEventLoopGroup.singleton }

    /// Added to every port of the lab (`--port-base`), so two labs, or a lab and a test, can run side by side.
    public let portOffset: Int
    private let serversByAddress: [String: String]
    private let partitions = NIOLockedValueBox<Set<Pair>>([])
    private let partitionCount = ManagedAtomic<Int>(0)
    /// Firewalls and taps.
    public let security = NetworkSecurity()

    private struct Pair: Hashable {
        let a: String, b: String
        init(_ x: String, _ y: String) { (a, b) = x < y ? (x, y) : (y, x) }
    }

    public init(servers: [(name: String, address: String)], portOffset: Int = 0) {
        self.portOffset = portOffset
        var map: [String: String] = [:]
        for server in servers { map[server.address] = server.name }
        self.serversByAddress = map
    }

    /// How many servers share this machine's descriptors (each gets an equal share as its `ulimit -n`).
    public var serverCount: Int { max(1, serversByAddress.count) }

    /// The port a configured port really uses. It may lie outside 1…65535 with a large `--port-base`: Lab.start
    /// refuses such a plan (`checkPortPlan`), listeners and dialers refuse such a port, rather than wrap it round.
    public func port(_ configured: Int) -> Int { configured &+ portOffset }

    /// The configured port behind a real one (for log lines and messages that show config values).
    public func configuredPort(_ real: Int) -> Int { real &- portOffset }

    /// The server that owns an address, "internet" for 127.0.0.1, nil for anything else.
    public func serverName(forAddress address: String) -> String? {
        if let name = serversByAddress[address] { return name }
        return address == Self.internetAddress ? "internet" : nil
    }

    public func partition(_ a: String, _ b: String) {
        partitions.withLockedValue { set in
            set.insert(Pair(a, b))
            partitionCount.store(set.count, ordering: .releasing)
        }
    }

    public func heal(_ a: String, _ b: String) {
        partitions.withLockedValue { set in
            set.remove(Pair(a, b))
            partitionCount.store(set.count, ordering: .releasing)
        }
    }

    public func healAll() {
        partitions.withLockedValue { set in
            set.removeAll()
            partitionCount.store(0, ordering: .releasing)
        }
    }

    public var activePartitions: [(String, String)] {
        partitions.withLockedValue { set in set.map { ($0.a, $0.b) }.sorted { "\($0.0)\($0.1)" < "\($1.0)\($1.1)" } }
    }

    /// Whether traffic between two servers is cut. Cheap when there is no partition at all (the common case).
    public func isPartitioned(_ a: String?, _ b: String?) -> Bool {
        guard partitionCount.load(ordering: .acquiring) > 0, let a, let b, a != b else { return false }
        return partitions.withLockedValue { $0.contains(Pair(a, b)) }
    }
}

/// A configured port moved by `--port-base` out of the ports TCP has (1…65535).
public struct PortPlanError: Error, Sendable, Equatable, CustomStringConvertible {
    public var configured: Int
    public var offset: Int
    /// Where the port comes from (`lb-01/haproxy.cfg:12`, `web-01's nginx metrics`), empty when unknown.
    public var what: String
    /// The largest base with which every port of the lab fits, when known.
    public var largestBase: Int?

    public init(configured: Int, offset: Int, what: String = "", largestBase: Int? = nil) {
        self.configured = configured
        self.offset = offset
        self.what = what
        self.largestBase = largestBase
    }

    public var description: String {
        let source = what.isEmpty ? "" : " (\(what))"
        let real = configured &+ offset
        let fix = largestBase.map { $0 >= 0 ? ": use a --port-base of at most \($0)" : "" } ?? ""
        return "port \(configured)\(source) with --port-base \(offset) is \(real), outside the TCP ports 1 to 65535\(fix)"
    }
}
