/// Splits what a learner typed into commands and words, the way a Unix shell does for the parts learners expect:
/// words split on spaces, 'single' and "double" quotes keep spaces, a backslash escapes the next character, `;`
/// separates commands and `#` starts a comment.
public struct CommandLineText: Sendable, Equatable {
    /// One command of a line: its words, and the text after the verb exactly as typed (for `sql`).
    public struct Command: Sendable, Equatable {
        public var words: [String]
        public var rest: String
        public var text: String
        public init(words: [String], rest: String, text: String) {
            self.words = words
            self.rest = rest
            self.text = text
        }
    }

    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The commands of one line (`status; curl /` is two), empty ones dropped.
    public static func commands(in line: String) throws(SyntaxError) -> [Command] {
        var commands: [Command] = []
        for piece in try split(line) {
            let words = try words(in: piece)
            guard !words.isEmpty else { continue }
            commands.append(Command(words: words, rest: restAfterFirstWord(piece), text: piece.trimmingSpaces))
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

    /// Splits on `;` outside quotes.
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
