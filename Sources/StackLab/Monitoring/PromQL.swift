import Foundation

/// The subset of PromQL the lessons need: selectors with label matchers, numbers, `rate`/`increase`/`irate` over a
/// range, `sum`/`avg`/`min`/`max`/`count` with `by`/`without`, arithmetic, and comparisons (which filter, as in
/// Prometheus; with `bool` they answer 0 or 1).
///
/// ```swift
/// let expr = try PromQL.parse("sum by (proxy) (rate(haproxy_backend_http_responses_total{code=\"5xx\"}[1m])) > 0.5")
/// let result = try expr.evaluate(in: store, at: Date())
/// ```
public indirect enum PromQL: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case selector(Selector)
    case range(Selector, seconds: Double)
    case function(String, PromQL)
    case aggregate(String, grouping: Grouping, PromQL)
    case binary(String, PromQL, PromQL, returnBool: Bool)
    case negate(PromQL)

    public struct Selector: Sendable, Equatable, CustomStringConvertible {
        public var name: String?
        public var matchers: [Matcher]

        public func matches(_ labels: Labels) -> Bool { matchers.allSatisfy { $0.matches(labels[$0.label] ?? "") } }

        public var description: String {
            let inner = matchers.filter { $0.label != "__name__" }.map(\.description).joined(separator: ",")
            return (name ?? "") + (inner.isEmpty && name != nil ? "" : "{\(inner)}")
        }
    }

    public struct Matcher: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable { case equal = "=", notEqual = "!=", regex = "=~", notRegex = "!~" }
        public var label: String
        public var kind: Kind
        public var value: String

        public func matches(_ actual: String) -> Bool {
            switch kind {
            case .equal: return actual == value
            case .notEqual: return actual != value
            case .regex, .notRegex:
                // Prometheus anchors label regexes at both ends.
                let whole = actual.range(of: "^(?:\(value))$", options: .regularExpression) != nil
                return kind == .regex ? whole : !whole
            }
        }

        public var description: String { "\(label)\(kind.rawValue)\"\(value)\"" }
    }

    public enum Grouping: Sendable, Equatable {
        case none, by([String]), without([String])
    }

    public var description: String {
        switch self {
        case .number(let n): PromQL.format(n)
        case .selector(let s): s.description
        case .range(let s, let seconds): "\(s)[\(PromQL.formatDuration(seconds))]"
        case .function(let name, let arg): "\(name)(\(arg))"
        case .aggregate(let op, let grouping, let arg):
            switch grouping {
            case .none: "\(op)(\(arg))"
            case .by(let labels): "\(op) by (\(labels.joined(separator: ", "))) (\(arg))"
            case .without(let labels): "\(op) without (\(labels.joined(separator: ", "))) (\(arg))"
            }
        case .binary(let op, let l, let r, let b): "\(l) \(op)\(b ? " bool" : "") \(r)"
        case .negate(let e): "-\(e)"
        }
    }

    /// A sample value as Prometheus prints it (`0`, `0.25`, `+Inf`).
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// `5s`, `1m`, `250ms`: a duration as Prometheus writes it.
    public static func formatDuration(_ seconds: Double) -> String {
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\(Int(seconds * 1000))ms"
    }
}

/// A PromQL expression the parser could not read, with the column where it stopped.
public struct PromQLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var expression: String
    public var position: Int
    public var reason: String
    public var description: String { "parse error at char \(position + 1): \(reason) (in \"\(expression)\")" }
}

// MARK: - Parsing

extension PromQL {
    public static let functions: Set<String> = ["rate", "increase", "irate", "abs", "absent"]
    public static let aggregations: Set<String> = ["sum", "avg", "min", "max", "count"]

    public static func parse(_ text: String) throws(PromQLError) -> PromQL {
        var parser = PromQLParser(text: text)
        let expr = try parser.parseExpression()
        parser.skipSpaces()
        guard parser.atEnd else { throw parser.error("unexpected \"\(parser.rest.prefix(10))\"") }
        return expr
    }

    /// `5s`, `1m`, `1h30m`, `100ms`, `2d`: Prometheus durations, in seconds.
    public static func parseDuration(_ text: String) -> Double? {
        var total = 0.0
        var number = ""
        var index = text.startIndex
        guard !text.isEmpty else { return nil }
        while index < text.endIndex {
            let char = text[index]
            if char.isNumber || char == "." {
                number.append(char)
                index = text.index(after: index)
                continue
            }
            var unit = String(char)
            let next = text.index(after: index)
            if char == "m", next < text.endIndex, text[next] == "s" { unit = "ms" }
            guard let value = Double(number) else { return nil }
            switch unit {
            case "ms": total += value / 1000
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86400
            case "w": total += value * 604800
            case "y": total += value * 31_536_000
            default: return nil
            }
            number = ""
            index = text.index(index, offsetBy: unit.count)
        }
        return number.isEmpty ? total : nil
    }
}

struct PromQLParser {
    let text: String
    let chars: [Character]
    var position = 0
    /// How deep the parser has recursed (parentheses, functions, unary minus), and how deep the tree it last returned
    /// is: both bounded, so neither parsing nor evaluating nor freeing an expression can exhaust the stack.
    var nesting = 0
    var depth = 0
    /// Deeper than any rule needs; Prometheus has no bound of its own (Go stacks grow).
    static let maximumDepth = 100

    init(text: String) {
        self.text = text
        self.chars = Array(text)
    }

    var atEnd: Bool { position >= chars.count }
    var rest: String { String(chars[min(position, chars.count)...]) }

    func error(_ reason: String) -> PromQLError { PromQLError(expression: text, position: position, reason: reason) }

    mutating func skipSpaces() { while position < chars.count, chars[position].isWhitespace { position += 1 } }

    mutating func peek(_ token: String) -> Bool {
        skipSpaces()
        // Compared in place: building `rest` for every look-ahead would make a long expression quadratic.
        var index = position
        for c in token {
            guard index < chars.count, chars[index] == c else { return false }
            index += 1
        }
        return true
    }

    func tooDeep() -> PromQLError { error("expression nested more than \(Self.maximumDepth) deep: the lab's monitor reads at most \(Self.maximumDepth) levels") }

    /// The depth of a node over children of these depths.
    mutating func node(over children: Int...) throws(PromQLError) {
        depth = (children.max() ?? 0) + 1
        guard depth <= Self.maximumDepth else { throw tooDeep() }
    }

    mutating func enter() throws(PromQLError) {
        nesting += 1
        guard nesting <= Self.maximumDepth else { throw tooDeep() }
    }

    mutating func consume(_ token: String) -> Bool {
        guard peek(token) else { return false }
        position += token.count
        return true
    }

    mutating func expect(_ token: String) throws(PromQLError) {
        guard consume(token) else { throw error("expected \"\(token)\"") }
    }

    mutating func identifier() -> String? {
        skipSpaces()
        let start = position
        while position < chars.count, chars[position].isLetter || chars[position] == "_" || chars[position] == ":"
            || (position > start && chars[position].isNumber) {
            position += 1
        }
        return position > start ? String(chars[start..<position]) : nil
    }

    mutating func parseExpression() throws(PromQLError) -> PromQL { try parseComparison() }

    mutating func parseComparison() throws(PromQLError) -> PromQL {
        var left = try parseAdditive()
        var leftDepth = depth
        while true {
            guard let op = ["==", "!=", ">=", "<=", ">", "<"].first(where: { peek($0) }) else { depth = leftDepth; return left }
            _ = consume(op)
            let returnBool = consumeKeyword("bool")
            let right = try parseAdditive()
            try node(over: leftDepth, depth)
            leftDepth = depth
            left = .binary(op, left, right, returnBool: returnBool)
        }
    }

    mutating func consumeKeyword(_ word: String) -> Bool {
        let saved = position
        if identifier() == word { return true }
        position = saved
        return false
    }

    mutating func parseAdditive() throws(PromQLError) -> PromQL {
        var left = try parseMultiplicative()
        var leftDepth = depth
        while true {
            guard let op = ["+", "-"].first(where: { peek($0) }) else { depth = leftDepth; return left }
            _ = consume(op)
            let right = try parseMultiplicative()
            try node(over: leftDepth, depth)
            leftDepth = depth
            left = .binary(op, left, right, returnBool: false)
        }
    }

    mutating func parseMultiplicative() throws(PromQLError) -> PromQL {
        var left = try parseUnary()
        var leftDepth = depth
        while true {
            guard let op = ["*", "/", "%"].first(where: { peek($0) }) else { depth = leftDepth; return left }
            _ = consume(op)
            let right = try parseUnary()
            try node(over: leftDepth, depth)
            leftDepth = depth
            left = .binary(op, left, right, returnBool: false)
        }
    }

    mutating func parseUnary() throws(PromQLError) -> PromQL {
        if consume("-") {
            try enter()
            defer { nesting -= 1 }
            let inner = try parseUnary()
            try node(over: depth)
            return .negate(inner)
        }
        return try parsePrimary()
    }

    mutating func parsePrimary() throws(PromQLError) -> PromQL {
        skipSpaces()
        guard !atEnd else { throw error("unexpected end of input") }
        if consume("(") {
            try enter()
            defer { nesting -= 1 }
            let inner = try parseExpression()
            try expect(")")
            return inner
        }
        depth = 1
        if chars[position].isNumber || chars[position] == "." {
            let start = position
            while position < chars.count, chars[position].isNumber || chars[position] == "." || chars[position] == "e" {
                position += 1
            }
            guard let value = Double(String(chars[start..<position])) else { throw error("bad number") }
            return .number(value)
        }
        if peek("{") { return try parseSelector(name: nil) }
        guard let name = identifier() else { throw error("unexpected character \"\(chars[position])\"") }
        if PromQL.aggregations.contains(name) {
            var grouping = try parseGrouping()
            try expect("(")
            try enter()
            defer { nesting -= 1 }
            let inner = try parseExpression()
            try node(over: depth)
            try expect(")")
            if grouping == .none { grouping = try parseGrouping() }
            return .aggregate(name, grouping: grouping, inner)
        }
        if PromQL.functions.contains(name), peek("(") {
            try expect("(")
            try enter()
            defer { nesting -= 1 }
            let inner = try parseExpression()
            try node(over: depth)
            try expect(")")
            if ["rate", "increase", "irate"].contains(name) {
                guard case .range = inner else { throw error("\(name)() needs a range vector, like \(name)(x[1m])") }
            }
            return .function(name, inner)
        }
        if name == "Inf" || name == "NaN" { return .number(name == "Inf" ? .infinity : .nan) }
        return try parseSelector(name: name)
    }

    mutating func parseGrouping() throws(PromQLError) -> PromQL.Grouping {
        let saved = position
        guard let word = identifier(), word == "by" || word == "without" else {
            position = saved
            return .none
        }
        try expect("(")
        var labels: [String] = []
        while !consume(")") {
            guard let label = identifier() else { throw error("expected a label name") }
            labels.append(label)
            _ = consume(",")
        }
        return word == "by" ? .by(labels) : .without(labels)
    }

    mutating func parseSelector(name: String?) throws(PromQLError) -> PromQL {
        var matchers: [PromQL.Matcher] = []
        if consume("{") {
            while !consume("}") {
                guard let label = identifier() else { throw error("expected a label name") }
                guard let kind = [PromQL.Matcher.Kind.regex, .notRegex, .notEqual, .equal].first(where: { consume($0.rawValue) }) else {
                    throw error("expected =, !=, =~ or !~ after \(label)")
                }
                skipSpaces()
                guard position < chars.count, chars[position] == "\"" || chars[position] == "'" else { throw error("expected a quoted value") }
                let quote = chars[position]
                position += 1
                var value = ""
                while position < chars.count, chars[position] != quote {
                    if chars[position] == "\\", position + 1 < chars.count { position += 1 }
                    value.append(chars[position])
                    position += 1
                }
                guard position < chars.count else { throw error("unterminated string") }
                position += 1
                matchers.append(PromQL.Matcher(label: label, kind: kind, value: value))
                _ = consume(",")
            }
        }
        if let name { matchers.insert(PromQL.Matcher(label: "__name__", kind: .equal, value: name), at: 0) }
        guard !matchers.isEmpty else { throw error("a selector needs a metric name or a label matcher") }
        let selector = PromQL.Selector(name: name, matchers: matchers)
        if consume("[") {
            let start = position
            while position < chars.count, chars[position] != "]" { position += 1 }
            let text = String(chars[start..<position]).trimmingCharacters(in: " ")
            try expect("]")
            guard let seconds = PromQL.parseDuration(text), seconds > 0 else { throw error("bad range duration \"\(text)\"") }
            return .range(selector, seconds: seconds)
        }
        return .selector(selector)
    }
}
