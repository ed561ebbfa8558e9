import Foundation
import NIOConcurrencyHelpers

/// The log of one process: the last lines in memory (for `logs`), live followers (for `logs -f`), and optionally a
/// file on disk in the lab folder, written in batches so that logging never blocks a request.
public final class LogBook: Sendable {
    public let name: String
    /// The file the lines also go to, if any.
    public let file: String?
    private let capacity: Int
    private let state: NIOLockedValueBox<State>

    private struct State {
        var lines: [String] = []
        var start = 0                     // ring start when full
        var total = 0
        var followers: [Int: AsyncStream<String>.Continuation] = [:]
        var nextFollower = 0
        var pendingFile: [String] = []
        var fileHandle: FileHandle?
    }

    public init(name: String, capacity: Int = 5000, file: String? = nil) {
        self.name = name
        self.file = file
        self.capacity = capacity
        var state = State()
        if let file {
            let url = URL(fileURLWithPath: file)
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: file) { _ = FileManager.default.createFile(atPath: file, contents: nil) }
            if let handle = try? FileHandle(forWritingTo: url) {
                _ = try? handle.seekToEnd()
                state.fileHandle = handle
            }
        }
        self.state = NIOLockedValueBox(state)
    }

    /// Appends one line (no trailing newline).
    public func append(_ line: String) {
        let followers = state.withLockedValue { state -> [AsyncStream<String>.Continuation] in
            if state.lines.count < capacity {
                state.lines.append(line)
            } else {
                state.lines[state.start] = line
                state.start = (state.start + 1) % capacity
            }
            state.total += 1
            if state.fileHandle != nil { state.pendingFile.append(line) }
            return state.followers.isEmpty ? [] : Array(state.followers.values)
        }
        for follower in followers { follower.yield(line) }
    }

    /// The last `count` lines, oldest first.
    public func tail(_ count: Int = .max) -> [String] {
        state.withLockedValue { state in
            let ordered = Array(state.lines[state.start...] + state.lines[..<state.start])
            return Array(ordered.suffix(count))
        }
    }

    /// The last `count` lines of the whole log: from its file when it has one (earlier runs and lines memory no
    /// longer holds included, as `tail` on the real file shows), else from memory.
    public func history(_ count: Int = .max) -> [String] {
        guard let file, state.withLockedValue({ $0.fileHandle != nil }) else { return tail(count) }
        flush()
        guard let data = FileManager.default.contents(atPath: file) else { return tail(count) }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return Array(lines.suffix(count))
    }

    /// How many lines were ever written (lets a caller ask "what is new since …").
    public var totalLines: Int { state.withLockedValue { $0.total } }

    /// Lines written since `mark` (a value of `totalLines`), as far as memory still holds them.
    public func lines(since mark: Int) -> [String] {
        let (all, total) = state.withLockedValue { state in
            (Array(state.lines[state.start...] + state.lines[..<state.start]), state.total)
        }
        let fresh = max(0, min(total - mark, all.count))
        return Array(all.suffix(fresh))
    }

    /// New lines as they are written, until the stream's consumer stops.
    public func follow() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = state.withLockedValue { state -> Int in
            state.nextFollower += 1
            state.followers[state.nextFollower] = continuation
            return state.nextFollower
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLockedValue { _ = $0.followers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Writes the lines not yet on disk. Called by the lab's flush timer and at shutdown.
    public func flush() {
        let (handle, lines) = state.withLockedValue { state -> (FileHandle?, [String]) in
            let lines = state.pendingFile
            state.pendingFile.removeAll(keepingCapacity: true)
            return (state.fileHandle, lines)
        }
        guard let handle, !lines.isEmpty else { return }
        let text = lines.joined(separator: "\n") + "\n"
        try? handle.write(contentsOf: Data(text.utf8))
    }

    public func close() {
        flush()
        let (handle, followers) = state.withLockedValue { state -> (FileHandle?, [AsyncStream<String>.Continuation]) in
            let handle = state.fileHandle
            state.fileHandle = nil
            let followers = Array(state.followers.values)
            state.followers.removeAll()
            return (handle, followers)
        }
        try? handle?.close()
        for follower in followers { follower.finish() }
    }
}
