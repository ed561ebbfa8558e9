import Foundation
import NIOConcurrencyHelpers

/// Writes a terminal session as an asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/), which
/// `asciinema play FILE.cast` replays: a JSON header line, then one `[seconds, "o", text]` line per write.
///
/// ```swift
/// let cast = try AsciicastRecorder(path: "demo.cast", width: 100, height: 30, title: "Lesson 3")
/// cast.output("foobar ● ")
/// cast.close()
/// ```
public final class AsciicastRecorder: Sendable {
    private struct State {
        var handle: FileHandle?
        var start: ContinuousClock.Instant
        /// Time added by typing that was not slept for (instant demos still replay at a readable speed).
        var virtualSeconds: Double = 0
    }
    private let state: NIOLockedValueBox<State>
    public let path: String

    public init(path: String, width: Int = 100, height: Int = 30, title: String? = nil, now: Date = Date()) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        var header: [String: Any] = ["version": 2, "width": width, "height": height, "timestamp": Int(now.timeIntervalSince1970),
                                     "env": ["TERM": "xterm-256color", "SHELL": "stacklab"]]
        if let title { header["title"] = title }
        let data = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        handle.write(data + Data("\n".utf8))
        state = NIOLockedValueBox(State(handle: handle, start: .now))
    }

    /// Records output at the current time. Line ends become CR LF, as a terminal shows them.
    public func output(_ text: String) {
        state.withLockedValue { s in
            guard let handle = s.handle, !text.isEmpty else { return }
            let elapsed = ContinuousClock.now - s.start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 + s.virtualSeconds
            let terminalText = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
            guard let event = try? JSONSerialization.data(withJSONObject: [(seconds * 1_000_000).rounded() / 1_000_000, "o", terminalText],
                                                          options: [.fragmentsAllowed, .withoutEscapingSlashes]) else { return }
            handle.write(event + Data("\n".utf8))
        }
    }

    /// Moves the recording's clock forward without waiting (a pause or typing delay not slept in real time).
    public func advance(seconds: Double) {
        state.withLockedValue { $0.virtualSeconds += max(0, seconds) }
    }

    public func close() {
        state.withLockedValue { s in
            try? s.handle?.close()
            s.handle = nil
        }
    }
}
