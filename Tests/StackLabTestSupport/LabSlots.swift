import Foundation
import Testing

/// How many tests that run labs, servers or real tools go at once. Without a bound, Swift Testing starts every such
/// test of every suite in the same second — sixty labs on two cores — and each one's first minute runs at a
/// fraction of its speed: a timeout of a few seconds in one test is then lost to the others' start-up. With a
/// bound, the labs that run have the machine, and the rest wait their turn, suspended.
///
/// `STACKLAB_TEST_LABS` sets the number (default: 3 per core, at least 6).
public actor LabSlots {
    public static let shared = LabSlots(width: LabSlots.configuredWidth)

    static var configuredWidth: Int {
        if let text = ProcessInfo.processInfo.environment["STACKLAB_TEST_LABS"], let width = Int(text), width > 0 { return width }
        return max(6, 3 * ProcessInfo.processInfo.activeProcessorCount)
    }

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) { free = width }

    /// Waits for a slot, first come first served.
    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Gives the slot to the test that has waited longest, or back to the pool.
    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }

    /// Whether the running task already holds a slot (a suite inside a suite that both ask for one).
    @TaskLocal static var holding = false

    /// Runs `body` in a slot (in the caller's, when it holds one already).
    public nonisolated func withSlot(_ body: @Sendable () async throws -> Void) async throws {
        if Self.holding { return try await body() }
        await acquire()
        do { try await Self.$holding.withValue(true) { try await body() } } catch {
            await release()
            throw error
        }
        await release()
    }
}

/// `@Suite(.runsALab)`: each test of the suite (each case of a parameterized one) runs in a `LabSlots` slot.
public struct RunsALab: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> RunsALab? {
        testCase == nil ? nil : self   // a slot per test case, none for the suite around them
    }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await LabSlots.shared.withSlot(function)
    }
}

extension Trait where Self == RunsALab {
    /// The test starts a lab, a server, a terminal or a real tool: it waits for one of `LabSlots`'s slots.
    public static var runsALab: Self { RunsALab() }
}
