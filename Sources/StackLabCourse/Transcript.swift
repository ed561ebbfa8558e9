import NIOConcurrencyHelpers

/// Everything the learner's commands printed, so checks can read "what the last commands showed". The course's own
/// words (step text, check results) are written muted and never count.
public final class Transcript: Sendable {
    private struct State {
        var text = ""
        var mark = 0
        var muted = 0
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    public func record(_ text: String) {
        state.withLockedValue { s in
            guard s.muted == 0 else { return }
            s.text += text
            // Keep memory bounded over a long session (a `logs -f` for hours): only what follows the mark is read,
            // and of a very long step only its last megabyte.
            let count = s.text.utf8.count
            if count > 2_000_000 {
                let drop = max(s.mark, count - 1_000_000)
                var index = s.text.utf8.index(s.text.utf8.startIndex, offsetBy: drop)
                while index < s.text.utf8.endIndex && !s.text.isValidIndex(index) { index = s.text.utf8.index(after: index) }
                s.text = String(s.text[index...])
                s.mark = max(0, s.mark - drop)
            }
        }
    }

    /// Starts a new step: later checks see only what is printed from now on.
    public func markStepBegan() { state.withLockedValue { $0.mark = $0.text.utf8.count } }

    public var sinceMark: String {
        state.withLockedValue { s in String(decoding: s.text.utf8.dropFirst(s.mark), as: UTF8.self) }
    }

    /// Runs `body` with recording off (the course speaking).
    public func muted<T>(_ body: () throws -> T) rethrows -> T {
        state.withLockedValue { $0.muted += 1 }
        defer { state.withLockedValue { $0.muted -= 1 } }
        return try body()
    }
}

extension String {
    /// Whether an index of the UTF-8 view falls on a character boundary.
    fileprivate func isValidIndex(_ index: String.Index) -> Bool { index.samePosition(in: unicodeScalars) != nil }
}
