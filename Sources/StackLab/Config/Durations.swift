/// Time values as the real tools write them.
public enum Durations {
    /// HAProxy time format: a number with an optional unit `us`, `ms`, `s`, `m`, `h`, `d`; no unit means milliseconds.
    /// Returns milliseconds (microseconds are rounded up to 1 ms).
    public static func haproxy(_ text: String) -> Int? {
        parse(text, units: ["us": 0.001, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000], defaultUnit: 1)
    }

    /// nginx time format: `60s`, `500ms`, `1m`, `1h30m`, a bare number means seconds. Returns milliseconds.
    public static func nginx(_ text: String) -> Int? {
        // nginx allows several parts ("1m30s"); each part is a number and a unit.
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
                                         ("w", 604_800_000), ("M", 2_592_000_000), ("y", 31_536_000_000)]
        if let n = Int(text), n >= 0 { return n * 1000 }
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return total > Double(Int32.max) ? nil : Int(total)
    }

    private static func parse(_ text: String, units: [String: Double], defaultUnit: Double) -> Int? {
        let digits = text.prefix { $0.isNumber }
        guard !digits.isEmpty, let value = Double(digits) else { return nil }
        let unitText = String(text.dropFirst(digits.count))
        let factor: Double
        if unitText.isEmpty { factor = defaultUnit } else if let f = units[unitText] { factor = f } else { return nil }
        let ms = value * factor
        guard ms <= Double(Int32.max) else { return nil }
        return ms > 0 && ms < 1 ? 1 : Int(ms)
    }
}
