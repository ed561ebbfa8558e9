import Foundation
import NIOConcurrencyHelpers

/// Port offsets for the grader's labs: 16068, 16168, … 23568 (a multiple of 100, plus 68: the project's port plan,
/// `Tests/StackLabTests/Support/TestLabs.swift`).
///
/// The other suites and a learner's own lab use offsets that are multiples of 100 or of 100 plus 50, and a lab uses
/// the ports 3306, 8000, 8080, 8405, 8443, 9090, 9102, 9104 and 9113 plus its offset. Two labs collide only when
/// two of those ports differ by exactly the difference of the offsets; with offsets ending in 68 against
/// offsets ending in 00 or 50 that never happens (with 25 it would: 8405 + 16025 = 8080 + 16350), which
/// `GradingPortsTests` checks by brute force. The top stays below Linux's ephemeral ports (32768 and up): a lab's
/// outgoing connections take their source port from there, on the same loopback addresses its servers listen on.
public enum GradingPorts {
    public static let first = 16_068
    public static let last = 23_568
    private static let next = NIOLockedValueBox(first + (Int(getpid()) % 40) * 100)

    /// The next offset, round the range.
    public static func offset() -> Int {
        next.withLockedValue { value in
            let chosen = value
            value += 100
            if value > last { value = first }
            return chosen
        }
    }
}
