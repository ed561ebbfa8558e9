import Foundation

/// A result's column definitions as MySQL sends them: a stored column keeps its dictionary definition, anything
/// computed is typed from its values.
extension ExecutionContext {
    func evaluator(_ table: Table?, _ session: Session, clause: String) -> Evaluator {
        Evaluator(table: table, session: session, engine: engine, state: state, clause: clause)
    }

    static func display(_ v: SQLValue) -> String? { v.text }

    static func columnDefinition(_ c: Column, name: String, table: String, db: String) -> StoreColumn {
        var flags: UInt16 = 0
        if c.notNull { flags |= ColumnFlag.notNull }
        if c.primaryKey { flags |= ColumnFlag.primaryKey | ColumnFlag.partKey }
        if c.unique { flags |= ColumnFlag.uniqueKey | ColumnFlag.partKey }
        if c.autoIncrement { flags |= ColumnFlag.autoIncrement }
        if c.kind == .text { flags |= ColumnFlag.blob }
        if c.kind.unsignedMax != nil { flags |= ColumnFlag.unsigned }
        if c.defaultValue == nil && c.notNull && !c.autoIncrement { flags |= ColumnFlag.noDefaultValue }
        var col = StoreColumn(name: name, type: c.wireType, length: c.wireLength, flags: flags, table: table, database: db, orgName: c.name,
                              decimals: c.kind == .double ? 31 : { if case .decimal(_, let s) = c.kind { return UInt8(clamping: s) }; return 0 }())
        col.orgTable = table
        return col
    }

    /// MySQL types literals and functions statically; the subset infers from the values and a few known functions.
    static func inferColumn(_ name: String, expr: Expr, values: [SQLValue]) -> StoreColumn {
        let notNull = !values.contains(.null) && !values.isEmpty
        let nn = notNull ? ColumnFlag.notNull : 0
        if case .function(let f, _, _) = expr {
            switch f {
            case "COUNT", "COUNT_DISTINCT": return StoreColumn(name: name, type: .longlong, length: 21, flags: ColumnFlag.notNull)
            case "NOW", "SYSDATE", "UTC_TIMESTAMP": return StoreColumn(name: name, type: .datetime, length: 19, flags: nn)
            case "CURDATE": return StoreColumn(name: name, type: .date, length: 10, flags: nn)
            default: break
            }
        }
        if case .literal(.null) = expr { return StoreColumn(name: name, type: .null, length: 0) }
        let nonNull = values.filter { !$0.isNull }
        let width = UInt32(clamping: max(nonNull.map { $0.text?.count ?? 1 }.max() ?? 1, 1))
        let scales = nonNull.compactMap { v -> Int? in if case .decimal(_, let scale) = v { return scale }; return nil }
        if !nonNull.isEmpty, scales.count == nonNull.count {
            return StoreColumn(name: name, type: .newDecimal, length: width, flags: nn, decimals: UInt8(clamping: scales.max() ?? 0))
        }
        if case .binary("/", _, _) = expr, nonNull.isEmpty {
            return StoreColumn(name: name, type: .newDecimal, length: 0, flags: nn, decimals: 4)
        }
        if !nonNull.isEmpty, nonNull.allSatisfy({ if case .int = $0 { return true }; return false }) {
            return StoreColumn(name: name, type: .longlong, length: width, flags: nn)
        }
        if !nonNull.isEmpty, nonNull.allSatisfy({ if case .uint = $0 { return true }; if case .int(let i) = $0 { return i >= 0 }; return false }) {
            return StoreColumn(name: name, type: .longlong, length: width, flags: nn | ColumnFlag.unsigned)
        }
        if !nonNull.isEmpty, nonNull.allSatisfy({ if case .double = $0 { return true }; return false }) {
            return StoreColumn(name: name, type: .double, length: 23, flags: nn, decimals: 31)
        }
        let characters = nonNull.map { $0.text?.count ?? 0 }.max() ?? 0
        return StoreColumn(name: name, type: .varString, length: UInt32(clamping: min(characters, Int(UInt32.max)) * 4), flags: nn)
    }
}
