/// Text for the terminal, wrapped to its width: the lessons' Markdown (paragraphs, **bold**, *emphasis*, `code`,
/// lists, quotes, headings, fenced blocks) and the shell's own prose (help, legends), so every paragraph a learner
/// reads breaks between words at the width of their window.
///
/// ```swift
/// shell.write(TerminalText.markdown("Run `status`: **lb-01** checks *every* server.", width: 80, style: style))
/// ```
public enum TerminalText {
    /// Renders Markdown for a terminal `width` columns wide. Paragraphs and list items are reflowed; fenced blocks are
    /// indented four spaces and kept as they are (a config file cannot be rewrapped), their info string (`file
    /// lb-01/haproxy.cfg`) shown as a label above.
    public static func markdown(_ text: String, width: Int, style: Style) -> String {
        var out: [String] = []
        var paragraph: [String] = []
        var paragraphKind = Block.paragraph
        var fence: String?
        var fenceIndent = "    "

        func flush() {
            guard !paragraph.isEmpty else { return }
            let joined = paragraph.joined(separator: " ")
            switch paragraphKind {
            case .paragraph:
                out += wrap(inline(joined, style: style), width: width, style: style)
            case .heading:
                let words = inline(joined, style: style).map { Word(pieces: $0.pieces.map { Piece(text: $0.text, look: .bold) }) }
                out += wrap(words, width: width, style: style)
            case .item(let marker, let indent):
                let lead = String(repeating: " ", count: indent) + marker + " "
                out += wrap(inline(joined, style: style), width: width, firstPrefix: lead,
                            prefix: String(repeating: " ", count: visibleWidth(lead)), style: style)
            case .quote:
                out += wrap(inline(joined, style: style), width: width, firstPrefix: style.dim("│ "), prefix: style.dim("│ "), style: style)
            }
            paragraph = []
            paragraphKind = .paragraph
        }

        let source = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (number, line) in source.enumerated() {
            let trimmed = line.trimmingSpaces
            if let marker = fence {
                if trimmed.hasPrefix(marker) && trimmed.allSatisfy({ $0 == marker.first }) {
                    fence = nil
                } else {
                    out.append(line.isEmpty ? "" : fenceIndent + style.dim(line))
                }
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                flush()
                let marker = String(trimmed.prefix { $0 == trimmed.first })
                fence = marker
                // Four spaces, or fewer when the block's longest line would not fit (a file cannot be rewrapped).
                let body = source[(number + 1)...].prefix { !$0.trimmingSpaces.hasPrefix(marker) }
                let longest = body.map { visibleWidth($0) }.max() ?? 0
                fenceIndent = String(repeating: " ", count: max(0, min(4, width - longest)))
                let info = String(trimmed.dropFirst(marker.count)).trimmingSpaces
                if info.hasPrefix("file ") {
                    out.append(style.dim("  " + String(info.dropFirst(5)).trimmingSpaces + ":"))
                }
                continue
            }
            if trimmed.isEmpty {
                flush()
                if out.last != "" && !out.isEmpty { out.append("") }
                continue
            }
            if let heading = headingText(trimmed) {
                flush()
                paragraphKind = .heading
                paragraph = [heading]
                flush()
                continue
            }
            if let (marker, rest) = listItem(trimmed) {
                flush()
                let indent = min(8, line.prefix { $0 == " " }.count)
                paragraphKind = .item(marker: marker == "-" || marker == "*" || marker == "+" ? "•" : marker, indent: indent)
                paragraph = [rest]
                continue
            }
            if trimmed.hasPrefix(">") {
                let rest = String(trimmed.dropFirst()).trimmingSpaces
                if paragraphKind != .quote { flush(); paragraphKind = .quote }
                paragraph.append(rest)
                continue
            }
            if paragraphKind == .quote { flush() }
            paragraph.append(trimmed)
        }
        flush()
        while out.last == "" { out.removeLast() }
        return out.joined(separator: "\n")
    }

    /// Plain prose (no Markdown) wrapped to `width`, every line after `indent`; lines that begin with spaces
    /// (examples) are kept as they are.
    public static func prose(_ text: String, width: Int, indent: String = "") -> String {
        var out: [String] = []
        var paragraph: [String] = []
        func flush() {
            guard !paragraph.isEmpty else { return }
            let words = paragraph.joined(separator: " ").split(separator: " ").map { Word(pieces: [Piece(text: String($0), look: .plain)]) }
            out += wrap(words, width: width, firstPrefix: indent, prefix: indent)
            paragraph = []
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.trimmingSpaces.isEmpty {
                flush()
                out.append("")
            } else if line.hasPrefix(" ") {
                flush()
                out.append(indent + line)
            } else {
                paragraph.append(line.trimmingSpaces)
            }
        }
        flush()
        return out.joined(separator: "\n")
    }

    /// Wraps text that may hold colour codes (a legend, a note) to `width`, breaking only between words.
    /// `lead` starts the first line as it is (a padded name, `usage: `), `indent` the others.
    public static func wrapStyled(_ text: String, width: Int, lead: String = "", indent: String = "") -> String {
        // Runs of spaces are kept (empty words), except where a line breaks.
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map { Word(pieces: [Piece(text: String($0), look: .raw)]) }
        return wrap(words, width: width, firstPrefix: lead, prefix: indent).joined(separator: "\n")
    }

    // MARK: - Blocks

    private enum Block: Equatable {
        case paragraph
        case heading
        case item(marker: String, indent: Int)
        case quote
    }

    private static func headingText(_ line: String) -> String? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes), line.dropFirst(hashes).first == " " else { return nil }
        return String(line.dropFirst(hashes)).trimmingSpaces
    }

    /// `- item`, `* item`, `+ item`, `1. item`, `2) item`.
    private static func listItem(_ line: String) -> (String, String)? {
        if let first = line.first, "-*+".contains(first), line.dropFirst().first == " " {
            // `**bold** at the start` is not a list.
            return (String(first), String(line.dropFirst(2)).trimmingSpaces)
        }
        let digits = line.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 3 else { return nil }
        let after = line.dropFirst(digits.count)
        guard let mark = after.first, mark == "." || mark == ")", after.dropFirst().first == " " else { return nil }
        return (digits + String(mark), String(after.dropFirst(2)).trimmingSpaces)
    }

    // MARK: - Inline Markdown

    enum Look: Equatable {
        case plain, bold, italic, code
        /// Already styled text, measured without its escape codes.
        case raw
    }

    struct Piece: Equatable {
        var text: String
        var look: Look
    }

    /// A word as the wrapper sees it: pieces with no space between them (`` `curl`, `` is code then a comma).
    struct Word: Equatable {
        var pieces: [Piece]
        var width: Int { pieces.reduce(0) { $0 + visibleWidth($1.text) } }
    }

    /// Splits a paragraph into words, reading `**bold**`, `*emphasis*`/`_emphasis_` and `` `code` ``. Unclosed
    /// markers are kept as text. Code keeps its spaces inside one styled run but may still wrap between its words.
    static func inline(_ text: String, style: Style) -> [Word] {
        var pieces: [Piece] = []
        var current = ""
        var look = Look.plain
        let characters = Array(text)
        var index = 0
        func emit() {
            // Without colour, code keeps its backticks: they say "type exactly this".
            if look == .code && !style.colors { current = "`" + current + "`" }
            if !current.isEmpty { pieces.append(Piece(text: current, look: look)) }
            current = ""
        }
        func closes(_ marker: String, from start: Int) -> Bool {
            let m = Array(marker)
            var i = start
            while i + m.count <= characters.count {
                if Array(characters[i..<(i + m.count)]) == m { return i > start }
                i += 1
            }
            return false
        }
        while index < characters.count {
            let character = characters[index]
            if look == .code {
                if character == "`" { emit(); look = .plain } else { current.append(character) }
                index += 1
                continue
            }
            if character == "`", closes("`", from: index + 1) {
                emit(); look = .code; index += 1
                continue
            }
            if character == "*", index + 1 < characters.count, characters[index + 1] == "*" {
                if look == .bold { emit(); look = .plain; index += 2; continue }
                if look == .plain, index + 2 < characters.count, characters[index + 2] != " ", closes("**", from: index + 2) {
                    emit(); look = .bold; index += 2
                    continue
                }
            }
            if character == "*" || character == "_" {
                let marker = String(character)
                if look == .italic {
                    emit(); look = .plain; index += 1
                    continue
                }
                let before = index == 0 ? " " : characters[index - 1]
                let startsWord = before == " " || before == "(" || before == "\""
                if look == .plain, startsWord, index + 1 < characters.count, characters[index + 1] != " ",
                   closes(marker, from: index + 1) {
                    emit(); look = .italic; index += 1
                    continue
                }
            }
            current.append(character)
            index += 1
        }
        emit()
        // Into words: split every piece at spaces, gluing pieces that touch.
        var words: [Word] = []
        var word = Word(pieces: [])
        for piece in pieces {
            let parts = piece.text.split(separator: " ", omittingEmptySubsequences: false)
            for (n, part) in parts.enumerated() {
                if n > 0 {
                    if !word.pieces.isEmpty { words.append(word) }
                    word = Word(pieces: [])
                }
                if !part.isEmpty { word.pieces.append(Piece(text: String(part), look: piece.look)) }
            }
        }
        if !word.pieces.isEmpty { words.append(word) }
        return words
    }

    private static func paint(_ piece: Piece, style: Style) -> String {
        switch piece.look {
        case .plain, .raw: piece.text
        case .bold: style.bold(piece.text)
        case .italic: style.italic(piece.text)
        case .code: style.cyan(piece.text)
        }
    }

    /// Greedy wrapping between words. A word longer than a whole line (a long URL) gets a line of its own.
    static func wrap(_ words: [Word], width: Int, firstPrefix: String = "", prefix: String = "", style: Style = .plain) -> [String] {
        wrapPainted(words.map { word in (word.pieces.map { paint($0, style: style) }.joined(), word.width) },
                    width: width, firstPrefix: firstPrefix, prefix: prefix)
    }

    private static func wrapPainted(_ words: [(text: String, width: Int)], width: Int, firstPrefix: String, prefix: String) -> [String] {
        var lines: [String] = []
        var line = firstPrefix
        var used = visibleWidth(firstPrefix)
        // The first word follows the first line's prefix at once (`usage: `, a padded name).
        var empty = true
        func trimmed(_ line: String) -> String {
            var line = line
            while line.hasSuffix(" ") && visibleWidth(line) > visibleWidth(prefix) { line.removeLast() }
            return line
        }
        for word in words {
            // An empty word is one more space of a run: kept inside a line, dropped at its ends.
            if word.text.isEmpty {
                if !empty && used + 1 < width {
                    line += " "
                    used += 1
                }
                continue
            }
            if !empty && used + 1 + word.width > width {
                lines.append(trimmed(line))
                line = prefix
                used = visibleWidth(prefix)
                empty = true
            }
            if !empty {
                line += " "
                used += 1
            }
            line += word.text
            used += word.width
            empty = false
        }
        if !empty || lines.isEmpty { lines.append(trimmed(line)) }
        return lines
    }
}
