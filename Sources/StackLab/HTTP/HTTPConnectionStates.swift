import Atomics

/// How many of a process's client connections are reading a request head and how many are working on a request
/// (its body, the answer), counted as nginx's stub_status counts them: a connection is *reading* from the first byte
/// of a request until its head is in, *writing* from then until its answer is written (the body read in between),
/// and *waiting* otherwise — idle, before its first byte or between kept-alive requests. Waiting is what is left of
/// the open connections: `active - (reading + writing)`, as ngx_http_stub_status_module works it out.
public final class HTTPConnectionStates: Sendable {
    public enum Phase: Sendable { case waiting, reading, writing }

    private let readingCount = ManagedAtomic<Int>(0)
    private let writingCount = ManagedAtomic<Int>(0)

    public init() {}

    public var reading: Int { max(0, readingCount.load(ordering: .relaxed)) }
    public var writing: Int { max(0, writingCount.load(ordering: .relaxed)) }

    /// The waiting connections out of `active` open ones.
    public func waiting(active: Int) -> Int { max(0, active - reading - writing) }

    /// A connection moved from one phase to another (nil: opened, or closed).
    func move(from old: Phase?, to new: Phase?) {
        guard old != new else { return }
        switch old {
        case .reading: readingCount.wrappingDecrement(ordering: .relaxed)
        case .writing: writingCount.wrappingDecrement(ordering: .relaxed)
        case .waiting, nil: break
        }
        switch new {
        case .reading: readingCount.wrappingIncrement(ordering: .relaxed)
        case .writing: writingCount.wrappingIncrement(ordering: .relaxed)
        case .waiting, nil: break
        }
    }
}
