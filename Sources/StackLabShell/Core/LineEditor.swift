import Foundation

/// What reading one line gave.
public enum LineInput: Sendable, Equatable {
    /// A line the learner typed (without the newline).
    case line(String)
    /// Ctrl-C: the line was cancelled; ask again.
    case interrupted
    /// Ctrl-D on an empty line, or the end of piped input: leave the shell.
    case end
}

/// Where the shell gets its lines. The libedit editor (in the `stacklab` executable) is one; a plain reader for piped
/// input and a scripted one for tests are others, so everything but the terminal glue is tested without a terminal.
public protocol LineEditor: AnyObject, Sendable {
    /// Reads one line, showing `prompt` (which may hold colour codes wrapped in `\u{01}`…`\u{01}` — see `Style`).
    func readLine(prompt: String) async -> LineInput
    /// Remembers a line the shell ran, for Up and for the next session.
    func remember(_ line: String)
    /// Lets the editor complete words as the learner types (Tab).
    func setCompleter(_ completer: Completer)
    /// Saves history and gives the terminal back.
    func close()
    /// The prompt to draw from now on (the lab's health changed while a line is being read); drawn at the next
    /// redraw, when output is printed above it.
    func promptChanged(_ prompt: String)
}

extension LineEditor {
    public func remember(_ line: String) {}
    public func setCompleter(_ completer: Completer) {}
    public func close() {}
    public func promptChanged(_ prompt: String) {}
}

/// Reads lines from piped standard input, with no prompt, so transcripts stay clean.
public final class PlainLineEditor: LineEditor {
    public init() {}

    public func readLine(prompt: String) async -> LineInput {
        await withCheckedContinuation { continuation in
            // Blocking read on a thread of its own, never on the shell's actor.
            Thread.detachNewThread {
                if let line = Swift.readLine(strippingNewline: true) {
                    continuation.resume(returning: .line(line))
                } else {
                    continuation.resume(returning: .end)
                }
            }
        }
    }
}

/// Hands out prepared lines, then `.end` (tests, `stacklab run FILE`).
public final class ScriptedLineEditor: LineEditor {
    private let lines: LockedBox<[LineInput]>
    public let remembered = LockedBox<[String]>([])
    public let prompts = LockedBox<[String]>([])

    public init(_ lines: [String]) { self.lines = LockedBox(lines.map { .line($0) }) }
    public init(inputs: [LineInput]) { self.lines = LockedBox(inputs) }

    public func readLine(prompt: String) async -> LineInput {
        prompts.withValue { $0.append(prompt) }
        return lines.withValue { $0.isEmpty ? .end : $0.removeFirst() }
    }

    public func remember(_ line: String) { remembered.withValue { $0.append(line) } }
}

/// A value behind a lock, for the few things shared between the shell, signal handlers and the editor thread.
public final class LockedBox<Value: Sendable>: @unchecked Sendable {
    // @unchecked: every access to `value` goes through `lock`.
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    @discardableResult
    public func withValue<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    public var current: Value { withValue { $0 } }
}
