/// nginx.conf as a tree of directives, read the way nginx's `ngx_conf_read_token` reads it: words separated by
/// blanks, '…' and "…" quoting with backslash escapes, `#` comments at the start of a word, `;` ending a simple
/// directive, `{ … }` holding a block. Errors use nginx's words (`unexpected "}"`).
struct NginxDirective: Sendable, Equatable {
    var name: String
    var args: [String]
    /// The line of the directive's name.
    var line: Int
    /// The line of each argument (a missing `;` shows as arguments on later lines).
    var argLines: [Int]
    /// The block's directives, or nil for a simple `name args;` directive.
    var block: [NginxDirective]?
}

enum NginxTokenizer {
    static func parse(_ text: String, file: String) throws -> [NginxDirective] {
        var reader = Reader(chars: Array(text), file: file)
        let top = try reader.readBlock(openedAt: nil, depth: 0)
        return top
    }

    /// nginx's NGX_CONF_BUFFER: a word (or comment) must fit in the 4096-byte buffer nginx reads the file through.
    static let maximumWordBytes = 4096

    /// Ends a word. A Set, not a String: in a Swift string "\r\n" is one Character and would hide "\n".
    private static let separators: Set<Character> = [" ", "\t", "\r", "\n", ";", "{", "}"]

    private struct Reader {
        var separators: Set<Character> { NginxTokenizer.separators }
        let chars: [Character]
        let file: String
        var position = 0
        var line = 1

        func error(_ line: Int, _ reason: String) -> ConfigError {
            ConfigError(file: file, line: line, directive: "", reason: reason)
        }

        /// nginx's words for a word that does not fit its buffer: `too long parameter "xxxxxxxxxx..." started`.
        func tooLong(from start: Int) -> ConfigError {
            let first = ConfigText.showingBytes(String(chars[start..<min(chars.count, start + 10)]))
            return error(line, "too long parameter \"\(first)...\" started")
        }

        enum Token { case word(String, Int), semicolon(Int), open(Int), close(Int), end(Int) }

        mutating func next() throws -> Token {
            // Blanks and comments.
            while position < chars.count {
                let c = chars[position]
                if c == "\n" { line += 1; position += 1 }
                else if c == " " || c == "\t" || c == "\r" { position += 1 }
                else if c == "#" {
                    // A comment is read like a word: bytes that are not UTF-8 are fine in it, but it must fit nginx's buffer.
                    let start = position
                    var bytes = 0
                    while position < chars.count, chars[position] != "\n" {
                        bytes += chars[position].utf8.count
                        if bytes >= NginxTokenizer.maximumWordBytes { throw tooLong(from: start) }
                        position += 1
                    }
                } else { break }
            }
            guard position < chars.count else { return .end(line) }
            let c = chars[position]
            switch c {
            case ";": position += 1; return .semicolon(line)
            case "{": position += 1; return .open(line)
            case "}": position += 1; return .close(line)
            case "\"", "'":
                let startLine = line
                position += 1
                var word = ""
                var bytes = 1
                while true {
                    guard position < chars.count else { throw error(startLine, "unexpected end of file, expecting closing \(c)") }
                    let d = chars[position]
                    position += 1
                    if d == c { break }
                    bytes += d.utf8.count
                    if bytes >= NginxTokenizer.maximumWordBytes {
                        throw error(startLine, "too long parameter, probably missing terminating \"\(c)\" character")
                    }
                    if d == "\n" { line += 1 }
                    if d == "\\", position < chars.count {
                        let e = chars[position]
                        position += 1
                        switch e {
                        case "\"", "'", "\\": word.append(e)
                        case "t": word.append("\t")
                        case "r": word.append("\r")
                        case "n": word.append("\n")
                        default: word.append("\\"); word.append(e)
                        }
                        continue
                    }
                    word.append(d)
                }
                // nginx wants a separator right after a closing quote.
                if position < chars.count, !separators.contains(chars[position]) {
                    throw error(line, "unexpected \"\(chars[position])\"")
                }
                return .word(word, startLine)
            default:
                let startLine = line
                let start = position
                var word = ""
                var bytes = 0
                while position < chars.count {
                    let d = chars[position]
                    if separators.contains(d) { break }
                    bytes += d.utf8.count
                    if bytes >= NginxTokenizer.maximumWordBytes { throw tooLong(from: start) }
                    if d == "\\", position + 1 < chars.count, chars[position + 1] != "\n" {
                        word.append(d); word.append(chars[position + 1]); position += 2; continue
                    }
                    word.append(d)
                    position += 1
                }
                return .word(word, startLine)
            }
        }

        /// Reads directives until the `}` that closes this block (or the end of the file at the top level).
        mutating func readBlock(openedAt: Int?, depth: Int) throws -> [NginxDirective] {
            var directives: [NginxDirective] = []
            var words: [(String, Int)] = []
            while true {
                let token = try next()
                switch token {
                case .word(let word, let line):
                    try ConfigText.checkBytes(word, file: file, line: line, directive: words.first?.0 ?? word)
                    words.append((word, line))
                case .semicolon(let line):
                    guard let first = words.first else { throw error(line, "unexpected \";\"") }
                    directives.append(NginxDirective(name: first.0, args: words.dropFirst().map(\.0), line: first.1,
                                                     argLines: words.dropFirst().map(\.1), block: nil))
                    words = []
                case .open(let line):
                    guard let first = words.first else { throw error(line, "unexpected \"{\"") }
                    // nginx itself has no bound and runs out of stack near 20,000 levels; real files nest a handful.
                    guard depth < ConfigText.maximumNesting else {
                        throw ConfigError(file: file, line: line, directive: first.0, reason: ConfigText.nestingReason("blocks { }"))
                    }
                    let block = try readBlock(openedAt: line, depth: depth + 1)
                    directives.append(NginxDirective(name: first.0, args: words.dropFirst().map(\.0), line: first.1,
                                                     argLines: words.dropFirst().map(\.1), block: block))
                    words = []
                case .close(let line):
                    // A "}" right after words means the last directive has no ";"; at the top level there is nothing to close.
                    guard words.isEmpty, openedAt != nil else {
                        if let first = words.first, let last = words.last, openedAt != nil {
                            throw ConfigError(file: file, line: last.1, directive: first.0, reason: "unexpected \"}\" — missing \";\" after \"\(words.map(\.0).joined(separator: " "))\"?")
                        }
                        throw error(line, "unexpected \"}\"")
                    }
                    return directives
                case .end(let line):
                    if let first = words.first, let last = words.last {
                        throw ConfigError(file: file, line: last.1, directive: first.0, reason: "unexpected end of file, expecting \";\" or \"}\"")
                    }
                    if let openedAt {
                        throw error(line, "unexpected end of file, expecting \"}\" (the block opened at line \(openedAt) is not closed)")
                    }
                    return directives
                }
            }
        }
    }
}
