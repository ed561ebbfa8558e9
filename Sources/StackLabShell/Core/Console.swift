import Foundation

/// Where the shell writes. Standard output on a terminal or a pipe; a buffer in tests.
public protocol ShellOutput: AnyObject, Sendable {
    func write(_ text: String)
}

/// A line editor that shows a prompt and the line being typed. While it does, other output (a background job, an
/// alert, a lesson's step result) must not be written over them: `StandardOutput` keeps such lines back and tells the
/// editor, which prints them above the prompt and draws the prompt and the typed line again.
public protocol PromptDisplay: AnyObject, Sendable {
    /// Lines wait in `StandardOutput.takeWaitingLines()`; called on the writer's thread, so it only wakes the editor.
    func linesWaiting()
}

/// Standard output (or error), written at once so live views and transcripts interleave correctly. While a line
/// editor shows its prompt, whole lines go to it to print above the prompt (see `PromptDisplay`).
public final class StandardOutput: ShellOutput {
    private let descriptor: Int32

    private struct State {
        var display: (any PromptDisplay)?
        var editing = false
        /// Whole lines written while the prompt showed, for the editor to print.
        var waiting = ""
        /// The start of a line not yet ended, held until its newline (a line is never split around a prompt).
        var partial = ""
    }
    private let state = LockedBox(State())

    public init(error: Bool = false) { descriptor = error ? STDERR_FILENO : STDOUT_FILENO }

    public func write(_ text: String) {
        let display: (any PromptDisplay)? = state.withValue { state in
            guard state.editing, let display = state.display else {
                Self.writeAll(descriptor, text)
                return nil
            }
            state.partial += text
            guard let end = state.partial.lastIndex(of: "\n") else { return nil }
            state.waiting += state.partial[...end]
            state.partial = String(state.partial[state.partial.index(after: end)...])
            return display
        }
        display?.linesWaiting()
    }

    /// The editor that shows the prompt (the interactive shell's libedit editor).
    public func attach(_ display: any PromptDisplay) { state.withValue { $0.display = display } }

    /// The prompt is up: from now on other output waits for the editor.
    public func beginEditing() { state.withValue { $0.editing = true } }

    /// The line was entered (the cursor is at the start of a fresh line): what was still waiting is written now, and
    /// output goes straight out again.
    public func endEditing() {
        state.withValue { state in
            state.editing = false
            Self.writeAll(descriptor, state.waiting + state.partial)
            state.waiting = ""
            state.partial = ""
        }
    }

    /// The whole lines written since the editor last asked (on the editor's thread, to print above the prompt).
    public func takeWaitingLines() -> String {
        state.withValue { state in
            defer { state.waiting = "" }
            return state.waiting
        }
    }

    /// Writes for the editor itself (a completion list, the redrawn area), in order with everything else.
    public func writeDirectly(_ text: String) { state.withValue { _ in Self.writeAll(descriptor, text) } }

    private static func writeAll(_ descriptor: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { buffer in
                #if canImport(Glibc)
                Glibc.write(descriptor, buffer.baseAddress, buffer.count)
                #else
                Darwin.write(descriptor, buffer.baseAddress, buffer.count)
                #endif
            }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(written)
        }
    }
}

/// Output that passes on whole lines only, so a background job's lines never mix with other output mid-line. `flush`
/// passes on the rest when the job ends.
public final class LineBufferedOutput: ShellOutput {
    private let inner: any ShellOutput
    private let partial = LockedBox("")
    /// Whether anything was written yet (a background command has started once it speaks).
    public let spoke = LockedBox(false)

    public init(_ inner: any ShellOutput) { self.inner = inner }

    public func write(_ text: String) {
        spoke.withValue { $0 = true }
        let whole: String? = partial.withValue { partial in
            partial += text
            guard let end = partial.lastIndex(of: "\n") else { return nil }
            defer { partial = String(partial[partial.index(after: end)...]) }
            return String(partial[...end])
        }
        if let whole { inner.write(whole) }
    }

    public func flush() {
        let rest = partial.withValue { partial in
            defer { partial = "" }
            return partial
        }
        if !rest.isEmpty { inner.write(rest + "\n") }
    }
}

/// Everything written, kept for tests and for `watch`.
public final class CapturedOutput: ShellOutput {
    private let box = LockedBox("")
    public init() {}
    public func write(_ text: String) { box.withValue { $0 += text } }
    public var text: String { box.current }
    public func clear() { box.withValue { $0 = "" } }
}

/// Colours, only on a terminal and never with NO_COLOR (https://no-color.org).
public struct Style: Sendable {
    public var colors: Bool
    /// Whether output goes to a terminal (live views redraw one line; otherwise they print only the result).
    public var terminal: Bool
    /// A fixed width (tests, `COLUMNS`); nil asks the terminal each time, so a resized window reflows the next text.
    public var columns: Int?

    public init(colors: Bool, terminal: Bool, columns: Int? = nil) {
        self.colors = colors
        self.terminal = terminal
        self.columns = columns
    }

    /// The width text is wrapped to: the fixed width, else the terminal's, else 80.
    public var width: Int { max(20, columns ?? TerminalSize.current().columns) }

    public static let plain = Style(colors: false, terminal: false)

    /// The style for this process: colour when stdout is a terminal and NO_COLOR is unset or empty.
    public static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> Style {
        let terminal = isatty(STDOUT_FILENO) == 1
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        let dumb = environment["TERM"] == "dumb"
        return Style(colors: terminal && !noColor && !dumb, terminal: terminal)
    }

    func paint(_ text: String, _ code: String) -> String { colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    /// Emphasis: italic where the terminal has it.
    public func italic(_ text: String) -> String { paint(text, "3") }
    public func green(_ text: String) -> String { paint(text, "32") }
    public func red(_ text: String) -> String { paint(text, "31") }
    public func yellow(_ text: String) -> String { paint(text, "33") }
    public func bold(_ text: String) -> String { paint(text, "1") }
    public func dim(_ text: String) -> String { paint(text, "2") }
    public func cyan(_ text: String) -> String { paint(text, "36") }

    /// A colour in a prompt: escape codes between `\u{01}` marks, which libedit does not count as screen columns.
    public func promptPaint(_ text: String, _ code: String) -> String {
        colors ? "\u{01}\u{1B}[\(code)m\u{01}\(text)\u{01}\u{1B}[0m\u{01}" : text
    }

    /// The colour of a process state: green running, yellow slow, red otherwise.
    public func state(_ state: String, healthy: Bool?, warning: Bool = false) -> String {
        guard let healthy else { return state }
        if warning { return yellow(state) }
        return healthy ? green(state) : red(state)
    }
}

/// The terminal's size: TIOCGWINSZ on standard output (asked again after every resize), else `COLUMNS`/`LINES`
/// (a pipe with a width set, as in tests and scripts), else 80×24.
public struct TerminalSize: Sendable, Equatable {
    public var columns: Int
    public var rows: Int

    public init(columns: Int, rows: Int) {
        self.columns = columns
        self.rows = rows
    }

    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> TerminalSize {
        var size = winsize()
        if isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            return TerminalSize(columns: Int(size.ws_col), rows: Int(max(size.ws_row, 1)))
        }
        let columns = environment["COLUMNS"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } ?? 80
        let rows = environment["LINES"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } ?? 24
        return TerminalSize(columns: columns, rows: rows)
    }
}

/// Screen width of text, ignoring colour codes (for tables and boxes).
func visibleWidth(_ text: String) -> Int {
    var width = 0
    var inEscape = false
    for scalar in text.unicodeScalars {
        if inEscape {
            if scalar == "m" { inEscape = false }
            continue
        }
        if scalar == "\u{1B}" { inEscape = true; continue }
        if scalar == "\u{01}" || scalar == "\u{02}" { continue }
        width += 1
    }
    return width
}

func pad(_ text: String, _ width: Int) -> String {
    let visible = visibleWidth(text)
    return visible >= width ? text : text + String(repeating: " ", count: width - visible)
}

func padLeft(_ text: String, _ width: Int) -> String {
    let visible = visibleWidth(text)
    return visible >= width ? text : String(repeating: " ", count: width - visible) + text
}

/// A plain text table: a header row and aligned columns, two spaces apart.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    var rightAligned: Set<Int> = []
    /// Columns set one space (not two) after the one before: right-aligned numbers side by side, in a narrow table.
    var tight: Set<Int> = []

    func render(style: Style) -> String {
        let columns = header.count
        var widths = header.map(visibleWidth)
        for row in rows {
            for (index, cell) in row.enumerated() where index < columns { widths[index] = max(widths[index], visibleWidth(cell)) }
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (index, cell) in cells.enumerated() {
                if index > 0 { out += tight.contains(index) ? " " : "  " }
                if index == cells.count - 1 && !rightAligned.contains(index) {
                    out += cell
                } else {
                    out += rightAligned.contains(index) ? padLeft(cell, widths[index]) : pad(cell, widths[index])
                }
            }
            return out
        }
        var out = style.bold(line(header)) + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }
}
