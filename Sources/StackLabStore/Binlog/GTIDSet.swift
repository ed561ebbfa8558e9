/// A set of GTIDs as MySQL prints it: `3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7`, sources joined by ",\n".
public struct GTIDSet: Sendable, Equatable, CustomStringConvertible {
    /// Per source UUID, sorted disjoint closed intervals.
    private(set) var intervals: [String: [ClosedRange<Int64>]] = [:]

    public init() {}

    public init?(parsing text: String) {
        // Gathered first and merged once per source: a set of many intervals (a replica's request, a data
        // directory's file) costs n log n, not n² as one insert at a time would.
        var gathered: [String: [ClosedRange<Int64>]] = [:]
        for part in text.split(whereSeparator: { $0 == "," || $0 == "\n" }) {
            let fields = part.trimmingCharacters(in: " ").split(separator: ":")
            guard let uuid = fields.first, fields.count >= 2 else {
                if part.trimmingCharacters(in: " ").isEmpty { continue }
                return nil
            }
            for r in fields.dropFirst() {
                let ends = r.split(separator: "-")
                guard let lo = ends.first.flatMap({ Int64($0) }), let hi = (ends.count > 1 ? Int64(ends[1]) : lo), lo >= 1, hi >= lo else { return nil }
                gathered[String(uuid).lowercased(), default: []].append(lo...hi)
            }
        }
        for (uuid, ranges) in gathered { intervals[uuid] = Self.merged(ranges) }
    }

    private static func merged(_ ranges: [ClosedRange<Int64>]) -> [ClosedRange<Int64>] {
        var merged: [ClosedRange<Int64>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    public var isEmpty: Bool { intervals.isEmpty }

    public func contains(uuid: String, gno: Int64) -> Bool {
        intervals[uuid.lowercased()]?.contains { $0.contains(gno) } ?? false
    }

    public mutating func insert(uuid: String, gno: Int64) { insert(range: gno...gno, uuid: uuid.lowercased()) }

    public mutating func formUnion(_ other: GTIDSet) {
        for (u, rs) in other.intervals { intervals[u] = Self.merged((intervals[u] ?? []) + rs) }
    }

    /// The next transaction number for a source: one past its highest; nil once 2^63 - 1 is taken (MySQL's
    /// MAX_GNO: the server then refuses every write with ER_GNO_EXHAUSTED).
    public func next(for uuid: String) -> Int64? {
        let (next, overflow) = (intervals[uuid.lowercased()]?.last?.upperBound ?? 0).addingReportingOverflow(1)
        return overflow ? nil : next
    }

    private mutating func insert(range: ClosedRange<Int64>, uuid: String) {
        intervals[uuid] = Self.merged((intervals[uuid] ?? []) + [range])
    }

    public var description: String {
        intervals.keys.sorted().map { u in
            u + ":" + (intervals[u] ?? []).map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ":")
        }.joined(separator: ",\n")
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}
