/// Runs work that does not itself listen to cancellation (a NIO future) so that Ctrl-C returns at once; the abandoned
/// work finishes on its own in the background (its own timeout bounds it).
func cancellable<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let slot = LockedBox<CheckedContinuation<T, any Error>?>(nil)
    @Sendable func take() -> CheckedContinuation<T, any Error>? {
        slot.withValue { value in
            defer { value = nil }
            return value
        }
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            slot.withValue { $0 = continuation }
            if Task.isCancelled {
                take()?.resume(throwing: CancellationError())
                return
            }
            Task {
                do {
                    let value = try await work()
                    take()?.resume(returning: value)
                } catch {
                    take()?.resume(throwing: error)
                }
            }
        }
    } onCancel: {
        take()?.resume(throwing: CancellationError())
    }
}
