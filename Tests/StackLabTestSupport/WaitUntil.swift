import Foundation

/// Waits for an event — a state change, a log line — by polling it, with a generous deadline: the CI machine is
/// small and shared, so tests never sleep a fixed time. A condition that throws counts as "not yet" until the
/// deadline; the last try's error, if any, is the one reported.
///
/// `nonisolated(nonsending)`: the condition runs on the caller's actor, so a `@MainActor` test can poll its shell.
nonisolated(nonsending)
public func waitUntil(timeout: Double = 30, _ what: String = "condition", _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    if try await condition() { return }
    throw WaitTimeout(what: what)
}

/// A condition that did not come true in time.
public struct WaitTimeout: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}
