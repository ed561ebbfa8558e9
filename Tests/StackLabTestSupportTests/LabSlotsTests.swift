import NIOConcurrencyHelpers
import Testing
@testable import StackLabTestSupport

@Suite struct LabSlotsTests {
    /// Twenty bodies through three slots: never more than three at once, every one runs, and a body that holds a
    /// slot already runs a nested one in it (no second slot, so no deadlock).
    @Test func noMoreThanTheWidthRunAtOnceAndEveryBodyRuns() async throws {
        let slots = LabSlots(width: 3)
        let counts = NIOLockedValueBox((now: 0, most: 0, done: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await slots.withSlot {
                        counts.withLockedValue { $0.now += 1; $0.most = max($0.most, $0.now) }
                        try await Task.sleep(nanoseconds: 5_000_000)
                        try await slots.withSlot { counts.withLockedValue { $0.done += 1 } }
                        counts.withLockedValue { $0.now -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        let result = counts.withLockedValue { $0 }
        #expect(result.most == 3)
        #expect(result.done == 20)
        #expect(result.now == 0)
    }

    @Test(.timeLimit(.minutes(1))) func aBodyThatThrowsGivesItsSlotBack() async throws {
        let slots = LabSlots(width: 1)
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await slots.withSlot { throw Failure() } }
        try await slots.withSlot {}   // would wait forever if the slot were lost
    }
}
