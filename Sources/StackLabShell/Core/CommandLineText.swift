/// Splits what a learner typed into commands and words, the way a Unix shell does for the parts learners expect:
/// words split on spaces, 'single' and "double" quotes keep spaces, a backslash escapes the next character, `;`
/// separates commands, a trailing `&` runs a command in the background and `#` starts a comment. `sql` takes the
/// rest of its line, `;` included, as the mysql client does: `sql BEGIN; INSERT …; ROLLBACK` is one script.
public struct CommandLineText: Sendable, Equatable {
    /// One command of a line: its words, and the text after the verb exactly as typed (for `sql`).
    public struct Command: Sendable, Equatable {
        public var words: [String]
        public var rest: String
        /// The command as typed, without a trailing `&`.
        public var text: String
        /// Typed with a trailing `&`: runs while the learner goes on typing.
        public var background: Bool
        public init(words: [String], rest: String, text: String, background: Bool = false) {
            self.words = words
            self.rest = rest
            self.text = text
            self.background = background
        }
    }

    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The commands of one line (`status; curl /` is two), empty ones dropped.
    public static func commands(in line: String) throws(SyntaxError) -> [Command] {
        var commands: [Command] = []
        for var piece in try split(line) {
            let background = endsInAmpersand(piece)
            if background { piece = String(piece.trimmingSpaces.dropLast()) }
            let words = try words(in: piece)
            guard !words.isEmpty else {
                if background { throw SyntaxError(message: "'&' runs a command in the background: put it after one, e.g. 'load -n 200 &'") }
                continue
            }
            commands.append(Command(words: words, rest: restAfterFirstWord(piece), text: piece.trimmingSpaces, background: background))
        }
        return commands
    }

    /// The words of one command.
    public static func words(in text: String) throws(SyntaxError) -> [String] {
        let scan = scanWords(text)
        if let open = scan.openQuote {
            throw SyntaxError(message: "a \(open == "'" ? "single" : "double") quote (\(open)) is not closed — add one at the end of the words it holds")
        }
        return scan.words
    }

    /// The words so far and the word being typed (for completion); never throws.
    public static func partialWords(in text: String) -> (complete: [String], current: String) {
        let scan = scanWords(text)
        let endsInSpace = scan.openQuote == nil && (text.last.map { $0 == " " || $0 == "\t" } ?? true) && !scan.endsEscaped
        if endsInSpace || scan.words.isEmpty { return (scan.words, "") }
        return (Array(scan.words.dropLast()), scan.words.last ?? "")
    }

    private struct Scan {
        var words: [String] = []
        var openQuote: Character?
        var endsEscaped = false
    }

    private static func scanWords(_ text: String) -> Scan {
        var scan = Scan()
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                word.append(character)
                escaped = false
                continue
            }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\" && open == "\"" {
                    escaped = true
                } else {
                    word.append(character)
                }
                continue
            }
            switch character {
            case " ", "\t":
                if inWord { scan.words.append(word) }
                word = ""
                inWord = false
            case "'", "\"":
                quote = character
                inWord = true
            case "\\":
                escaped = true
                inWord = true
            case "#" where !inWord:
                if inWord { scan.words.append(word) }
                scan.openQuote = nil
                return scan
            default:
                word.append(character)
                inWord = true
            }
        }
        if inWord { scan.words.append(word) }
        scan.openQuote = quote
        scan.endsEscaped = escaped
        return scan
    }

    /// Verbs whose command runs to the end of the line: there `;` separates their own statements.
    static let wholeLineVerbs: Set<String> = ["sql"]

    /// Splits on `;` outside quotes, except after a verb that takes the whole line.
    private static func split(_ line: String) throws(SyntaxError) -> [String] {
        var pieces: [String] = []
        var current = ""
        var quote: Character?
        var escaped = false
        var comment = false
        for character in line {
            if comment { current.append(character); continue }
            if escaped { current.append(character); escaped = false; continue }
            if let open = quote {
                if character == open { quote = nil } else if character == "\\" && open == "\"" { escaped = true }
                current.append(character)
                continue
            }
            switch character {
            case ";" where wholeLineVerbs.contains(firstWord(of: current)):
                current.append(character)
            case ";":
                pieces.append(current)
                current = ""
            case "'", "\"":
                quote = character
                current.append(character)
            case "\\":
                escaped = true
                current.append(character)
            case "#" where current.last.map({ $0 == " " || $0 == "\t" }) ?? true:
                comment = true
                current.append(character)
            default:
                current.append(character)
            }
        }
        if let open = quote {
            throw SyntaxError(message: "a \(open == "'" ? "single" : "double") quote (\(open)) is not closed — add one at the end of the words it holds")
        }
        pieces.append(current)
        return pieces
    }

    /// A last `&` outside quotes, not escaped and not `&&` (which the shell does not have).
    private static func endsInAmpersand(_ piece: String) -> Bool {
        let trimmed = piece.trimmingSpaces
        guard trimmed.hasSuffix("&"), !trimmed.hasSuffix("&&") else { return false }
        let before = trimmed.dropLast()
        if before.hasSuffix("\\") { return false }
        // In a comment, `&` is just text.
        return scanWords(String(before)).openQuote == nil && !commentStarts(in: String(before))
    }

    private static func commentStarts(in text: String) -> Bool {
        var quote: Character?
        var escaped = false
        var previous: Character = " "
        for character in text {
            defer { previous = character }
            if escaped { escaped = false; continue }
            if let open = quote { if character == open { quote = nil } else if character == "\\" && open == "\"" { escaped = true }; continue }
            if character == "\\" { escaped = true } else if character == "'" || character == "\"" { quote = character }
            else if character == "#" && (previous == " " || previous == "\t") { return true }
        }
        return false
    }

    private static func firstWord(of piece: String) -> String {
        String(piece.trimmingSpaces.prefix { $0 != " " && $0 != "\t" })
    }

    private static func restAfterFirstWord(_ piece: String) -> String {
        let trimmed = piece.trimmingSpaces
        guard let space = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return "" }
        return String(trimmed[space...]).trimmingSpaces
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" || first == "\n" || first == "\r" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\n" || last == "\r" { text.removeLast() }
        return String(text)
    }
}
