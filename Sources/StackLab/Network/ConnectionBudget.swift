import Atomics
import NIOConcurrencyHelpers
import NIOCore

/// How many connections one process of the lab may hold at once, and what happens to the next one — as the real
/// program does it, so one flooded process cannot take the descriptors every other process needs.
///
/// ```swift
/// let budget = ConnectionBudget(limit: 4096, policy: .pauseAccepting)   // HAProxy's maxconn
/// try await runtime.listen(host: "127.0.1.1", configuredPort: 8080, budgets: [budget]) { … }
/// ```
public final class ConnectionBudget: Sendable {
    public enum Policy: Sendable, Equatable {
        /// HAProxy's `maxconn`, gunicorn's sync workers: stop accepting; the next connections wait in the kernel's
        /// accept queue (its listen backlog) until a connection closes.
        case pauseAccepting
        /// nginx's `worker_connections`: accept, close the oldest idle keep-alive connections to make room
        /// ("reusing connections"); when none is idle, close the new connection at once.
        case reuseIdle
    }

    /// What the process logs when the budget runs out (nginx's `worker_connections are not enough`).
    public enum Event: Sendable, Equatable {
        /// Idle connections were closed to make room for new ones (logged at most once a second, as nginx does).
        case reusing
        /// Nothing could be closed: the new connection was refused.
        case exhausted
    }

    public let limit: Int
    public let policy: Policy
    private let onEvent: @Sendable (Event) -> Void
    private let state = NIOLockedValueBox(State())

    /// One admitted connection. Its idle mark changes twice a request and is kept in the entry itself, so marking
    /// only looks the entry up: a change through the dictionary (`entries[id]?.idleSince = …`) runs its modify
    /// accessor, whose frame the runtime allocates on every call.
    private final class Entry: Sendable {
        let channel: Channel
        /// Since when (uptime nanoseconds) the connection waits for a request with nothing received — nginx's
        /// "reusable" connections; 0 while it is reading or answering one.
        let idleSince = ManagedAtomic<UInt64>(0)

        init(channel: Channel) { self.channel = channel }

        var idleDeadline: NIODeadline? {
            let value = idleSince.load(ordering: .relaxed)
            return value == 0 ? nil : NIODeadline.uptimeNanoseconds(value)
        }
    }

    private struct State {
        var count = 0
        var entries: [ObjectIdentifier: Entry] = [:]
        /// Listeners paused because this budget was full.
        var waiting: [ObjectIdentifier: Listener] = [:]
        var lastReuseLog: NIODeadline?
    }

    public init(limit: Int, policy: Policy, onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.limit = max(1, limit)
        self.policy = policy
        self.onEvent = onEvent
    }

    /// Connections (and fixed slots such as nginx's listening sockets) held now.
    public var inUse: Int { state.withLockedValue { $0.count } }
    public var isFull: Bool { state.withLockedValue { $0.count >= limit } }

    /// Takes `n` slots that are never given back while the process runs (nginx counts each listening socket).
    func reserveFixed(_ n: Int) { state.withLockedValue { $0.count += n } }
    func releaseFixed(_ n: Int) { state.withLockedValue { $0.count = max(0, $0.count - n) } }

    /// Admits a connection the kernel handed over. `false`: refuse it (close it at once).
    /// With `.pauseAccepting` a connection is always admitted (the listener stops before the budget is over).
    func admit(_ channel: Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let (admitted, drained, event) = state.withLockedValue { state -> (Bool, [Channel], Event?) in
            var drained: [Channel] = []
            var event: Event?
            if state.count >= limit, policy == .reuseIdle {
                drained = drainIdle(&state)
                if drained.isEmpty {
                    return (false, [], .exhausted)
                }
                let now = NIODeadline.now()
                if state.lastReuseLog.map({ now - $0 >= .seconds(1) }) ?? true {
                    state.lastReuseLog = now
                    event = .reusing
                }
            }
            state.count += 1
            state.entries[id] = Entry(channel: channel)
            return (true, drained, event)
        }
        for old in drained { old.close(promise: nil) }
        if let event { onEvent(event) }
        if !admitted { onEvent(.exhausted) }
        return admitted
    }

    /// An outgoing connection (nginx to its upstream counts against worker_connections too). `false`: none is free.
    func admitOutgoing() -> Bool {
        let (admitted, drained) = state.withLockedValue { state -> (Bool, [Channel]) in
            var drained: [Channel] = []
            if state.count >= limit {
                guard policy == .reuseIdle else { return (false, []) }
                drained = drainIdle(&state)
                if drained.isEmpty { return (false, []) }
            }
            state.count += 1
            return (true, drained)
        }
        for old in drained { old.close(promise: nil) }
        if !admitted { onEvent(.exhausted) }
        return admitted
    }

    func releaseOutgoing() { release(nil) }

    /// nginx's ngx_drain_connections: the oldest idle ones, up to 32 and at least one.
    private func drainIdle(_ state: inout State) -> [Channel] {
        let idle = state.entries.compactMap { id, entry in entry.idleDeadline.map { (id, entry.channel, $0) } }.sorted { $0.2 < $1.2 }
        guard !idle.isEmpty else { return [] }
        let n = max(1, min(32, idle.count / 8))
        var drained: [Channel] = []
        for (id, channel, _) in idle.prefix(n) {
            state.entries[id] = nil
            state.count -= 1
            drained.append(channel)
        }
        return drained
    }

    /// The connection closed: its slot is free again (a drained connection's slot was freed when it was drained).
    func release(_ channel: Channel?) {
        let waiting = state.withLockedValue { state -> [Listener] in
            if let channel {
                guard state.entries.removeValue(forKey: ObjectIdentifier(channel)) != nil else { return [] }
            }
            state.count = max(0, state.count - 1)
            guard state.count < limit, !state.waiting.isEmpty else { return [] }
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for listener in waiting { listener.resumeAccepting() }
    }

    /// The connection waits for a request with nothing received (true) or is reading or answering one (false).
    public func setIdle(_ channel: Channel, _ idle: Bool) {
        let id = ObjectIdentifier(channel)
        guard let entry = state.withLockedValue({ $0.entries[id] }) else { return }
        if idle {
            // The first moment it went idle counts (max(1, …): 0 means not idle).
            let now = max(1, NIODeadline.now().uptimeNanoseconds)
            _ = entry.idleSince.compareExchange(expected: 0, desired: now, ordering: .relaxed)
        } else {
            entry.idleSince.store(0, ordering: .relaxed)
        }
    }

    /// Records a listener to resume when a slot frees; returns false when a slot is already free (do not pause).
    /// A listener paused by a budget with something to say (HAProxy out of descriptors) says it, once a second.
    func wait(_ listener: Listener) -> Bool {
        let (full, report) = state.withLockedValue { state -> (Bool, Bool) in
            guard state.count >= limit else { return (false, false) }
            state.waiting[ObjectIdentifier(listener)] = listener
            let now = NIODeadline.now()
            guard state.lastReuseLog.map({ now - $0 >= .seconds(1) }) ?? true else { return (true, false) }
            state.lastReuseLog = now
            return (true, true)
        }
        if report { onEvent(.exhausted) }
        return full
    }

    func forget(_ listener: Listener) {
        _ = state.withLockedValue { $0.waiting.removeValue(forKey: ObjectIdentifier(listener)) }
    }
}
