import Foundation

/// Arithmetic on BIGINT UNSIGNED and DECIMAL values as MySQL 8 does it: exact, with its result types and scales.
/// `+` and `-` keep the larger scale, `*` adds them, `/` adds div_precision_increment (4) to the dividend's; integers
/// divided give a DECIMAL too (1/3 is 0.3333). An integer result past BIGINT UNSIGNED, or a DECIMAL past 65 digits,
/// is ERROR 1690. The miniature's DECIMAL holds 38 significant digits (MySQL's: 65).
enum ExactArithmetic {
    struct Operand {
        var value: Decimal
        var scale: Int
        var unsigned: Bool
        var integer: Bool
        var shown: String
    }

    /// The exact form of an integer or a DECIMAL; nil for a DOUBLE, a string or NULL.
    static func operand(_ v: SQLValue) -> Operand? {
        switch v {
        case .int(let i): return Operand(value: Decimal(i), scale: 0, unsigned: false, integer: true, shown: String(i))
        case .uint(let u): return Operand(value: Decimal(u), scale: 0, unsigned: true, integer: true, shown: String(u))
        case .decimal(let d, let scale): return Operand(value: d, scale: scale, unsigned: false, integer: false,
                                                        shown: SQLValue.format(d, scale: scale))
        default: return nil
        }
    }

    static let limit = pow(Decimal(10), 65)

    /// A DOUBLE's shortest digits as a DECIMAL (0.1e0 is 0.1); nil past the DECIMAL's range.
    static func exact(_ d: Double) -> Decimal? {
        guard d.isFinite, abs(d) < 1e65 else { return nil }
        return Decimal(string: "\(d)", locale: Locale(identifier: "en_US_POSIX"))
    }

    /// The exact value of a number written as text (` -1.50`, `2e3`); nil when the text is not wholly a number.
    static func parse(_ text: String) -> Decimal? {
        var t = Substring(text.trimmingCharacters(in: .whitespaces))
        let negative = t.first == "-"
        if t.first == "-" || t.first == "+" { t = t.dropFirst() }
        guard !t.isEmpty, let v = SQLValue.numericLiteral(String(t)) else { return nil }
        let magnitude: Decimal?
        switch v {
        case .double(let d): magnitude = exact(d)
        default: magnitude = operand(v)?.value
        }
        return magnitude.map { negative ? -$0 : $0 }
    }

    static func apply(_ op: String, _ a: Operand, _ b: Operand) throws -> SQLValue {
        let expression = "(\(a.shown) \(op == "%" ? "%" : op) \(b.shown))"
        let integers = a.integer && b.integer
        switch op {
        case "+", "-", "*":
            let result = op == "+" ? a.value + b.value : op == "-" ? a.value - b.value : a.value * b.value
            if integers {
                // Both BIGINT is checked before; here one is UNSIGNED, and so is the result.
                guard let u = unsignedInteger(result) else {
                    throw StoreError(code: 1690, sqlState: "22003", message: "BIGINT UNSIGNED value is out of range in '\(expression)'")
                }
                return .uint(u)
            }
            let scale = op == "*" ? min(a.scale + b.scale, SQLValue.maxScale) : max(a.scale, b.scale)
            return try decimal(result, scale: scale, expression)
        case "/":
            guard !b.value.isZero else { return .null }
            let scale = min(a.scale + 4, SQLValue.maxScale)
            return try decimal(rounded(a.value / b.value, scale: scale), scale: scale, expression)
        case "%":
            guard !b.value.isZero else { return .null }
            let result = a.value - b.value * truncated(a.value / b.value)
            if integers {
                if a.unsigned || b.unsigned, let u = unsignedInteger(result) { return .uint(u) }
                return .int(NSDecimalNumber(decimal: result).int64Value)
            }
            return try decimal(result, scale: max(a.scale, b.scale), expression)
        case "DIV":
            guard !b.value.isZero else { return .null }
            let q = truncated(a.value / b.value)
            if let i = signedInteger(q) { return .int(i) }
            if a.unsigned || b.unsigned, let u = unsignedInteger(q) { return .uint(u) }
            throw StoreError(code: 1690, sqlState: "22003",
                             message: "\(a.unsigned || b.unsigned ? "BIGINT UNSIGNED" : "BIGINT") value is out of range in '\(expression)'")
        default:
            return .null
        }
    }

    static func decimal(_ value: Decimal, scale: Int, _ expression: String) throws -> SQLValue {
        guard !value.isNaN, abs(value) < limit else {
            throw StoreError(code: 1690, sqlState: "22003", message: "DECIMAL value is out of range in '\(expression)'")
        }
        return .decimal(value, scale: scale)
    }

    static func rounded(_ value: Decimal, scale: Int) -> Decimal {
        var input = value, output = Decimal()
        NSDecimalRound(&output, &input, scale, .plain)
        return output
    }

    static func truncated(_ value: Decimal) -> Decimal {
        var input = value, output = Decimal()
        NSDecimalRound(&output, &input, 0, value < 0 ? .up : .down)
        return output
    }

    static func signedInteger(_ value: Decimal) -> Int64? {
        guard truncated(value) == value, value >= Decimal(Int64.min), value <= Decimal(Int64.max) else { return nil }
        return Int64(NSDecimalNumber(decimal: value).stringValue)
    }

    static func unsignedInteger(_ value: Decimal) -> UInt64? {
        guard truncated(value) == value, value >= 0, value <= Decimal(UInt64.max) else { return nil }
        return UInt64(NSDecimalNumber(decimal: value).stringValue)
    }

    /// Exact comparison of two integers or DECIMALs.
    static func compare(_ a: Operand, _ b: Operand) -> Int {
        a.value < b.value ? -1 : (a.value > b.value ? 1 : 0)
    }
}
