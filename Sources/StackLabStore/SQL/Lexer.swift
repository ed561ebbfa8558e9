/// Tokens of the SQL subset. Positions are byte offsets into the query, so errors can quote MySQL's
/// "near '…'" from the exact place the parser stopped.
struct Token: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case word(String)          // identifier or keyword, as typed
        case quoted(String)        // `identifier`
        case string(String)        // 'text' or "text"
        case number(String)
        case op(String)            // = <> != <= >= < > ( ) , . * ; + - / %
        case systemVariable(String)  // @@name, @@global.name
        case userVariable(String)
        case end
    }
    var kind: Kind
    var start: Int
    var end: Int
    var line: Int

    func isWord(_ keyword: String) -> Bool {
        if case .word(let w) = kind { return w.uppercased() == keyword }
        return false
    }
    func isOp(_ o: String) -> Bool {
        if case .op(let x) = kind { return x == o }
        return false
    }
}

struct Lexer: Sendable {
    let bytes: [UInt8]

    init(_ sql: String) { self.bytes = Array(sql.utf8) }

    /// Text from a byte offset to the end, for "near '…'".
    func rest(from offset: Int) -> String {
        guard offset < bytes.count else { return "" }
        return String(decoding: bytes[max(0, offset)...], as: UTF8.self)
    }

    func text(_ start: Int, _ end: Int) -> String {
        guard start < end, end <= bytes.count else { return "" }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    func tokenize() throws(StoreError) -> [Token] {
        var tokens: [Token] = []
        var i = 0
        var line = 1
        let n = bytes.count
        func isIdent(_ c: UInt8) -> Bool {
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x24 || c >= 0x80
        }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        let maxTokens = StatementMemory.limit / StatementMemory.perToken
        while i < n {
            if tokens.count >= maxTokens { throw StoreError.outOfMemory(needed: tokens.count * StatementMemory.perToken) }
            let c = bytes[i]
            if c == 0x0A { line += 1; i += 1; continue }
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0C { i += 1; continue }
            // Comments: "-- " to end of line, "#" to end of line, "/* … */".
            if c == 0x23 || (c == 0x2D && i + 1 < n && bytes[i + 1] == 0x2D && (i + 2 >= n || bytes[i + 2] == 0x20 || bytes[i + 2] == 0x09 || bytes[i + 2] == 0x0A)) {
                while i < n && bytes[i] != 0x0A { i += 1 }
                continue
            }
            if c == 0x2F && i + 1 < n && bytes[i + 1] == 0x2A {
                let start = i
                i += 2
                while i + 1 < n && !(bytes[i] == 0x2A && bytes[i + 1] == 0x2F) {
                    if bytes[i] == 0x0A { line += 1 }
                    i += 1
                }
                if i + 1 >= n { throw StoreError.syntax(near: rest(from: start), line: line) }
                i += 2
                continue
            }
            let start = i
            if c == 0x27 || c == 0x22 {  // 'string' or "string"
                var out: [UInt8] = []
                i += 1
                var closed = false
                while i < n {
                    let d = bytes[i]
                    if d == 0x5C && i + 1 < n {  // backslash escapes
                        let e = bytes[i + 1]
                        switch e {
                        case 0x6E: out.append(0x0A)
                        case 0x74: out.append(0x09)
                        case 0x72: out.append(0x0D)
                        case 0x30: out.append(0)
                        case 0x62: out.append(0x08)
                        case 0x5A: out.append(0x1A)
                        default: out.append(e)
                        }
                        i += 2
                        continue
                    }
                    if d == c {
                        if i + 1 < n && bytes[i + 1] == c { out.append(c); i += 2; continue }
                        closed = true
                        i += 1
                        break
                    }
                    if d == 0x0A { line += 1 }
                    out.append(d)
                    i += 1
                }
                if !closed { throw StoreError.syntax(near: rest(from: start), line: line) }
                tokens.append(Token(kind: .string(String(decoding: out, as: UTF8.self)), start: start, end: i, line: line))
                continue
            }
            if c == 0x60 {  // `identifier`
                var out: [UInt8] = []
                i += 1
                var closed = false
                while i < n {
                    if bytes[i] == 0x60 {
                        if i + 1 < n && bytes[i + 1] == 0x60 { out.append(0x60); i += 2; continue }
                        closed = true
                        i += 1
                        break
                    }
                    out.append(bytes[i])
                    i += 1
                }
                if !closed { throw StoreError.syntax(near: rest(from: start), line: line) }
                tokens.append(Token(kind: .quoted(String(decoding: out, as: UTF8.self)), start: start, end: i, line: line))
                continue
            }
            if isDigit(c) || (c == 0x2E && i + 1 < n && isDigit(bytes[i + 1])) {
                while i < n && (isDigit(bytes[i]) || bytes[i] == 0x2E) { i += 1 }
                // 1e15, 2.5E-5: a DOUBLE literal.
                if i < n && (bytes[i] == 0x65 || bytes[i] == 0x45) {
                    var j = i + 1
                    if j < n && (bytes[j] == 0x2B || bytes[j] == 0x2D) { j += 1 }
                    if j < n && isDigit(bytes[j]) {
                        while j < n && isDigit(bytes[j]) { j += 1 }
                        if j >= n || !isIdent(bytes[j]) { i = j }
                    }
                }
                if i < n && isIdent(bytes[i]) {  // 1abc is an identifier in MySQL
                    while i < n && isIdent(bytes[i]) { i += 1 }
                    tokens.append(Token(kind: .word(text(start, i)), start: start, end: i, line: line))
                } else {
                    tokens.append(Token(kind: .number(text(start, i)), start: start, end: i, line: line))
                }
                continue
            }
            if c == 0x40 {  // @var or @@var
                i += 1
                let system = i < n && bytes[i] == 0x40
                if system { i += 1 }
                let nameStart = i
                while i < n && (isIdent(bytes[i]) || bytes[i] == 0x2E) { i += 1 }
                let name = text(nameStart, i)
                tokens.append(Token(kind: system ? .systemVariable(name) : .userVariable(name), start: start, end: i, line: line))
                continue
            }
            if isIdent(c) {
                while i < n && isIdent(bytes[i]) { i += 1 }
                tokens.append(Token(kind: .word(text(start, i)), start: start, end: i, line: line))
                continue
            }
            let two = i + 1 < n ? text(i, i + 2) : ""
            if ["<>", "!=", "<=", ">=", "||", "&&", ":="].contains(two) {
                if two == "<=" && i + 2 < n && bytes[i + 2] == 0x3E {  // <=>
                    tokens.append(Token(kind: .op("<=>"), start: start, end: i + 3, line: line))
                    i += 3
                    continue
                }
                tokens.append(Token(kind: .op(two), start: start, end: i + 2, line: line))
                i += 2
                continue
            }
            if "=<>(),.*;+-/%!".utf8.contains(c) {
                tokens.append(Token(kind: .op(String(UnicodeScalar(c))), start: start, end: i + 1, line: line))
                i += 1
                continue
            }
            throw StoreError.syntax(near: rest(from: start), line: line)
        }
        tokens.append(Token(kind: .end, start: n, end: n, line: line))
        return tokens
    }
}
