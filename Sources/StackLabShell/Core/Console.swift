import Foundation

/// Where the shell writes. Standard output on a terminal or a pipe; a buffer in tests.
public protocol ShellOutput: AnyObject, Sendable {
    func write(_ text: String)
}

/// Standard output (or error), written at once so live views and transcripts interleave correctly.
public final class StandardOutput: ShellOutput {
    private let descriptor: Int32
    private let lock = NSLock()

    public init(error: Bool = false) { descriptor = error ? STDERR_FILENO : STDOUT_FILENO }

    public func write(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
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

    public init(colors: Bool, terminal: Bool) {
        self.colors = colors
        self.terminal = terminal
    }

    public static let plain = Style(colors: false, terminal: false)

    /// The style for this process: colour when stdout is a terminal and NO_COLOR is unset or empty.
    public static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> Style {
        let terminal = isatty(STDOUT_FILENO) == 1
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        let dumb = environment["TERM"] == "dumb"
        return Style(colors: terminal && !noColor && !dumb, terminal: terminal)
    }

    func paint(_ text: String, _ code: String) -> String { colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
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

    func render(style: Style) -> String {
        let columns = header.count
        var widths = header.map(visibleWidth)
        for row in rows {
            for (index, cell) in row.enumerated() where index < columns { widths[index] = max(widths[index], visibleWidth(cell)) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                if index == cells.count - 1 && !rightAligned.contains(index) { return cell }
                return rightAligned.contains(index) ? padLeft(cell, widths[index]) : pad(cell, widths[index])
            }.joined(separator: "  ")
        }
        var out = style.bold(line(header)) + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }
}
