import Foundation

/// Evaluates expressions against one row (or a group of rows for aggregates), with MySQL's NULL and
/// type-conversion rules.
struct Evaluator {
    var table: Table?
    var session: Session
    var engine: StoreEngine
    var state: StoreEngine.State
    /// The clause named in "Unknown column 'x' in '…'".
    var clause: String

    func nowMillis() -> UInt64 { session.replay?.millis ?? UInt64(Date().timeIntervalSince1970 * 1000) }

    /// Checks every column reference before any row is read, as MySQL does when it prepares a statement.
    func validate(_ e: Expr) throws {
        switch e {
        case .column(let t, let name):
            guard let table, table.columnIndex(name) != nil else {
                throw StoreError.unknownColumn(t.map { "\($0).\(name)" } ?? name, in: clause)
            }
        case .function(_, let args, _): for a in args { try validate(a) }
        case .unary(_, let a), .isNull(let a, _): try validate(a)
        case .binary(_, let a, let b), .like(let a, let b, _): try validate(a); try validate(b)
        case .inList(let a, let l, _): try validate(a); for x in l { try validate(x) }
        case .between(let a, let b, let c, _): try validate(a); try validate(b); try validate(c)
        case .systemVariable(let name): _ = try systemVariable(name)
        default: break
        }
    }

    /// Replaces column names by row positions once per statement, so rows are not searched by name.
    func resolve(_ e: Expr) -> Expr {
        switch e {
        case .column(_, let name):
            if let table, let i = table.columnIndex(name) { return .slot(i) }
            return e
        case .function(let n, let args, let star): return .function(name: n, args: args.map(resolve), star: star)
        case .unary(let op, let a): return .unary(op, resolve(a))
        case .binary(let op, let a, let b): return .binary(op, resolve(a), resolve(b))
        case .isNull(let a, let n): return .isNull(resolve(a), negated: n)
        case .inList(let a, let l, let n): return .inList(resolve(a), l.map(resolve), negated: n)
        case .like(let a, let b, let n): return .like(resolve(a), resolve(b), negated: n)
        case .between(let a, let b, let c, let n): return .between(resolve(a), resolve(b), resolve(c), negated: n)
        default: return e
        }
    }

    func eval(_ e: Expr, row: [SQLValue]?, group: [[SQLValue]]? = nil) throws -> SQLValue {
        switch e {
        case .literal(let v): return v
        case .slot(let i):
            if let row, i < row.count { return row[i] }
            if let first = group?.first, i < first.count { return first[i] }
            return .null
        case .column(let t, let name):
            guard let table, let i = table.columnIndex(name) else { throw StoreError.unknownColumn(t.map { "\($0).\(name)" } ?? name, in: clause) }
            if let row, i < row.count { return row[i] }
            if let first = group?.first, i < first.count { return first[i] }
            return .null
        case .systemVariable(let name): return try systemVariable(name)
        case .userVariable(let name): return session.userVariables[name] ?? .null
        case .unary(let op, let a):
            let v = try eval(a, row: row, group: group)
            if op == "NOT" { return v.truth.map { .int($0 ? 0 : 1) } ?? .null }
            switch v {
            case .null: return .null
            case .int(let i): return i == .min ? .decimal(-Decimal(i), scale: 0) : .int(-i)
            case .uint(let u): return .decimal(-Decimal(u), scale: 0)
            case .decimal(let d, let scale): return .decimal(-d, scale: scale)
            default: return .double(-(v.number ?? 0))
            }
        case .binary(let op, let a, let b):
            if op == "AND" {
                let l = try eval(a, row: row, group: group).truth
                if l == false { return .int(0) }
                let r = try eval(b, row: row, group: group).truth
                if r == false { return .int(0) }
                return (l == nil || r == nil) ? .null : .int(1)
            }
            if op == "OR" {
                let l = try eval(a, row: row, group: group).truth
                if l == true { return .int(1) }
                let r = try eval(b, row: row, group: group).truth
                if r == true { return .int(1) }
                return (l == nil || r == nil) ? .null : .int(0)
            }
            let l = try eval(a, row: row, group: group), r = try eval(b, row: row, group: group)
            switch op {
            case "XOR":
                guard let x = l.truth, let y = r.truth else { return .null }
                return .int(x != y ? 1 : 0)
            case "<=>":
                if l.isNull || r.isNull { return .int(l.isNull && r.isNull ? 1 : 0) }
                return .int(Self.compare(l, r) == 0 ? 1 : 0)
            case "=", "!=", "<", ">", "<=", ">=":
                guard let c = Self.compare(l, r) else { return .null }
                let t: Bool
                switch op {
                case "=": t = c == 0
                case "!=": t = c != 0
                case "<": t = c < 0
                case ">": t = c > 0
                case "<=": t = c <= 0
                default: t = c >= 0
                }
                return .int(t ? 1 : 0)
            default:
                return try Self.arithmetic(op, l, r)
            }
        case .isNull(let a, let negated):
            let v = try eval(a, row: row, group: group)
            return .int(v.isNull != negated ? 1 : 0)
        case .like(let a, let p, let negated):
            let v = try eval(a, row: row, group: group), pat = try eval(p, row: row, group: group)
            guard let text = v.text, let pattern = pat.text else { return .null }
            return .int(Like.matches(text, pattern: pattern) != negated ? 1 : 0)
        case .inList(let a, let list, let negated):
            let v = try eval(a, row: row, group: group)
            if v.isNull { return .null }
            var sawNull = false
            for x in list {
                let w = try eval(x, row: row, group: group)
                if w.isNull { sawNull = true; continue }
                if Self.compare(v, w) == 0 { return .int(negated ? 0 : 1) }
            }
            return sawNull ? .null : .int(negated ? 1 : 0)
        case .between(let a, let lo, let hi, let negated):
            let v = try eval(a, row: row, group: group), l = try eval(lo, row: row, group: group), h = try eval(hi, row: row, group: group)
            guard let c1 = Self.compare(v, l), let c2 = Self.compare(v, h) else { return .null }
            return .int((c1 >= 0 && c2 <= 0) != negated ? 1 : 0)
        case .function(let name, let args, let star):
            return try function(name, args, star: star, row: row, group: group)
        case .subquery, .exists, .inSubquery, .window:
            // This evaluator reads one row of one table: it runs no subquery and no window function.
            throw e.refusal ?? StoreError.notSupported("subqueries")
        }
    }

    private func function(_ name: String, _ args: [Expr], star: Bool, row: [SQLValue]?, group: [[SQLValue]]?) throws -> SQLValue {
        func arg(_ i: Int) throws -> SQLValue { i < args.count ? try eval(args[i], row: row, group: group) : .null }
        func argc(_ n: ClosedRange<Int>) throws {
            guard n.contains(args.count) else {
                throw StoreError(code: 1582, sqlState: "42000", message: "Incorrect parameter count in the call to native function '\(name)'")
            }
        }
        switch name {
        case "COUNT", "COUNT_DISTINCT", "SUM", "MIN", "MAX", "AVG":
            let rows = group ?? (row.map { [$0] } ?? [[]])
            if star { return .int(Int64(rows.count)) }
            try argc(1...1)
            var values: [SQLValue] = []
            for r in rows {
                let v = try eval(args[0], row: r)
                if !v.isNull { values.append(v) }
            }
            switch name {
            case "COUNT": return .int(Int64(values.count))
            case "COUNT_DISTINCT": return .int(Int64(Set(values.map(ExecutionContext.groupKey)).count))
            case "MIN": return values.min { (Self.compare($0, $1) ?? 0) < 0 } ?? .null
            case "MAX": return values.max { (Self.compare($0, $1) ?? 0) < 0 } ?? .null
            default:
                // SUM and AVG of integers and DECIMALs are exact DECIMALs (AVG with 4 more digits: 2.0000); of
                // anything else, DOUBLEs.
                if values.isEmpty { return .null }
                let exact = values.compactMap(ExactArithmetic.operand)
                if exact.count == values.count {
                    let total = exact.reduce(Decimal(0)) { $0 + $1.value }
                    let scale = exact.map(\.scale).max() ?? 0
                    let shown = "\(name.lowercased())(\(args[0]))"
                    if name == "SUM" { return try ExactArithmetic.decimal(total, scale: scale, shown) }
                    let avgScale = min(scale + 4, SQLValue.maxScale)
                    return try ExactArithmetic.decimal(ExactArithmetic.rounded(total / Decimal(exact.count), scale: avgScale),
                                                       scale: avgScale, shown)
                }
                let total = values.reduce(0) { $0 + ($1.number ?? 0) }
                return .double(name == "SUM" ? total : total / Double(values.count))
            }
        case "NOW", "SYSDATE", "CURRENT_TIMESTAMP", "LOCALTIMESTAMP", "LOCALTIME":
            return .string(Clock.datetime(Date(timeIntervalSince1970: Double(nowMillis()) / 1000)))
        case "UTC_TIMESTAMP":
            return .string(Clock.datetime(Date(timeIntervalSince1970: Double(nowMillis()) / 1000), utc: true))
        case "CURDATE":
            return .string(String(Clock.datetime(Date(timeIntervalSince1970: Double(nowMillis()) / 1000)).prefix(10)))
        case "CURTIME":
            return .string(String(Clock.datetime(Date(timeIntervalSince1970: Double(nowMillis()) / 1000)).suffix(8)))
        case "UNIX_TIMESTAMP": return .int(Int64(nowMillis() / 1000))
        case "DATABASE", "SCHEMA": return session.database.map { .string($0) } ?? .null
        case "VERSION": return .string(StoreEngine.version)
        case "USER", "SESSION_USER", "SYSTEM_USER": return .string("\(session.user)@\(session.host)")
        case "CURRENT_USER": return .string("\(session.account.name)@\(session.account.host)")
        case "LAST_INSERT_ID":
            if !args.isEmpty { return try arg(0) }
            return .int(session.lastInsertID)
        case "CONNECTION_ID": return .int(Int64(session.connectionID))
        case "ROW_COUNT": return .int(session.rowCount)
        case "TRUTH": return try arg(0).truth.map { .int($0 ? 1 : 0) } ?? .null
        case "CONCAT":
            var s = ""
            for i in args.indices {
                guard let t = try arg(i).text else { return .null }
                s += t
            }
            return .string(s)
        case "UPPER", "UCASE": return try arg(0).text.map { .string($0.uppercased()) } ?? .null
        case "LOWER", "LCASE": return try arg(0).text.map { .string($0.lowercased()) } ?? .null
        case "LENGTH", "OCTET_LENGTH": return try arg(0).text.map { .int(Int64($0.utf8.count)) } ?? .null
        case "CHAR_LENGTH", "CHARACTER_LENGTH": return try arg(0).text.map { .int(Int64($0.count)) } ?? .null
        case "COALESCE":
            for i in args.indices { let v = try arg(i); if !v.isNull { return v } }
            return .null
        case "IFNULL":
            try argc(2...2)
            let v = try arg(0)
            return v.isNull ? try arg(1) : v
        case "NULLIF":
            try argc(2...2)
            let a = try arg(0), b = try arg(1)
            return !a.isNull && !b.isNull && Self.compare(a, b) == 0 ? .null : a
        case "CASE:SIMPLE":
            // The first WHEN equal to the value wins; NULL equals nothing.
            let v = try arg(0)
            var i = 1
            while i + 1 < args.count {
                let w = try arg(i)
                if !v.isNull, !w.isNull, Self.compare(v, w) == 0 { return try arg(i + 1) }
                i += 2
            }
            return i < args.count ? try arg(i) : .null
        case "CASE:SEARCHED":
            var i = 0
            while i + 1 < args.count {
                if try arg(i).truth == true { return try arg(i + 1) }
                i += 2
            }
            return i < args.count ? try arg(i) : .null
        case "IF":
            try argc(3...3)
            return try arg(0).truth == true ? try arg(1) : try arg(2)
        case "ABS":
            let v = try arg(0)
            switch v {
            case .int(let i):
                guard i != .min else { throw StoreError(code: 1690, sqlState: "22003", message: "BIGINT value is out of range in 'abs(\(i))'") }
                return .int(abs(i))
            case .uint: return v
            case .decimal(let d, let scale): return .decimal(abs(d), scale: scale)
            default: return v.number.map { .double(abs($0)) } ?? .null
            }
        case "ROUND", "FLOOR", "CEIL", "CEILING":
            try argc(name == "ROUND" ? 1...2 : 1...1)
            let v = try arg(0)
            var digits = 0
            if args.count == 2 {
                guard let d = try arg(1).number else { return .null }
                digits = Int(max(-60, min(60, d.rounded(.towardZero))))
            }
            if case .int = v, digits >= 0 { return v }
            if case .uint = v, digits >= 0 { return v }
            if let exact = ExactArithmetic.operand(v) {
                // Exact: ROUND(2.5) is 3, ROUND(-2.5) is -3, ROUND(1.2345, 2) is 1.23; FLOOR and CEILING to integers.
                let mode: NSDecimalNumber.RoundingMode = name == "ROUND" ? .plain : name == "FLOOR" ? .down : .up
                var input = exact.value, output = Decimal()
                NSDecimalRound(&output, &input, digits, mode)
                if exact.integer || digits <= 0 {
                    if let i = ExactArithmetic.signedInteger(output) { return .int(i) }
                    if let u = ExactArithmetic.unsignedInteger(output) { return .uint(u) }
                    return .decimal(output, scale: 0)
                }
                return .decimal(output, scale: min(digits, SQLValue.maxScale))
            }
            guard let n = v.number else { return .null }
            // DOUBLE: MySQL rounds half to even (rint), to `digits` places.
            let scale = pow(10, Double(digits))
            // Past a double's precision there is nothing left to round: ROUND(1e300, 10) is 1e300.
            let scaled = (n * scale).isFinite ? (n * scale).rounded(.toNearestOrEven) / scale : n
            let r = name == "ROUND" ? scaled : name == "FLOOR" ? n.rounded(.down) : n.rounded(.up)
            if name != "ROUND", abs(r) < 9e18 { return .int(Int64(r)) }
            return r.isFinite ? .double(r) : .null
        case "SUBSTRING", "SUBSTR", "MID":
            try argc(2...3)
            guard let text = try arg(0).text, let start = try arg(1).number else { return .null }
            let length = args.count == 3 ? try arg(2).number : Double(text.count)
            guard let length else { return .null }
            return .string(Self.substring(text, from: start, length: length))
        case "LEFT", "RIGHT":
            try argc(2...2)
            guard let text = try arg(0).text, let n = try arg(1).number else { return .null }
            let count = Int(max(0, min(Double(text.count), n.rounded())))
            return .string(String(name == "LEFT" ? text.prefix(count) : text.suffix(count)))
        case "REPLACE":
            try argc(3...3)
            guard let text = try arg(0).text, let from = try arg(1).text, let to = try arg(2).text else { return .null }
            return .string(from.isEmpty ? text : text.replacingOccurrences(of: from, with: to))
        case "TRIM", "LTRIM", "RTRIM":
            try argc(1...1)
            guard let text = try arg(0).text else { return .null }
            var t = Substring(text)
            if name != "RTRIM" { t = t.drop { $0 == " " } }
            if name != "LTRIM" { while t.last == " " { t = t.dropLast() } }
            return .string(String(t))
        case "CONCAT_WS":
            guard let separator = try arg(0).text else { return .null }
            var parts: [String] = []
            for i in args.indices.dropFirst() { if let t = try arg(i).text { parts.append(t) } }
            return .string(parts.joined(separator: separator))
        case "REVERSE": return try arg(0).text.map { .string(String($0.reversed())) } ?? .null
        case "REPEAT":
            try argc(2...2)
            guard let text = try arg(0).text, let n = try arg(1).number else { return .null }
            let count = Int(max(0, min(n.rounded(), 1e9)))
            // The answer must fit max_allowed_packet, as mysqld's does (it returns NULL past it).
            guard text.utf8.count.multipliedReportingOverflow(by: count).partialValue <= state.variables.maxAllowedPacket,
                  !text.utf8.count.multipliedReportingOverflow(by: count).overflow else { return .null }
            return .string(String(repeating: text, count: count))
        case "LOCATE", "INSTR":
            try argc(name == "LOCATE" ? 2...3 : 2...2)
            let (needleArg, haystackArg) = name == "LOCATE" ? (0, 1) : (1, 0)
            guard let needle = try arg(needleArg).text, let haystack = try arg(haystackArg).text else { return .null }
            let from = args.count == 3 ? Int(max(1, min(Double(haystack.count + 1), try arg(2).number ?? 1))) : 1
            let rest = haystack.dropFirst(from - 1)
            guard let found = rest.range(of: needle, options: .caseInsensitive) else { return .int(0) }
            return .int(Int64(haystack.distance(from: haystack.startIndex, to: found.lowerBound) + 1))
        case "GREATEST", "LEAST":
            guard args.count >= 2 else { try argc(2...2); return .null }
            var best = try arg(0)
            for i in args.indices.dropFirst() {
                let v = try arg(i)
                if v.isNull || best.isNull { return .null }
                guard let c = Self.compare(v, best) else { return .null }
                if name == "GREATEST" ? c > 0 : c < 0 { best = v }
            }
            return best
        case "MOD":
            try argc(2...2)
            return try Self.arithmetic("%", try arg(0), try arg(1))
        case "POW", "POWER":
            try argc(2...2)
            guard let x = try arg(0).number, let y = try arg(1).number else { return .null }
            let r = pow(x, y)
            guard r.isFinite else { throw StoreError(code: 1690, sqlState: "22003", message: "DOUBLE value is out of range in 'pow(\(x),\(y))'") }
            return .double(r)
        case "SQRT":
            guard let x = try arg(0).number, x >= 0 else { return .null }
            return .double(x.squareRoot())
        case "SIGN":
            guard let x = try arg(0).number else { return .null }
            return .int(x > 0 ? 1 : (x < 0 ? -1 : 0))
        case "DATE", "YEAR", "MONTH", "DAY", "DAYOFMONTH", "HOUR", "MINUTE", "SECOND":
            try argc(1...1)
            guard let text = try arg(0).text, let datetime = ExecutionContext.normalizeDatetime(text, dateOnly: false) else { return .null }
            if name == "DATE" { return .string(String(datetime.prefix(10))) }
            let fields = datetime.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).compactMap { Int64($0) }
            let index = ["YEAR": 0, "MONTH": 1, "DAY": 2, "DAYOFMONTH": 2, "HOUR": 3, "MINUTE": 4, "SECOND": 5][name] ?? 0
            return index < fields.count ? .int(fields[index]) : .null
        case "CAST_SIGNED", "CAST_UNSIGNED":
            let v = try arg(0)
            if v.isNull { return .null }
            // Rounded as mysqld rounds (3.7 is 4); a string is read up to its first non-digit.
            let exact = ExactArithmetic.operand(v)?.value
                ?? v.number.map { ExactArithmetic.exact($0) ?? ($0 < 0 ? -ExactArithmetic.limit : ExactArithmetic.limit) } ?? 0
            let whole = ExactArithmetic.rounded(exact, scale: 0)
            if name == "CAST_SIGNED" {
                if let i = ExactArithmetic.signedInteger(whole) { return .int(i) }
                if let u = ExactArithmetic.unsignedInteger(whole) { return .int(Int64(bitPattern: u)) }
                return .int(whole < 0 ? Int64.min : Int64.max)
            }
            if let u = ExactArithmetic.unsignedInteger(whole) { return .uint(u) }
            if let i = ExactArithmetic.signedInteger(whole) { return .uint(UInt64(bitPattern: i)) }
            return .uint(whole < 0 ? 0 : UInt64.max)
        case "CAST_CHAR": return try arg(0).text.map { .string($0) } ?? .null
        case "CAST_DOUBLE", "CAST_FLOAT", "CAST_REAL": return try arg(0).number.map { .double($0) } ?? .null
        case "CAST_DATE", "CAST_DATETIME":
            guard let text = try arg(0).text, let datetime = ExecutionContext.normalizeDatetime(text, dateOnly: name == "CAST_DATE") else { return .null }
            return .string(datetime)
        case "CAST_DECIMAL":
            let v = try arg(0)
            guard case .int(let precision) = try arg(1), case .int(let scale) = try arg(2) else { return .null }
            if v.isNull { return .null }
            guard (1...Int64(SQLValue.decimalDigits)).contains(precision), (0...min(precision, Int64(SQLValue.maxScale))).contains(scale) else {
                throw StoreError.notSupported("CAST to DECIMAL(\(precision),\(scale))")
            }
            let column = Column(name: "", kind: .decimal(precision: Int(precision), scale: Int(scale)), notNull: false, defaultValue: nil,
                                autoIncrement: false, primaryKey: false, unique: false)
            // Past the column's digits mysqld gives the largest value with a warning; here, the same value.
            if let stored = try? ExecutionContext.coerce(v, to: column, row: 1) { return stored }
            let largest = pow(Decimal(10), Int(precision)) - 1
            var limit = largest, shifted = Decimal()
            NSDecimalMultiplyByPowerOf10(&shifted, &limit, Int16(-scale), .plain)
            return .decimal((v.number ?? 0) < 0 ? -shifted : shifted, scale: Int(scale))
        case "UUID": return .string(UUID().uuidString.lowercased())
        case "RAND": return .double(Double.random(in: 0..<1))
        case "SLEEP": throw StoreError.notSupported("SLEEP() other than as SELECT SLEEP(n)")
        default:
            if Self.mysqlFunctions.contains(name) { throw StoreError.notSupported("\(name)()") }
            throw StoreError.unknownFunction(name.lowercased(), db: session.database)
        }
    }

    /// MySQL 8 built-ins the miniature leaves out: ERROR 1235 names them, where 1305 ("does not exist") would
    /// tell a learner that MySQL has no such function.
    static let mysqlFunctions: Set<String> = [
        "FOUND_ROWS", "DATE_ADD", "DATE_SUB", "ADDDATE", "SUBDATE", "DATEDIFF", "TIMESTAMPDIFF", "TIMESTAMPADD",
        "DATE_FORMAT", "STR_TO_DATE", "FROM_UNIXTIME", "DAYNAME", "DAYOFWEEK", "DAYOFYEAR", "WEEK", "WEEKDAY", "QUARTER",
        "MONTHNAME", "LAST_DAY", "MAKEDATE", "TIME", "TIME_TO_SEC", "SEC_TO_TIME", "EXTRACT", "CONVERT_TZ", "GROUP_CONCAT",
        "STD", "STDDEV", "VARIANCE", "BIT_AND", "BIT_OR", "JSON_OBJECT", "JSON_ARRAY", "JSON_EXTRACT", "MD5", "SHA1", "SHA2",
        "CRC32", "HEX", "UNHEX", "BIN", "OCT", "CONV", "ASCII", "ORD", "CHAR", "FORMAT", "LPAD", "RPAD", "SPACE", "INSERT",
        "FIND_IN_SET", "FIELD", "ELT", "STRCMP", "SOUNDEX", "REGEXP_LIKE", "REGEXP_REPLACE", "REGEXP_SUBSTR", "SUBSTRING_INDEX",
        "ISNULL", "INET_ATON", "INET_NTOA", "UUID_SHORT", "BENCHMARK", "CHARSET", "COLLATION", "EXP", "LN", "LOG",
        "LOG2", "LOG10", "PI", "SIN", "COS", "TAN", "ASIN", "ACOS", "ATAN", "ATAN2", "COT", "DEGREES", "RADIANS", "TRUNCATE",
        "ANY_VALUE", "GET_LOCK", "RELEASE_LOCK", "MASTER_POS_WAIT", "SOURCE_POS_WAIT", "WAIT_FOR_EXECUTED_GTID_SET",
    ]

    func systemVariable(_ name: String) throws -> SQLValue {
        guard let v = SystemVariables.value(name.lowercased(), engine: engine, state: state, session: session) else {
            throw StoreError.unknownSystemVariable(name)
        }
        return v
    }

    /// SUBSTRING(str, pos, len) as mysqld counts: from 1, from the end when negative, nothing from 0.
    static func substring(_ text: String, from start: Double, length: Double) -> String {
        let characters = Array(text)
        let n = Double(characters.count)
        let first = start.rounded(), count = length.rounded()
        guard first != 0, abs(first) <= n, count > 0 else { return "" }
        let begin = Int(first > 0 ? first - 1 : n + first)
        let end = Int(min(n, Double(begin) + count))
        return String(characters[begin..<end])
    }

    // MARK: - Comparison and arithmetic

    /// MySQL's comparison: numbers numerically (strings converted), strings case-insensitively.
    static func compare(_ a: SQLValue, _ b: SQLValue) -> Int? {
        switch (a, b) {
        case (.null, _), (_, .null): return nil
        case (.int(let x), .int(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.int, .uint), (.uint, .int), (.uint, .uint), (.decimal, .int), (.decimal, .uint), (.decimal, .decimal),
             (.int, .decimal), (.uint, .decimal):
            guard let x = ExactArithmetic.operand(a), let y = ExactArithmetic.operand(b) else { return nil }
            return ExactArithmetic.compare(x, y)
        case (.string(let x), .string(let y)):
            let l = x.lowercased(), r = y.lowercased()
            return l < r ? -1 : (l > r ? 1 : 0)
        default:
            guard let x = a.number, let y = b.number else { return nil }
            return x < y ? -1 : (x > y ? 1 : 0)
        }
    }

    static func arithmetic(_ op: String, _ l: SQLValue, _ r: SQLValue) throws -> SQLValue {
        if l.isNull || r.isNull { return .null }
        if case .int(let x) = l, case .int(let y) = r {
            switch op {
            case "+", "-", "*":
                let (v, o) = op == "+" ? x.addingReportingOverflow(y) : op == "-" ? x.subtractingReportingOverflow(y) : x.multipliedReportingOverflow(by: y)
                if o { throw StoreError(code: 1690, sqlState: "22003", message: "BIGINT value is out of range in '(\(x) \(op) \(y))'") }
                return .int(v)
            case "DIV", "%":
                if y == 0 { return .null }
                if x == .min && y == -1 {
                    // The quotient does not fit; the remainder is 0 (Swift traps on both).
                    if op == "%" { return .int(0) }
                    throw StoreError(code: 1690, sqlState: "22003", message: "BIGINT value is out of range in '(\(x) DIV \(y))'")
                }
                return .int(op == "DIV" ? x / y : x % y)
            default: break
            }
        }
        if let x = ExactArithmetic.operand(l), let y = ExactArithmetic.operand(r) { return try ExactArithmetic.apply(op, x, y) }
        guard let x = l.number, let y = r.number else { return .null }
        func finite(_ v: Double) throws -> SQLValue {
            guard v.isFinite else { throw StoreError(code: 1690, sqlState: "22003", message: "DOUBLE value is out of range in '(\(x) \(op) \(y))'") }
            return .double(v)
        }
        switch op {
        case "+": return try finite(x + y)
        case "-": return try finite(x - y)
        case "*": return try finite(x * y)
        case "/":
            guard y != 0 else { return .null }
            return try finite(x / y)
        case "%": return y == 0 ? .null : .double(x.truncatingRemainder(dividingBy: y))
        case "DIV":
            let q = (x / y).rounded(.towardZero)
            guard y != 0, q.isFinite else { return .null }
            guard abs(q) < 9.2e18 else { throw StoreError(code: 1690, sqlState: "22003", message: "BIGINT value is out of range in '(\(x) DIV \(y))'") }
            return .int(Int64(q))
        default: return .null
        }
    }
}

/// @@variables the miniature answers. Values come from settings, live state and replication.
enum SystemVariables {
    static let names = [
        "autocommit", "bind_address", "binlog_format", "character_set_client", "character_set_connection",
        "character_set_results", "character_set_server", "collation_connection", "collation_server", "connect_timeout",
        "datadir", "enforce_gtid_consistency", "gtid_executed", "gtid_mode", "hostname", "innodb_flush_log_at_trx_commit", "innodb_lock_wait_timeout",
        "interactive_timeout", "log_bin", "log_bin_basename", "log_replica_updates", "lower_case_table_names",
        "max_allowed_packet", "max_connections", "port", "read_only", "relay_log", "replica_net_timeout",
        "rpl_semi_sync_source_enabled",
        "rpl_semi_sync_source_timeout", "rpl_semi_sync_source_wait_point", "server_id", "server_uuid", "sql_mode",
        "super_read_only", "sync_binlog", "system_time_zone", "time_zone", "transaction_isolation", "version",
        "version_comment", "version_compile_os", "wait_timeout",
    ]

    static func value(_ name: String, engine: StoreEngine, state: StoreEngine.State, session: Session) -> SQLValue? {
        let s = engine.settings
        let v = state.variables
        switch name {
        case "server_id": return .int(Int64(s.serverID))
        case "read_only": return .int(v.readOnly ? 1 : 0)
        case "super_read_only": return .int(v.superReadOnly ? 1 : 0)
        case "hostname": return .string(s.serverName)
        case "version": return .string(StoreEngine.version)
        case "version_comment": return .string(StoreEngine.versionComment)
        case "version_compile_os": return .string("Linux")
        case "gtid_executed": return .string(s.gtidMode ? state.gtidExecuted.description : "")
        case "gtid_mode": return .string(s.gtidMode ? "ON" : "OFF")
        case "enforce_gtid_consistency": return .string(s.gtidMode ? "ON" : "OFF")
        case "server_uuid": return .string(engine.serverUUID)
        case "port": return .int(Int64(s.port))
        case "bind_address": return .string(s.host)
        case "log_bin": return .int(s.logBin == nil ? 0 : 1)
        case "log_bin_basename": return s.logBin.map { .string(s.dataDirectory + "/" + $0) } ?? .null
        case "relay_log": return .string(s.relayLog)
        case "log_replica_updates", "log_slave_updates": return .int(1)
        case "binlog_format": return .string("STATEMENT")
        case "datadir": return .string(s.dataDirectory + "/")
        case "rpl_semi_sync_source_enabled", "rpl_semi_sync_master_enabled": return .int(v.semiSyncSourceEnabled ? 1 : 0)
        case "rpl_semi_sync_source_timeout", "rpl_semi_sync_master_timeout": return .int(Int64(v.semiSyncSourceTimeout))
        case "rpl_semi_sync_source_wait_point", "rpl_semi_sync_master_wait_point": return .string("AFTER_SYNC")
        case "replica_net_timeout", "slave_net_timeout": return .int(Int64(v.replicaNetTimeout))
        case "autocommit": return .int(session.autocommit ? 1 : 0)
        case "innodb_lock_wait_timeout": return .int(Int64(session.lockWaitTimeout ?? v.lockWaitTimeout))
        case "sql_mode": return .string("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION")
        case "max_allowed_packet": return .int(Int64(v.maxAllowedPacket))
        case "max_connections": return .int(Int64(v.maxConnections))
        case "connect_timeout": return .int(Int64(v.connectTimeout))
        case "character_set_client", "character_set_connection", "character_set_results", "character_set_server",
             "character_set_database": return .string("utf8mb4")
        case "character_set_system": return .string("utf8mb3")
        case "character_set_filesystem": return .string("binary")
        case "collation_connection", "collation_server", "collation_database": return .string("utf8mb4_0900_ai_ci")
        case "time_zone": return .string("SYSTEM")
        case "system_time_zone": return .string(TimeZone.current.abbreviation() ?? "UTC")
        case "transaction_isolation", "tx_isolation": return .string("REPEATABLE-READ")
        case "lower_case_table_names": return .int(0)
        case "wait_timeout": return .int(Int64(session.waitTimeout ?? v.waitTimeout))
        case "interactive_timeout": return .int(Int64(v.interactiveTimeout))
        case "innodb_flush_log_at_trx_commit", "sync_binlog": return .int(1)
        case "session_track_gtids": return .string("OFF")
        case "net_write_timeout": return .int(60)
        case "net_read_timeout": return .int(30)
        case "license": return .string("GPL")
        case "identity", "last_insert_id": return .int(session.lastInsertID)
        case "tx_read_only", "transaction_read_only": return .int(0)
        case "max_execution_time": return .int(0)
        case "sql_select_limit": return .int(Int64.max)
        case "performance_schema": return .int(0)
        case "lower_case_file_system": return .int(0)
        case "default_storage_engine": return .string("InnoDB")
        case "protocol_version": return .int(10)
        case "skip_name_resolve": return .int(1)
        default: return nil
        }
    }
}
