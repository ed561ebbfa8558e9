/// How deep a YAML text nests its collections, found without building it: Yams composes nodes recursively, so a
/// file nested thousands of levels deep would exhaust the stack before any error could be said.
///
/// The count never falls short of libyaml's own (it may count more for text libyaml refuses anyway): block
/// collections by the column their entries start at (a line may open several, `- - a`, `- key: value`), flow
/// collections by their brackets, outside quotes, comments and block scalars (`|`, `>`).
///
/// ```swift
/// YAMLNesting.firstLine(deeperThan: 2, in: "a:\n  b:\n    c: [1]\n")   // 3
/// ```
enum YAMLNesting {
    /// The first line where the nesting passes `limit`, or nil when it never does.
    static func firstLine(deeperThan limit: Int, in text: String) -> Int? {
        var scanner = Scanner(limit: limit)
        var number = 0
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if scanner.scan(Array(line)) { return number }
        }
        return nil
    }

    private struct Scanner {
        let limit: Int
        enum Kind { case sequence, mapping }
        /// The open block collections, innermost last, each with the column its entries start at.
        var blocks: [(column: Int, kind: Kind)] = []
        var flowDepth = 0
        var quote: UInt8?
        /// Inside a block scalar (`|`, `>`) whose collection's entries start at this column: more indented lines are
        /// its text.
        var blockScalar: Int?

        init(limit: Int) { self.limit = limit }

        static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), hash = UInt8(ascii: "#")

        var depth: Int { blocks.count + flowDepth }

        func isBlank(_ c: UInt8) -> Bool { c == Self.space || c == Self.tab || c == UInt8(ascii: "\r") }

        /// Reads one line; true when the nesting passed the limit on it.
        mutating func scan(_ line: [UInt8]) -> Bool {
            guard quote == nil && flowDepth == 0 else { return scanFlow(line, from: 0) }
            let indent = line.prefix { $0 == Self.space || $0 == Self.tab }.count
            let blank = indent == line.count || line[indent] == Self.hash || line[indent] == UInt8(ascii: "\r")
            // A document marker closes everything, a block scalar too.
            if indent == 0, line.count >= 3, line[0] == line[1], line[1] == line[2],
               line[0] == UInt8(ascii: "-") || line[0] == UInt8(ascii: "."), line.count == 3 || isBlank(line[3]) {
                blocks.removeAll()
                blockScalar = nil
                return scanValue(line, from: 3)
            }
            if let column = blockScalar {
                if blank || indent > column { return false }
                blockScalar = nil
            }
            if blank { return false }
            while let last = blocks.last, last.column > indent { blocks.removeLast() }
            var column = indent
            while column < line.count {
                let c = line[column]
                let next = column + 1 < line.count ? line[column + 1] : Self.space
                // Anchors and tags before a node: `&x`, `!!map`.
                if (c == UInt8(ascii: "&") || c == UInt8(ascii: "!")) {
                    while column < line.count, !isBlank(line[column]) { column += 1 }
                    while column < line.count, isBlank(line[column]) { column += 1 }
                    continue
                }
                let indicator = isBlank(next) && (c == UInt8(ascii: "-") || c == UInt8(ascii: "?") || c == UInt8(ascii: ":"))
                if indicator {
                    open(c == UInt8(ascii: "-") ? .sequence : .mapping, at: column)
                    if depth > limit { return true }
                    column += 1
                    while column < line.count, isBlank(line[column]) { column += 1 }
                    continue
                }
                if let value = mappingValue(line, from: column) {
                    // A key at a sequence's column ends that sequence (a list under a key may share the key's column).
                    if let last = blocks.last, last.column == column, last.kind == .sequence { blocks.removeLast() }
                    open(.mapping, at: column)
                    if depth > limit { return true }
                    column = value
                }
                break
            }
            return scanValue(line, from: column)
        }

        mutating func open(_ kind: Kind, at column: Int) {
            while let last = blocks.last, last.column > column { blocks.removeLast() }
            if let last = blocks.last, last.column == column, last.kind == kind { return }
            if kind == .mapping, let last = blocks.last, last.column == column { blocks.removeLast() }
            blocks.append((column, kind))
        }

        /// Where the value starts when the node at `start` is a key: after a `:` followed by a blank (or the line's
        /// end), outside quotes and brackets, before any comment; nil when it is not a key.
        func mappingValue(_ line: [UInt8], from start: Int) -> Int? {
            var i = start
            var q: UInt8?
            while i < line.count {
                let c = line[i]
                if let open = q {
                    if c == UInt8(ascii: "\\"), open == UInt8(ascii: "\"") { i += 2; continue }
                    if c == open { q = nil }
                    i += 1
                    continue
                }
                if (c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")) && i == start { q = c }
                else if c == Self.hash, i > start, isBlank(line[i - 1]) { return nil }
                else if (c == UInt8(ascii: "[") || c == UInt8(ascii: "{")) && i == start { return nil }
                else if c == UInt8(ascii: ":"), i + 1 == line.count || isBlank(line[i + 1]) { return i + 1 }
                i += 1
            }
            return nil
        }

        /// The value of a block line (after `key: ` or `- `, or the whole node): a flow collection, a quoted scalar,
        /// a block scalar indicator, or plain text, where brackets mean nothing.
        mutating func scanValue(_ line: [UInt8], from start: Int) -> Bool {
            var i = start
            while i < line.count {
                let c = line[i]
                switch c {
                case _ where isBlank(c): i += 1
                case UInt8(ascii: "&"), UInt8(ascii: "!"):
                    while i < line.count, !isBlank(line[i]) { i += 1 }
                case Self.hash: return false
                case UInt8(ascii: "["), UInt8(ascii: "{"): return scanFlow(line, from: i)
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    quote = c
                    return scanFlow(line, from: i + 1)
                case UInt8(ascii: "|"), UInt8(ascii: ">"):
                    let rest = line[(i + 1)...].prefix { $0 != Self.hash }
                    if rest.allSatisfy({ isBlank($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-")
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
                        blockScalar = blocks.last?.column ?? -1
                    }
                    return false
                default:
                    return false
                }
            }
            return false
        }

        /// Inside flow collections or a quoted scalar (which may span lines).
        mutating func scanFlow(_ line: [UInt8], from start: Int) -> Bool {
            var i = start
            while i < line.count {
                let c = line[i]
                if let q = quote {
                    if c == UInt8(ascii: "\\"), q == UInt8(ascii: "\"") { i += 2; continue }
                    if c == q {
                        if q == UInt8(ascii: "'"), i + 1 < line.count, line[i + 1] == q { i += 2; continue }   // '' in '…'
                        quote = nil
                        // A quoted scalar of the block context is over: the rest of the line holds no collection.
                        if flowDepth == 0 { return false }
                    }
                    i += 1
                    continue
                }
                switch c {
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    flowDepth += 1
                    if depth > limit { return true }
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    flowDepth = max(0, flowDepth - 1)
                    if flowDepth == 0 { return false }
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    // Only at the start of a node: `[don't]` is a plain scalar with an apostrophe.
                    if flowDepth > 0, i == start || [Self.space, Self.tab, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","),
                                                      UInt8(ascii: ":")].contains(line[i - 1]) { quote = c }
                case Self.hash where i == start || line[i - 1] == Self.space || line[i - 1] == Self.tab:
                    return false
                default: break
                }
                i += 1
            }
            return false
        }
    }
}
