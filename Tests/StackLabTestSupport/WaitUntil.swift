import Foundation

/// Waits for an event — a state change, a log line — by polling it, with a generous deadline: the CI machine is
/// small and shared, so tests never sleep a fixed time. The default deadline is 90 s: on a machine shared with other
/// work an event that takes a second alone can take over thirty. A condition that throws counts as "not yet" until
/// the deadline; the last try's error, if any, is the one reported.
///
/// `nonisolated(nonsending)`: the condition runs on the caller's actor, so a `@MainActor` test can poll its shell.
/// `every`: seconds between tries (more for a condition that costs a process, such as reading a tmux pane).
nonisolated(nonsending)
public func waitUntil(timeout: Double = 90, every interval: Double = 0.02, _ what: String = "condition",
                      _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    let pause = UInt64(max(0.001, interval) * 1_000_000_000)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(nanoseconds: pause)
    }
    if try await condition() { return }
    throw WaitTimeout(what: what)
}

/// `waitUntil` for code that cannot await (a server started once for the whole run): blocks its thread, so call it
/// on a thread of its own or a Dispatch thread, never on the tests' cooperative pool. True when the condition came
/// true before the deadline.
@available(*, noasync, message: "blocks its thread; use waitUntil from async code")
public func waitUntilBlocking(timeout: Double, every interval: Double = 0.2, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return condition()
}

/// A condition that did not come true in time.
public struct WaitTimeout: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}
