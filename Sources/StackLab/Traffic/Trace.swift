import Atomics
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// W3C Trace Context: `traceparent: 00-<trace-id>-<parent-id>-01`. Each hop keeps the trace id and makes a new span id.
public struct TraceContext: Sendable, Equatable {
    public var traceID: String
    public var spanID: String

    public init(traceID: String, spanID: String) {
        self.traceID = traceID
        self.spanID = spanID
    }

    public static func new() -> TraceContext { TraceContext(traceID: randomHex(16), spanID: randomHex(8)) }

    /// Parses a `traceparent` header; nil when absent or malformed (then a hop starts a new trace, as the spec says).
    public init?(traceparent: String?) {
        // 00-<32 hex>-<16 hex>-<2 hex>: 55 bytes, checked in place (every hop of every request parses one).
        guard var traceparent else { return nil }
        let ids: (String, String)? = traceparent.withUTF8 { bytes in
            guard bytes.count == 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-") else {
                return nil
            }
            func isHex(_ byte: UInt8) -> Bool {
                (48...57).contains(byte) || (97...102).contains(byte) || (65...70).contains(byte)
            }
            let trace = UnsafeBufferPointer(rebasing: bytes[3..<35])
            let span = UnsafeBufferPointer(rebasing: bytes[36..<52])
            guard trace.allSatisfy(isHex), span.allSatisfy(isHex), trace.contains(where: { $0 != 48 }) else { return nil }
            return (Self.lowercasedHex(trace), Self.lowercasedHex(span))
        }
        guard let ids else { return nil }
        (self.traceID, self.spanID) = ids
    }

    /// Hex digits in lower case, written straight into the string.
    private static func lowercasedHex(_ digits: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: digits.count) { buffer in
            for (index, digit) in digits.enumerated() {
                buffer[index] = (65...70).contains(digit) ? digit + 32 : digit
            }
            return digits.count
        }
    }

    /// The same trace, a new span (this hop).
    public func child() -> TraceContext { TraceContext(traceID: traceID, spanID: Self.randomHex(8)) }

    public var traceparent: String { "00-\(traceID)-\(spanID)-01" }

    /// Random-looking hex ids, cheap enough for every request: a SplitMix64 sequence seeded once from the system's
    /// generator (trace ids must be unique, not secret; one getrandom() per id would dominate a request's cost).
    static func randomHex(_ bytes: Int) -> String {
        guard bytes > 0 else { return "" }
        // Each word's digits, most significant first, written straight into the string.
        return String(unsafeUninitializedCapacity: bytes * 2) { buffer in
            var written = 0
            var remaining = bytes
            while remaining > 0 {
                var word = IDSource.next()
                for _ in 0..<(min(remaining, 8) * 2) {
                    let digit = UInt8(truncatingIfNeeded: word >> 60)
                    buffer[written] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                    written += 1
                    word <<= 4
                }
                remaining -= 8
            }
            return written
        }
    }
}

private enum IDSource {
    static let state = ManagedAtomic<UInt64>(UInt64.random(in: .min ... .max))

    static func next() -> UInt64 {
        var z = state.wrappingIncrementThenLoad(by: 0x9E37_79B9_7F4A_7C15, ordering: .relaxed)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z >> 31)
        return z == 0 ? 1 : z
    }
}

/// One hop of one request: which process handled it, when, for how long, and what it decided.
public struct Span: Sendable, Equatable {
    public var traceID: String
    public var spanID: String
    public var parentID: String?
    /// `lb-01/haproxy`, `web-02/nginx`, `web-02/gunicorn`, `web-01/mysql`.
    public var process: String
    public var start: Date
    public var duration: TimeInterval
    /// HTTP status, or 0 for a non-HTTP hop.
    public var status: Int
    /// What the hop did: `-> web-02 (roundrobin)`, `static /static/hello.txt`, `SELECT … (replica)`.
    public var note: String

    public init(traceID: String, spanID: String, parentID: String?, process: String, start: Date, duration: TimeInterval,
                status: Int, note: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentID = parentID
        self.process = process
        self.start = start
        self.duration = duration
        self.status = status
        self.note = note
    }
}

extension IncomingRequest {
    /// A hop's span lasts from its request's arrival until now, on the monotonic clock and to the nanosecond: every
    /// hop measures the same way, so a hop's time always includes the time of the hops it called. (Whole
    /// milliseconds, as HAProxy logs them, made a 0.4 ms balancer hop look like 0.0 ms above its 0.4 ms child.)
    var spanDuration: TimeInterval { Double((NIODeadline.now() - received).nanoseconds) / 1e9 }
}

/// The lab's recent spans, so the shell can show a request's path hop by hop (`curl -v`). A fixed ring: recording
/// is one locked array write on every hop of every request; looking a trace up scans the ring, which only the shell
/// does, once per command.
public final class TraceStore: Sendable {
    private let capacity: Int
    private let state: NIOLockedValueBox<State>

    private struct State {
        var ring: [Span?]
        var next = 0
        var latest: String?
    }

    public init(capacity: Int = 8192) {
        self.capacity = max(16, capacity)
        self.state = NIOLockedValueBox(State(ring: Array(repeating: nil, count: max(16, capacity))))
    }

    public func record(_ span: Span) {
        state.withLockedValue { state in
            state.ring[state.next] = span
            state.next = (state.next + 1) % capacity
            if span.parentID == nil { state.latest = span.traceID }
        }
    }

    /// The spans of one trace, outermost hop first.
    public func trace(_ traceID: String) -> [Span] {
        state.withLockedValue { $0.ring.compactMap { $0?.traceID == traceID ? $0 : nil } }.sorted { $0.start < $1.start }
    }

    /// The trace of the most recent request that entered the lab without a trace of its own.
    public var latestTraceID: String? { state.withLockedValue { $0.latest } }

    public func clear() {
        state.withLockedValue { state in
            state.ring = Array(repeating: nil, count: capacity)
            state.next = 0
            state.latest = nil
        }
    }
}
