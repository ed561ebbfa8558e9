import Foundation

/// A deterministic generator, so a failure can be replayed from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// How long a fuzz test runs and from which seed.
///
/// In `make test` every fuzz test runs a few seconds from its own fixed seed, so a run is the same each time.
/// `make fuzz` sets `STACKLAB_FUZZ_SECONDS` (minutes of work) and `STACKLAB_FUZZ_SEED` (a new seed, printed), so a
/// failure found there is replayed with `STACKLAB_FUZZ_SEED=N make fuzz`.
public struct FuzzBudget: Sendable {
    public let name: String
    public let seed: UInt64
    public let seconds: Double
    /// The most cases, whatever the time: keeps `make test` bounded on a fast machine too.
    public let maxCases: Int
    private let started = Date()

    public init(_ name: String, seed fixedSeed: UInt64, seconds fixedSeconds: Double = 3, maxCases fixedMax: Int = 5_000,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.name = name
        if let text = environment["STACKLAB_FUZZ_SECONDS"], let seconds = Double(text), seconds > 0 {
            self.seconds = seconds
            self.maxCases = Int.max
        } else {
            self.seconds = fixedSeconds
            self.maxCases = fixedMax
        }
        // Each test mixes its own fixed seed in, so one STACKLAB_FUZZ_SEED gives every test a different stream.
        if let text = environment["STACKLAB_FUZZ_SEED"], let seed = UInt64(text) {
            self.seed = seed ^ fixedSeed
        } else {
            self.seed = fixedSeed
        }
    }

    public func generator() -> SplitMix64 { SplitMix64(state: seed) }

    /// Whether another case fits the budget.
    public func more(after cases: Int) -> Bool { cases < maxCases && Date().timeIntervalSince(started) < seconds }

    /// One line for the log: what ran, so a failure names its seed.
    public func summary(cases: Int) -> String {
        let elapsed = String(format: "%.1f", Date().timeIntervalSince(started))
        return "fuzz \(name): \(cases) cases in \(elapsed) s, seed \(seed) (replay: STACKLAB_FUZZ_SEED=… make fuzz, or this seed as the fixed one)"
    }
}

extension RandomNumberGenerator {
    /// A number at the edges more often than in the middle: 0, ±1, 2^31, 2^63−1, 2^64 …, as text.
    public mutating func edgeNumber() -> String {
        let edges = ["0", "-0", "1", "-1", "127", "128", "255", "256", "65535", "65536", "2147483647", "2147483648", "-2147483648",
                     "-2147483649", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                     "-9223372036854775809", "18446744073709551615", "18446744073709551616", "99999999999999999999999999",
                     "1e308", "1e309", "-1e309", "0.0000000001", "1.5", "NaN", "0x7fffffffffffffff",
                     "0.1", "1.50", "-0.0", "2.5e-5", "1e-400", "1E+15", "99999999999999999999999999999999999999",
                     "99999999999999999999999999999999999999.5", "0." + String(repeating: "0", count: 29) + "1",
                     "0." + String(repeating: "9", count: 40), String(repeating: "9", count: 66) + ".9"]
        if Int.random(in: 0..<4, using: &self) == 0 { return String(Int64.random(in: Int64.min...Int64.max, using: &self)) }
        return edges.randomElement(using: &self) ?? "0"
    }

    /// Bytes that are not UTF-8, control characters, long runs: the strings parsers meet least often.
    public mutating func oddBytes() -> [UInt8] {
        switch Int.random(in: 0..<6, using: &self) {
        case 0: return [0xE9]                                  // Latin-1 é
        case 1: return [0xC3]                                  // a cut UTF-8 sequence
        case 2: return [0xFF, 0xFE]
        case 3: return [0x00]
        case 4: return Array(repeating: UInt8(ascii: "A"), count: Int.random(in: 1_000...70_000, using: &self))
        default: return (0..<Int.random(in: 1...16, using: &self)).map { _ in UInt8.random(in: 0...255, using: &self) }
        }
    }
}
