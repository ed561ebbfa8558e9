import Foundation

extension ExecutionContext {
    /// Converts a value to a column's type with strict sql_mode's errors.
    static func coerce(_ v: SQLValue, to c: Column, row: Int) throws -> SQLValue {
        if v.isNull { return .null }
        switch c.kind {
        case .int, .bigint, .tinyint, .smallint:
            let range: ClosedRange<Int64>
            switch c.kind {
            case .int: range = -2_147_483_648...2_147_483_647
            case .tinyint: range = -128...127
            case .smallint: range = -32768...32767
            default: range = Int64.min...Int64.max
            }
            var n: Int64
            switch v {
            case .int(let i): n = i
            case .uint: throw StoreError.outOfRange(c.name, row: row)
            case .decimal(let d, _):
                // 2.5 is stored as 3, as MySQL rounds a DECIMAL into an integer column.
                guard let i = ExactArithmetic.signedInteger(ExactArithmetic.rounded(d, scale: 0)) else { throw StoreError.outOfRange(c.name, row: row) }
                n = i
            case .double(let d):
                guard d.isFinite, d >= -9.2e18, d <= 9.2e18 else { throw StoreError.outOfRange(c.name, row: row) }
                n = Int64(d.rounded())
            case .string(let s):
                let t = s.trimmingCharacters(in: .whitespaces)
                if let i = Int64(t) { n = i } else if let d = Double(t), d.isFinite, abs(d) < 9.2e18 { n = Int64(d.rounded()) } else {
                    if !t.isEmpty, Int64(t.filter { $0.isNumber || $0 == "-" }) != nil, t.allSatisfy({ $0.isNumber || $0 == "-" }) {
                        throw StoreError.outOfRange(c.name, row: row)
                    }
                    throw StoreError.incorrectInteger(s, column: c.name, row: row)
                }
            case .null: return .null
            }
            guard range.contains(n) else { throw StoreError.outOfRange(c.name, row: row) }
            return .int(n)
        case .intUnsigned, .bigintUnsigned, .tinyintUnsigned, .smallintUnsigned:
            let exact: Decimal
            switch v {
            case .null: return .null
            case .string(let s):
                guard let parsed = ExactArithmetic.parse(s) else { throw StoreError.incorrectInteger(s, column: c.name, row: row) }
                exact = parsed
            case .double(let d):
                guard let parsed = ExactArithmetic.exact(d) else { throw StoreError.outOfRange(c.name, row: row) }
                exact = parsed
            default: exact = ExactArithmetic.operand(v)?.value ?? 0
            }
            // -1 into an UNSIGNED column is out of range, as is anything past its maximum; 2.5 is stored as 3.
            guard let u = ExactArithmetic.unsignedInteger(ExactArithmetic.rounded(exact, scale: 0)), u <= (c.kind.unsignedMax ?? 0) else {
                throw StoreError.outOfRange(c.name, row: row)
            }
            return u <= UInt64(Int64.max) ? .int(Int64(u)) : .uint(u)
        case .varchar(let limit), .char(let limit):
            let s = v.text ?? ""
            if s.count > limit { throw StoreError.dataTooLong(c.name, row: row) }
            return .string(s)
        case .text:
            let s = v.text ?? ""
            if s.utf8.count > 65535 { throw StoreError.dataTooLong(c.name, row: row) }
            return .string(s)
        case .double:
            guard let d = v.number else { return .null }
            if case .string(let s) = v, Double(s.trimmingCharacters(in: .whitespaces)) == nil {
                throw StoreError(code: 1265, sqlState: "01000", message: "Data truncated for column '\(c.name)' at row \(row)")
            }
            return .double(d)
        case .decimal(let precision, let scale):
            let exact: Decimal
            switch v {
            case .int(let i): exact = Decimal(i)
            case .uint(let u): exact = Decimal(u)
            case .decimal(let d, _): exact = d
            case .double(let d):
                guard let parsed = ExactArithmetic.exact(d) else { throw StoreError.outOfRange(c.name, row: row) }
                exact = parsed
            case .string(let s):
                guard let parsed = ExactArithmetic.parse(s) else {
                    // '3.14abc' keeps its number and loses the rest; 'abc' is no number at all.
                    if let n = v.number, n != 0 {
                        throw StoreError(code: 1265, sqlState: "01000", message: "Data truncated for column '\(c.name)' at row \(row)")
                    }
                    throw StoreError(code: 1366, sqlState: "HY000", message: "Incorrect decimal value: '\(s)' for column '\(c.name)' at row \(row)")
                }
                exact = parsed
            case .null: return .null
            }
            // 1.005 is stored as 1.01 in a DECIMAL(5,2); 999.995 would need a fourth digit before the point.
            let rounded = ExactArithmetic.rounded(exact, scale: scale)
            guard abs(rounded) < pow(Decimal(10), precision - scale) else { throw StoreError.outOfRange(c.name, row: row) }
            return .decimal(rounded, scale: scale)
        case .datetime, .timestamp, .date:
            guard case .string(let s) = v, let normalized = normalizeDatetime(s, dateOnly: c.kind == .date) else {
                throw StoreError.incorrectDatetime(v.text ?? "", column: c.name, row: row)
            }
            return .string(normalized)
        }
    }

    static func normalizeDatetime(_ s: String, dateOnly: Bool) -> String? {
        let parts = s.trimmingCharacters(in: .whitespaces).split(whereSeparator: { $0 == " " || $0 == "T" })
        guard let datePart = parts.first else { return nil }
        let d = datePart.split(separator: "-").compactMap { Int($0) }
        guard d.count == 3, (1...9999).contains(d[0]), (1...12).contains(d[1]), (1...31).contains(d[2]) else { return nil }
        // 2026-02-30 is no date (strict mode refuses it; DATE() gives NULL).
        let leap = d[0] % 4 == 0 && (d[0] % 100 != 0 || d[0] % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d[2] <= days[d[1] - 1] else { return nil }
        func p(_ v: Int, _ w: Int = 2) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        let date = "\(p(d[0], 4))-\(p(d[1]))-\(p(d[2]))"
        if dateOnly { return date }
        var t = [0, 0, 0]
        if parts.count > 1 {
            let timeText = parts[1].split(separator: ".").first ?? ""
            let tt = timeText.split(separator: ":").compactMap { Int($0) }
            guard (1...3).contains(tt.count), tt.count == timeText.split(separator: ":").count else { return nil }
            for (i, v) in tt.enumerated() { t[i] = v }
            guard t[0] < 24, t[1] < 60, t[2] < 60 else { return nil }
        }
        return "\(date) \(p(t[0])):\(p(t[1])):\(p(t[2]))"
    }

    /// The columns an INSERT names, by position (all of them, in order, when it names none).
    static func insertTargets(_ table: Table, _ columns: [String]?) throws -> [Int] {
        guard let columns else { return Array(table.columns.indices) }
        return try columns.map { c in
            guard let i = table.columnIndex(c) else { throw StoreError.unknownColumn(c, in: "field list") }
            return i
        }
    }

    /// The values one row of VALUES gives, by column position; DEFAULT gives none.
    static func givenValues(_ exprs: [Expr], targets: [Int], evaluator ev: Evaluator, rowNumber: Int) throws -> [Int: SQLValue] {
        guard exprs.count == targets.count else { throw StoreError.columnCountMismatch(row: rowNumber) }
        var given: [Int: SQLValue] = [:]
        for (k, e) in exprs.enumerated() {
            if case .function("DEFAULT", _, _) = e { continue }
            given[targets[k]] = try ev.eval(e, row: nil)
        }
        return given
    }

    /// One row of an INSERT as strict mode makes it from the values given for some columns: defaults, the next
    /// AUTO_INCREMENT value, NOT NULL's 1048 and each column's type (1406, 1264, 1366).
    static func insertedRow(_ given: [Int: SQLValue], table: Table, millis: UInt64, rowNumber: Int,
                            nextAuto: inout Int64, autoMax: Int64, firstGenerated: inout Int64) throws -> [SQLValue] {
        var row: [SQLValue] = []
        for (i, c) in table.columns.enumerated() {
            var v: SQLValue
            if let g = given[i] {
                v = g
            } else if c.autoIncrement {
                v = .null
            } else if c.defaultIsNow {
                v = .string(Clock.datetime(Date(timeIntervalSince1970: Double(millis) / 1000)))
            } else if let d = c.defaultValue {
                v = d
            } else if c.notNull {
                throw StoreError.noDefault(c.name)
            } else {
                v = .null
            }
            if c.autoIncrement {
                if v.isNull || v == .int(0) || v == .string("0") {
                    v = .int(nextAuto)
                    if firstGenerated == 0 { firstGenerated = nextAuto }
                    nextAuto = Table.autoIncrement(after: nextAuto, max: autoMax)
                } else {
                    let coerced = try Self.coerce(v, to: c, row: rowNumber)
                    if case .int(let x) = coerced, x >= nextAuto { nextAuto = Table.autoIncrement(after: x, max: autoMax) }
                    v = coerced
                }
            } else {
                if v.isNull && c.notNull { throw StoreError.cannotBeNull(c.name) }
                v = try Self.coerce(v, to: c, row: rowNumber)
            }
            row.append(v)
        }
        return row
    }

    /// The AUTO_INCREMENT value an INSERT generates first, and the column's maximum: the table's counter, never
    /// past the maximum (a data directory written before that rule, or edited by hand, may hold more), or the
    /// value a logged statement was given when it is repeated.
    static func autoIncrementStart(_ table: Table, session: Session) -> (next: Int64, max: Int64) {
        let autoMax = table.autoIncrementColumn.map { table.columns[$0].autoIncrementMax } ?? Int64.max
        var nextAuto = min(max(1, table.autoIncrement), autoMax)
        if let forced = session.replay?.insertID, forced > 0 { nextAuto = min(forced, autoMax) }
        return (nextAuto, autoMax)
    }

    /// A row after UPDATE's assignments, left to right, each seeing the ones before (MySQL's single-table UPDATE),
    /// every value checked by strict mode.
    static func updatedRow(_ row: [SQLValue], assignments: [(String, Expr)], targets: [Int], table: Table, evaluator fieldEval: Evaluator,
                           rowNumber: Int) throws -> [SQLValue] {
        var newRow = row
        for (k, (_, e)) in assignments.enumerated() {
            let c = table.columns[targets[k]]
            var v: SQLValue
            if case .function("DEFAULT", _, _) = e { v = c.defaultValue ?? .null } else { v = try fieldEval.eval(e, row: newRow) }
            if v.isNull && c.notNull { throw StoreError.cannotBeNull(c.name) }
            v = try Self.coerce(v, to: c, row: rowNumber)
            newRow[targets[k]] = v
        }
        return newRow
    }

    // MARK: - DDL

    func checkDatabasePrivilege(_ privilege: String, db: String, session: Session) throws {
        guard session.replay == nil, !session.account.has(privilege, database: db) else { return }
        throw StoreError.databaseDenied(user: session.user, host: session.host, db: db)
    }

    mutating func createDatabase(_ name: String, ifNotExists: Bool, session: Session) throws -> StoreResult {
        try checkDatabasePrivilege("CREATE", db: name, session: session)
        if catalog.databases[name] != nil || Catalog.systemDatabases.contains(name.lowercased()) {
            if ifNotExists {
                var r = StoreResult(affectedRows: 1)
                r.warningList = [.note(StoreError.databaseExists(name))]
                return r
            }
            throw StoreError.databaseExists(name)
        }
        guard name.count <= 64, !name.isEmpty, !name.hasSuffix(" ") else {
            throw StoreError(code: 1102, sqlState: "42000", message: "Incorrect database name '\(name)'")
        }
        catalog.databases[name] = Database(name: name)
        return StoreResult(affectedRows: 1)
    }

    mutating func dropDatabase(_ name: String, ifExists: Bool, session: Session) throws -> StoreResult {
        try checkDatabasePrivilege("DROP", db: name, session: session)
        if Catalog.systemDatabases.contains(name.lowercased()) {
            throw StoreError.databaseDenied(user: session.user, host: session.host, db: name)
        }
        guard let db = catalog.databases[name] else {
            if ifExists {
                var r = StoreResult(affectedRows: 0)
                r.warningList = [.note(StoreError.databaseMissing(name))]
                return r
            }
            throw StoreError.databaseMissing(name)
        }
        catalog.databases[name] = nil
        return StoreResult(affectedRows: db.tables.count)
    }

    /// A column as CREATE TABLE and ALTER TABLE … ADD COLUMN make it, with MySQL's checks of its DEFAULT.
    static func column(from d: ColumnDefinition) throws -> Column {
        var c = Column(name: d.name, kind: d.kind, notNull: d.notNull, defaultValue: nil, autoIncrement: d.autoIncrement, primaryKey: false, unique: d.unique)
        if let e = d.defaultValue {
            if case .function(let f, _, _) = e, ["NOW", "CURRENT_TIMESTAMP"].contains(f) {
                guard [.datetime, .timestamp].contains(d.kind) else { throw StoreError(code: 1067, sqlState: "42000", message: "Invalid default value for '\(d.name)'") }
                c.defaultIsNow = true
            } else if case .literal(let v) = e {
                if v.isNull && d.notNull { throw StoreError(code: 1067, sqlState: "42000", message: "Invalid default value for '\(d.name)'") }
                do { c.defaultValue = try Self.coerce(v, to: c, row: 1) } catch {
                    throw StoreError(code: 1067, sqlState: "42000", message: "Invalid default value for '\(d.name)'")
                }
                if v.isNull { c.defaultValue = nil }
            } else {
                throw StoreError(code: 1067, sqlState: "42000", message: "Invalid default value for '\(d.name)'")
            }
        }
        if d.kind == .text, c.defaultValue != nil {
            throw StoreError(code: 1101, sqlState: "42000", message: "BLOB, TEXT, GEOMETRY or JSON column '\(d.name)' can't have a default value")
        }
        return c
    }

    mutating func createTable(_ t: TableName, ifNotExists: Bool, columns defs: [ColumnDefinition], primaryKey: [String], unique: [(String, [String])], session: Session) throws -> StoreResult {
        let db = try databaseName(t, session)
        try checkDatabasePrivilege("CREATE", db: db, session: session)
        guard catalog.databases[db] != nil else { throw StoreError.unknownDatabase(db) }
        if catalog.databases[db]?.tables[t.name] != nil {
            if ifNotExists {
                var r = StoreResult(affectedRows: 0)
                r.warningList = [.note(StoreError.tableExists(t.name))]
                return r
            }
            throw StoreError.tableExists(t.name)
        }
        guard !defs.isEmpty else { throw StoreError(code: 1113, sqlState: "42000", message: "A table must have at least 1 column") }
        // InnoDB's REC_MAX_N_USER_FIELDS: 1017 columns (the server's own limit, 4096, is never reached first).
        guard defs.count <= 1017 else { throw StoreError.tooManyColumns() }
        var columns: [Column] = []
        for d in defs {
            if columns.contains(where: { $0.name.lowercased() == d.name.lowercased() }) { throw StoreError.duplicateColumn(d.name) }
            let c = try Self.column(from: d)
            columns.append(c)
        }
        var pk: [Int] = []
        let inlinePK = defs.enumerated().filter { $0.element.primaryKey }.map(\.offset)
        if inlinePK.count > 1 || (!inlinePK.isEmpty && !primaryKey.isEmpty) { throw StoreError.multiplePrimaryKey() }
        pk = inlinePK
        for name in primaryKey {
            guard let i = columns.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) else { throw StoreError.keyColumnMissing(name) }
            pk.append(i)
        }
        var table = Table(name: t.name, columns: columns)
        if !pk.isEmpty {
            for i in pk { table.columns[i].primaryKey = true; table.columns[i].notNull = true }
            table.indexes.append(UniqueIndex(name: "PRIMARY", columns: pk))
        }
        for (i, d) in defs.enumerated() where d.unique && !pk.contains(i) {
            table.indexes.append(UniqueIndex(name: d.name, columns: [i]))
        }
        for (name, cols) in unique {
            var idx: [Int] = []
            for c in cols {
                guard let i = table.columnIndex(c) else { throw StoreError.keyColumnMissing(c) }
                idx.append(i)
                if cols.count == 1 { table.columns[i].unique = true }
            }
            table.indexes.append(UniqueIndex(name: name, columns: idx))
        }
        // MAX_KEY and MAX_REF_PARTS.
        if table.indexes.count > 64 { throw StoreError(code: 1069, sqlState: "42000", message: "Too many keys specified; max 64 keys allowed") }
        if table.indexes.contains(where: { $0.columns.count > 16 }) {
            throw StoreError(code: 1070, sqlState: "42000", message: "Too many key parts specified; max 16 parts allowed")
        }
        let autos = table.columns.enumerated().filter { $0.element.autoIncrement }
        if autos.count > 1 { throw StoreError.autoIncrementMustBeKey() }
        if let a = autos.first {
            guard table.indexes.contains(where: { $0.columns.first == a.offset }), a.element.kind.isInteger || a.element.kind == .double else {
                throw StoreError.autoIncrementMustBeKey()
            }
            table.columns[a.offset].notNull = true
        }
        catalog.databases[db]?.tables[t.name] = table
        return StoreResult(affectedRows: 0)
    }

    /// ALTER TABLE's new definition, worked out on a copy of the old one: where it goes (a RENAME), and where
    /// each of its columns takes its values from. `hasRows` says whether the table holds rows (a NOT NULL
    /// DATETIME without a default cannot be added then).
    func alteredDefinition(_ original: Table, db: String, _ specs: [AlterSpec], hasRows: Bool) throws -> AlteredTable {
        var tb = original
        tb.rows = []
        var target = (db: db, name: original.name)
        var sources = original.columns.indices.map { AlteredTable.Source.old($0) }
        for spec in specs {
            switch spec {
            case .addColumn(let d, let position):
                if tb.columnIndex(d.name) != nil { throw StoreError.duplicateColumn(d.name) }
                if d.primaryKey || d.unique || d.autoIncrement { throw StoreError.notSupported("ALTER TABLE … ADD COLUMN with a key") }
                guard tb.columns.count < 1017 else { throw StoreError.tooManyColumns() }
                let c = try Self.column(from: d)
                var at = tb.columns.count
                switch position {
                case .last: break
                case .first: at = 0
                case .after(let name):
                    guard let i = tb.columnIndex(name) else { throw StoreError.unknownColumn(name, in: tb.name) }
                    at = i + 1
                }
                // What the existing rows get: the DEFAULT, else NULL, else the type's implicit default (0, '').
                var fill: SQLValue = c.defaultValue ?? .null
                if c.defaultIsNow {
                    fill = .string(Clock.datetime(Date()))
                } else if c.defaultValue == nil, c.notNull {
                    switch c.kind {
                    case .datetime, .timestamp, .date:
                        if hasRows {
                            let zero = c.kind == .date ? "0000-00-00" : "0000-00-00 00:00:00"
                            throw StoreError(code: 1292, sqlState: "22007", message: "Incorrect \(c.kind == .date ? "date" : "datetime") value: '\(zero)' for column '\(c.name)' at row 1")
                        }
                    case .varchar, .char, .text: fill = .string("")
                    case .decimal(_, let scale): fill = .decimal(0, scale: scale)
                    case .double: fill = .double(0)
                    default: fill = .int(0)
                    }
                }
                tb.columns.insert(c, at: at)
                sources.insert(.fill(fill), at: min(at, sources.count))
                tb.indexes = tb.indexes.map { UniqueIndex(name: $0.name, columns: $0.columns.map { $0 >= at ? $0 + 1 : $0 }) }
                tb.plainIndexes = tb.plainIndexes?.map { PlainIndex(name: $0.name, columns: $0.columns.map { $0 >= at ? $0 + 1 : $0 }) }
            case .dropColumn(let name):
                guard let i = tb.columnIndex(name) else {
                    throw StoreError(code: 1091, sqlState: "42000", message: "Can't DROP '\(name)'; check that column/key exists")
                }
                guard tb.columns.count > 1 else {
                    throw StoreError(code: 1090, sqlState: "42000", message: "You can't delete all columns with ALTER TABLE; use DROP TABLE instead")
                }
                tb.columns.remove(at: i)
                if i < sources.count { sources.remove(at: i) }
                // A key loses the column; a key left with none is dropped (InnoDB does the same).
                tb.indexes = tb.indexes.map { UniqueIndex(name: $0.name, columns: $0.columns.filter { $0 != i }.map { $0 > i ? $0 - 1 : $0 }) }
                    .filter { !$0.columns.isEmpty }
                tb.plainIndexes = tb.plainIndexes?.map { PlainIndex(name: $0.name, columns: $0.columns.filter { $0 != i }.map { $0 > i ? $0 - 1 : $0 }) }
                    .filter { !$0.columns.isEmpty }
            case .addIndex(let name, let names, let unique):
                var cols: [Int] = []
                for n in names {
                    guard let i = tb.columnIndex(n) else { throw StoreError.keyColumnMissing(n) }
                    cols.append(i)
                }
                guard cols.count <= 16 else { throw StoreError(code: 1070, sqlState: "42000", message: "Too many key parts specified; max 16 parts allowed") }
                let taken = Set((tb.indexes.map(\.name) + (tb.plainIndexes ?? []).map(\.name)).map { $0.lowercased() })
                // Unnamed, a key takes its first column's name, then name_2, name_3 … (as mysqld names it).
                var keyName = name ?? tb.columns[cols[0]].name
                if name == nil, taken.contains(keyName.lowercased()) {
                    var n = 2
                    while taken.contains("\(keyName)_\(n)".lowercased()) { n += 1 }
                    keyName = "\(keyName)_\(n)"
                }
                if taken.contains(keyName.lowercased()) || keyName.uppercased() == "PRIMARY" {
                    throw StoreError(code: 1061, sqlState: "42000", message: "Duplicate key name '\(keyName)'")
                }
                guard tb.indexes.count + (tb.plainIndexes?.count ?? 0) < 64 else {
                    throw StoreError(code: 1069, sqlState: "42000", message: "Too many keys specified; max 64 keys allowed")
                }
                if unique {
                    tb.indexes.append(UniqueIndex(name: keyName, columns: cols))
                    if cols.count == 1 { tb.columns[cols[0]].unique = true }
                } else {
                    tb.plainIndexes = (tb.plainIndexes ?? []) + [PlainIndex(name: keyName, columns: cols)]
                }
            case .dropIndex(let name):
                if let i = tb.indexes.firstIndex(where: { $0.name.lowercased() == name.lowercased() }), name.uppercased() != "PRIMARY" {
                    let dropped = tb.indexes.remove(at: i)
                    if dropped.columns.count == 1, !tb.indexes.contains(where: { $0.columns == dropped.columns }) { tb.columns[dropped.columns[0]].unique = false }
                } else if let i = tb.plainIndexes?.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
                    tb.plainIndexes?.remove(at: i)
                } else if name.uppercased() == "PRIMARY" {
                    throw StoreError.notSupported("ALTER TABLE … DROP PRIMARY KEY")
                } else {
                    throw StoreError(code: 1091, sqlState: "42000", message: "Can't DROP '\(name)'; check that column/key exists")
                }
            case .renameColumn(let from, let to):
                guard let i = tb.columnIndex(from) else { throw StoreError.unknownColumn(from, in: tb.name) }
                if let j = tb.columnIndex(to), j != i { throw StoreError.duplicateColumn(to) }
                tb.columns[i].name = to
            case .renameTable(let newName):
                let newDB = newName.database ?? db
                guard catalog.databases[newDB] != nil else { throw StoreError.unknownDatabase(newDB) }
                if newName.name != target.name || newDB != target.db, catalog.databases[newDB]?.tables[newName.name] != nil {
                    throw StoreError.tableExists(newName.name)
                }
                target = (newDB, newName.name)
                tb.name = newName.name
            }
        }
        for i in tb.columns.indices { tb.columns[i].primaryKey = tb.indexes.contains { $0.name == "PRIMARY" && $0.columns.contains(i) } }
        return AlteredTable(table: tb, target: target, sources: sources)
    }

    mutating func dropTable(_ names: [TableName], ifExists: Bool, session: Session) throws -> StoreResult {
        var missing: [String] = []
        var found: [(String, String)] = []
        for t in names {
            let db = try databaseName(t, session)
            try checkDatabasePrivilege("DROP", db: db, session: session)
            if catalog.databases[db]?.tables[t.name] == nil { missing.append("\(db).\(t.name)") } else { found.append((db, t.name)) }
        }
        if !missing.isEmpty && !ifExists { throw StoreError.unknownTable(missing.joined(separator: ",")) }
        for (db, name) in found { catalog.databases[db]?.tables[name] = nil }
        var r = StoreResult(affectedRows: 0)
        r.warningList = missing.map { .note(StoreError.unknownTable($0)) }
        return r
    }

    mutating func use(_ db: String, session: inout Session) throws {
        guard catalog.databases[db] != nil || Catalog.systemDatabases.contains(db.lowercased()) else {
            if session.replay == nil, !session.account.hasAny(on: db) { throw StoreError.databaseDenied(user: session.user, host: session.host, db: db) }
            throw StoreError.unknownDatabase(db)
        }
        if session.replay == nil, !session.account.hasAny(on: db), !Catalog.systemDatabases.contains(db.lowercased()) {
            throw StoreError.databaseDenied(user: session.user, host: session.host, db: db)
        }
        session.database = db
    }

    // MARK: - Accounts

    mutating func createUser(_ users: [UserSpec], ifNotExists: Bool, session: Session) throws -> StoreResult {
        try requireSuper(session, "CREATE USER")
        var failed: [String] = []
        for u in users {
            if catalog.accounts.contains(where: { $0.name == u.name && $0.host.lowercased() == u.host.lowercased() }) {
                failed.append("'\(u.name)'@'\(u.host)'")
                continue
            }
            catalog.accounts.append(Account(name: u.name, host: u.host, password: u.password ?? ""))
        }
        if !failed.isEmpty && !ifNotExists { throw StoreError.operationFailed("CREATE USER", failed.joined(separator: ",")) }
        var r = StoreResult(affectedRows: 0)
        r.warningList = failed.map { .note(StoreError(code: 3163, sqlState: "HY000", message: "Authorization ID \($0) already exists.")) }
        return r
    }

    mutating func dropUser(_ users: [UserSpec], ifExists: Bool, session: Session) throws -> StoreResult {
        try requireSuper(session, "CREATE USER")
        var failed: [String] = []
        for u in users {
            let before = catalog.accounts.count
            catalog.accounts.removeAll { $0.name == u.name && $0.host.lowercased() == u.host.lowercased() }
            if catalog.accounts.count == before { failed.append("'\(u.name)'@'\(u.host)'") }
        }
        if !failed.isEmpty && !ifExists { throw StoreError.operationFailed("DROP USER", failed.joined(separator: ",")) }
        return StoreResult(affectedRows: 0)
    }

    mutating func alterUser(_ u: UserSpec, session: Session) throws -> StoreResult {
        try requireSuper(session, "CREATE USER")
        guard let i = catalog.accounts.firstIndex(where: { $0.name == u.name && $0.host.lowercased() == u.host.lowercased() }) else {
            throw StoreError.operationFailed("ALTER USER", "'\(u.name)'@'\(u.host)'")
        }
        if let p = u.password { catalog.accounts[i].password = p }
        return StoreResult(affectedRows: 0)
    }

    mutating func grant(_ privileges: [String], database: String, table: String, user: UserSpec, session: Session) throws -> StoreResult {
        try requireSuper(session, "GRANT OPTION")
        guard let i = catalog.accounts.firstIndex(where: { $0.name == user.name && $0.host.lowercased() == user.host.lowercased() }) else {
            throw StoreError(code: 1410, sqlState: "42000", message: "You are not allowed to create a user with GRANT")
        }
        let db = database.isEmpty ? (session.database ?? "*") : database
        let privs = Set(privileges.map { $0 == "ALL PRIVILEGES" ? "ALL" : $0 })
        if let g = catalog.accounts[i].grants.firstIndex(where: { $0.database == db && $0.table == table }) {
            catalog.accounts[i].grants[g].privileges.formUnion(privs)
        } else {
            catalog.accounts[i].grants.append(Grant(privileges: privs, database: db, table: table))
        }
        return StoreResult(affectedRows: 0)
    }
}

/// A table's definition after ALTER TABLE, where it goes, and where each of its columns takes its values from.
struct AlteredTable {
    enum Source: Equatable {
        /// The old table's column at this position.
        case old(Int)
        /// A new column: every existing row gets this value.
        case fill(SQLValue)
    }

    var table: Table
    var target: (db: String, name: String)
    var sources: [Source]

    /// An old row as the new table holds it.
    func newRow(_ row: [SQLValue]) -> [SQLValue] {
        sources.map { s in
            switch s {
            case .old(let i): return i < row.count ? row[i] : .null
            case .fill(let v): return v
            }
        }
    }
}
