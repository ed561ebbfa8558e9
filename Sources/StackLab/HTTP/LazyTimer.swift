import NIOCore

/// One timeout of a connection, moved lazily: `target` says when it is due (on the event loop's clock, so an
/// EmbeddedEventLoop's in tests), and one scheduled task looks then. Moving the target later leaves the task alone —
/// it finds the new target when it fires and schedules itself again — so a keep-alive connection schedules about one
/// task per timeout instead of a schedule and a cancel on every request (NIO keeps scheduled tasks in a locked heap,
/// and a cancel searches it). Its owner runs on one event loop.
struct LazyTimer {
    var target: NIODeadline?
    private(set) var task: Scheduled<Void>?
    private(set) var due: NIODeadline?

    /// Sets the target; true when a task must be scheduled for it (none is due by then; a later one is cancelled).
    mutating func move(to target: NIODeadline?) -> Bool {
        self.target = target
        guard let target else { return false }
        if let due, due <= target { return false }
        cancelTask()
        return true
    }

    mutating func scheduled(_ task: Scheduled<Void>, due: NIODeadline) {
        self.task = task
        self.due = due
    }

    /// The task ran: nothing to cancel any more.
    mutating func fired() {
        task = nil
        due = nil
    }

    mutating func cancelTask() {
        task?.cancel()
        task = nil
        due = nil
    }

    mutating func cancel() {
        cancelTask()
        target = nil
    }
}

