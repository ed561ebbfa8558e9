/// Chooses the server for a request: HAProxy's `balance roundrobin` (weighted, in declaration order for equal
/// weights), `leastconn` and `source`; backup servers only when no active server is usable.
public struct ServerPicker: Sendable {
    public struct Candidate: Sendable {
        public var index: Int
        public var weight: Int
        public var backup: Bool
        public var usable: Bool
        public var activeConnections: Int
        public init(index: Int, weight: Int, backup: Bool, usable: Bool, activeConnections: Int = 0) {
            self.index = index
            self.weight = weight
            self.backup = backup
            self.usable = usable
            self.activeConnections = activeConnections
        }
    }

    public let balance: HAProxyConfig.Balance
    private var current: [Int]

    public init(balance: HAProxyConfig.Balance, serverCount: Int) {
        self.balance = balance
        self.current = Array(repeating: 0, count: serverCount)
    }

    /// The index of the chosen server, or nil when none is usable (HAProxy's `<NOSRV>`).
    public mutating func pick(_ candidates: [Candidate], excluding: Set<Int> = [], clientAddress: String = "") -> Int? {
        var pool = candidates.filter { $0.usable && !$0.backup && $0.weight > 0 && !excluding.contains($0.index) }
        if pool.isEmpty {
            // HAProxy uses the first usable backup server (without `option allbackups`).
            if let backup = candidates.first(where: { $0.usable && $0.backup && $0.weight > 0 && !excluding.contains($0.index) }) {
                pool = [backup]
            }
        }
        guard !pool.isEmpty else { return nil }
        switch balance {
        case .roundrobin:
            return smoothWeighted(pool)
        case .leastconn:
            let fewest = pool.map(\.activeConnections).min() ?? 0
            return smoothWeighted(pool.filter { $0.activeConnections == fewest })
        case .source:
            // A stable hash of the client's address over the total weight, so one client keeps its server.
            var hash: UInt32 = 2_166_136_261
            for byte in clientAddress.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            let total = pool.reduce(0) { $0 + Self.bounded($1.weight) }
            var slot = Int(UInt64(hash) % UInt64(max(1, total)))
            for candidate in pool {
                if slot < Self.bounded(candidate.weight) { return candidate.index }
                slot -= Self.bounded(candidate.weight)
            }
            return pool.last?.index
        }
    }

    /// nginx takes any weight; past a million the ratio is the same to a learner, and sums of weights stay far from
    /// overflowing.
    static func bounded(_ weight: Int) -> Int { min(max(0, weight), 1_000_000) }

    /// Smooth weighted round robin: with weights 2:1 the order is A, B, A, A, B, A …; with equal weights the servers
    /// take turns in the order they are declared.
    private mutating func smoothWeighted(_ pool: [Candidate]) -> Int? {
        let total = pool.reduce(0) { $0 + Self.bounded($1.weight) }
        var best: Candidate?
        for candidate in pool where candidate.index < current.count {
            current[candidate.index] += Self.bounded(candidate.weight)
            if best == nil || current[candidate.index] > current[best!.index] { best = candidate }
        }
        guard let chosen = best else { return nil }
        current[chosen.index] -= total
        return chosen.index
    }
}
