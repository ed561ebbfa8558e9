/// Recursive-descent parser for the SQL subset. Errors are MySQL's: 1064 with the text from where parsing stopped,
/// 1235 for statements MySQL has but the miniature does not.
struct Parser {
    private let lexer: Lexer
    private var tokens: [Token]
    private var index = 0
    /// Nesting of the expression being parsed: a query of a million '(' must be an error, not a stack overflow.
    private var depth = 0
    static let maxDepth = 200  // counts expression and unary levels: about 100 nested parentheses
    /// Operators in one statement: a left-deep chain of 'a + a + a …' is as deep to evaluate as nested parentheses.
    private var operators = 0
    static let maxOperators = 500

    private mutating func node(_ e: Expr) throws(StoreError) -> Expr {
        operators += 1
        guard operators <= Self.maxOperators else { throw Self.tooDeep() }
        return e
    }

    /// One statement of a query, parsed only when its turn comes (MySQL runs the statements before a syntax error).
    struct Pending: Sendable {
        let lexer: Lexer
        let tokens: [Token]
        func parse() throws(StoreError) -> ParsedStatement {
            let endToken = Token(kind: .end, start: lexer.bytes.count, end: lexer.bytes.count, line: tokens.last?.line ?? 1)
            var p = Parser(lexer: lexer, tokens: tokens + [endToken])
            let statement = try p.parseStatement()
            let text = lexer.text(tokens.first?.start ?? 0, tokens.last?.end ?? 0)
            return ParsedStatement(statement: statement, text: text)
        }
    }

    /// Splits a query text into its statements (a COM_QUERY may carry several, separated by ';').
    static func parseScript(_ sql: String) throws(StoreError) -> [Pending] {
        let lexer = Lexer(sql)
        let all = try lexer.tokenize()
        var segments: [[Token]] = []
        var current: [Token] = []
        for t in all {
            if t.isOp(";") || t.kind == .end {
                if !current.isEmpty { segments.append(current) }
                current = []
            } else {
                current.append(t)
            }
        }
        if segments.isEmpty { throw StoreError.emptyQuery() }
        return segments.map { Pending(lexer: lexer, tokens: $0) }
    }

    /// Parses exactly one statement (tests, the applier).
    static func parse(_ sql: String) throws(StoreError) -> Statement {
        let parts = try parseScript(sql)
        guard let first = parts.first else { throw StoreError.emptyQuery() }
        return try first.parse().statement
    }

    private init(lexer: Lexer, tokens: [Token]) {
        self.lexer = lexer
        self.tokens = tokens
    }

    // MARK: - Token helpers

    private var current: Token { tokens[min(index, tokens.count - 1)] }
    private func peek(_ k: Int = 1) -> Token { tokens[min(index + k, tokens.count - 1)] }
    private mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    private func error(at token: Token? = nil) -> StoreError {
        let t = token ?? current
        return StoreError.syntax(near: lexer.rest(from: t.start), line: t.line)
    }

    private mutating func accept(_ keyword: String) -> Bool {
        if current.isWord(keyword) { advance(); return true }
        return false
    }
    private mutating func expect(_ keyword: String) throws(StoreError) {
        guard accept(keyword) else { throw error() }
    }
    private mutating func acceptOp(_ op: String) -> Bool {
        if current.isOp(op) { advance(); return true }
        return false
    }
    private mutating func expectOp(_ op: String) throws(StoreError) {
        guard acceptOp(op) else { throw error() }
    }
    private mutating func expectEnd() throws(StoreError) {
        guard current.kind == .end else { throw error() }
    }

    static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE",
        "CREATE", "DROP", "TABLE", "DATABASE", "AND", "OR", "NOT", "NULL", "IS", "LIKE", "IN", "GROUP", "HAVING",
        "JOIN", "ON", "DESC", "ASC", "PRIMARY", "KEY", "DEFAULT", "UNIQUE", "INDEX", "AS", "LEFT", "RIGHT", "INNER",
        "OUTER", "CROSS", "UNION", "WITH", "TO", "USE", "SHOW", "DISTINCT", "BETWEEN", "CASE", "WHEN", "THEN",
        "ELSE", "END", "EXISTS", "IF", "INTERVAL", "FOR", "CHECK", "CONSTRAINT", "FOREIGN", "REFERENCES", "ALTER",
        "GRANT", "REVOKE", "XOR", "DIV", "MOD", "TRUE", "FALSE", "DATABASES", "SCHEMA", "SCHEMAS", "TABLES",
        "OFFSET", "DUAL", "LOCK", "READ", "WRITE", "RENAME", "REPLACE", "USING", "NATURAL", "STRAIGHT_JOIN",
        "OVER", "PARTITION", "WINDOW",
    ]

    private mutating func identifier() throws(StoreError) -> String {
        switch current.kind {
        case .quoted(let s): advance(); return s
        case .word(let w) where !Self.reserved.contains(w.uppercased()): advance(); return w
        default: throw error()
        }
    }

    /// Identifier where MySQL also allows a keyword (after a dot, option names).
    private mutating func anyWord() throws(StoreError) -> String {
        switch current.kind {
        case .quoted(let s), .word(let s): advance(); return s
        default: throw error()
        }
    }

    /// COMMIT/ROLLBACK's [AND [NO] CHAIN] [[NO] RELEASE]: the plain forms are accepted; chaining and releasing the
    /// connection are outside the miniature.
    private mutating func completionOptions() throws(StoreError) {
        if accept("AND") {
            let no = accept("NO")
            try expect("CHAIN")
            if !no { throw StoreError.notSupported("AND CHAIN") }
        }
        let no = accept("NO")
        if accept("RELEASE") {
            if !no { throw StoreError.notSupported("RELEASE") }
        } else if no { throw error() }
    }

    private mutating func tableName() throws(StoreError) -> TableName {
        let first = try identifier()
        if acceptOp(".") { return TableName(database: first, name: try anyWord()) }
        return TableName(database: nil, name: first)
    }

    private mutating func integer() throws(StoreError) -> Int {
        if case .number(let s) = current.kind, let v = Int(s) { advance(); return v }
        throw error()
    }

    /// A LIMIT or OFFSET count: MySQL takes any up to 18446744073709551615 (and 1064 past it). No table holds
    /// more than Int.max rows, so a larger count means "all of them".
    private mutating func rowCount() throws(StoreError) -> Int {
        if case .number(let s) = current.kind, let v = UInt64(s) { advance(); return Int(clamping: v) }
        throw error()
    }

    private mutating func stringLiteral() throws(StoreError) -> String {
        if case .string(let s) = current.kind { advance(); return s }
        throw error()
    }

    private mutating func likePattern() throws(StoreError) -> String? {
        if accept("LIKE") { return try stringLiteral() }
        if current.isWord("WHERE") { throw StoreError.notSupported("SHOW … WHERE") }
        return nil
    }

    // MARK: - Statements

    mutating func parseStatement() throws(StoreError) -> Statement {
        let head = current
        guard case .word(let w) = head.kind else { throw error() }
        advance()
        let statement: Statement
        switch w.uppercased() {
        case "SELECT": statement = .select(try parseSelect())
        case "INSERT": statement = try parseInsert()
        case "UPDATE": statement = try parseUpdate()
        case "DELETE": statement = try parseDelete()
        case "CREATE": statement = try parseCreate()
        case "DROP": statement = try parseDrop()
        case "USE": statement = .use(try anyWord())
        case "SHOW": statement = .show(try parseShow())
        case "DESCRIBE", "DESC", "EXPLAIN":
            if current.isWord("SELECT") || current.isWord("UPDATE") || current.isWord("DELETE") || current.isWord("INSERT") {
                throw StoreError.notSupported("EXPLAIN")
            }
            let t = try tableName()
            if case .word = current.kind { advance() } else if case .quoted = current.kind { advance() }
            statement = .show(.columns(t, full: false))
        case "SET": statement = try parseSet()
        case "BEGIN": _ = accept("WORK"); statement = .begin(readOnly: false)
        case "COMMIT":
            _ = accept("WORK")
            try completionOptions()
            statement = .commit
        case "ROLLBACK":
            _ = accept("WORK")
            if accept("TO") {
                _ = accept("SAVEPOINT")
                statement = .rollbackToSavepoint(try anyWord())
            } else {
                try completionOptions()
                statement = .rollback
            }
        case "SAVEPOINT": statement = .savepoint(try anyWord())
        case "RELEASE":
            try expect("SAVEPOINT")
            statement = .releaseSavepoint(try anyWord())
        case "START":
            if accept("TRANSACTION") {
                var readOnly = false
                var first = true
                while current.kind != .end {
                    if !first { try expectOp(",") }
                    first = false
                    if accept("WITH") {
                        try expect("CONSISTENT"); try expect("SNAPSHOT")
                    } else if accept("READ") {
                        if accept("ONLY") { readOnly = true } else { try expect("WRITE"); readOnly = false }
                    } else { throw error() }
                }
                statement = .begin(readOnly: readOnly)
            } else if accept("REPLICA") || accept("SLAVE") {
                statement = .startReplica(try replicaThreads())
            } else { throw error() }
        case "STOP":
            guard accept("REPLICA") || accept("SLAVE") else { throw error() }
            statement = .stopReplica(try replicaThreads())
        case "RESET":
            if accept("REPLICA") || accept("SLAVE") {
                statement = .resetReplica(all: accept("ALL"))
            } else if accept("MASTER") {
                statement = .resetBinaryLogs
            } else if accept("BINARY") {
                try expect("LOGS"); try expect("AND"); try expect("GTIDS")
                statement = .resetBinaryLogs
            } else { throw error() }
        case "CHANGE": statement = try parseChangeSource()
        case "GRANT": statement = try parseGrant()
        case "REVOKE":
            while current.kind != .end { advance() }
            statement = .revoke
        case "ALTER":
            if accept("USER") {
                _ = accept("IF") && accept("EXISTS")
                var spec = try userSpec()
                if accept("IDENTIFIED") {
                    if accept("WITH") { _ = try anyWord() }
                    try expect("BY")
                    spec.password = try stringLiteral()
                }
                statement = .alterUser(spec)
            } else if accept("TABLE") {
                statement = try parseAlterTable()
            } else {
                throw StoreError.notSupported("ALTER " + ((try? anyWord()) ?? "").uppercased())
            }
        case "FLUSH":
            while current.kind != .end { advance() }
            statement = .flush
        case "TRUNCATE":
            _ = accept("TABLE")
            statement = .truncate(try tableName())
        case "REPLACE": throw StoreError.notSupported("REPLACE")
        case "LOCK", "UNLOCK": throw StoreError.notSupported("LOCK TABLES")
        case "ANALYZE", "OPTIMIZE", "CHECK", "REPAIR": throw StoreError.notSupported(w.uppercased() + " TABLE")
        case "KILL": throw StoreError.notSupported("KILL")
        case "PREPARE", "EXECUTE", "DEALLOCATE": throw StoreError.notSupported("PREPARE")
        case "CALL": throw StoreError.notSupported("CALL")
        case "RENAME": throw StoreError.notSupported("RENAME TABLE")
        case "LOAD": throw StoreError.notSupported("LOAD DATA")
        case "DO": throw StoreError.notSupported("DO")
        case "WITH": statement = .select(try parseWith())
        case "PURGE": throw StoreError.notSupported("PURGE BINARY LOGS")
        default: throw error(at: head)
        }
        try expectEnd()
        return statement
    }

    private mutating func replicaThreads() throws(StoreError) -> ReplicaThreads {
        var threads = ReplicaThreads.both
        if accept("IO_THREAD") { threads = .io } else if accept("SQL_THREAD") { threads = .sql }
        if acceptOp(",") {
            if accept("IO_THREAD") || accept("SQL_THREAD") { threads = .both } else { throw error() }
        }
        if accept("FOR") { try expect("CHANNEL"); _ = try stringLiteral() }
        return threads
    }

    /// A SELECT after its keyword; `union` stops before ORDER BY and LIMIT, which belong to the whole UNION.
    private mutating func parseSelect(union: Bool = false) throws(StoreError) -> SelectStatement {
        let distinct = accept("DISTINCT") || accept("DISTINCTROW")
        _ = accept("ALL") || accept("SQL_NO_CACHE") || accept("SQL_CALC_FOUND_ROWS")
        var items: [SelectItem] = []
        repeat {
            let start = current
            if current.isOp("*") {
                advance()
                items.append(SelectItem(kind: .star(table: nil), name: "*"))
                continue
            }
            if case .word(let t) = current.kind, peek().isOp("."), peek(2).isOp("*") {
                advance(); advance(); advance()
                items.append(SelectItem(kind: .star(table: t), name: "*"))
                continue
            }
            let expr = try parseExpr()
            var name = lexer.text(start.start, tokens[max(0, index - 1)].end)
            if case .literal(.string(let s)) = expr { name = s }
            if case .column(_, let c) = expr { name = c }
            if accept("AS") {
                name = try aliasName()
            } else if case .word(let w) = current.kind, !Self.reserved.contains(w.uppercased()) {
                name = w; advance()
            } else if case .quoted(let q) = current.kind {
                name = q; advance()
            } else if case .string(let s) = current.kind {
                name = s; advance()
            }
            items.append(SelectItem(kind: .expr(expr), name: name))
        } while acceptOp(",")
        var select = SelectStatement(items: items, from: nil, whereClause: nil, orderBy: [], limit: nil, offset: 0, distinct: distinct)
        if accept("INTO") { throw StoreError.notSupported("SELECT … INTO") }
        if accept("FROM") {
            if accept("DUAL") {
            } else {
                if let d = try derivedTable() {
                    select.fromDerived = d
                } else {
                    select.from = try tableName()
                    select.fromAlias = try tableAlias()
                }
                select.joins = try joins()
            }
        }
        if accept("WHERE") { select.whereClause = try parseExpr() }
        if accept("GROUP") {
            try expect("BY")
            repeat { select.groupBy.append(try parseExpr()) } while acceptOp(",")
            if accept("WITH") { throw StoreError.notSupported("WITH ROLLUP") }
        }
        if accept("HAVING") { select.having = try parseExpr() }
        if union { return select }
        while accept("UNION") {
            let all = accept("ALL")
            if !all { _ = accept("DISTINCT") }
            try expect("SELECT")
            select.unions.append(UnionPart(all: all, select: try parseSelect(union: true)))
        }
        if accept("ORDER") { try expect("BY"); select.orderBy = try orderList() }
        if accept("LIMIT") {
            let a = try rowCount()
            if acceptOp(",") { select.offset = a; select.limit = try rowCount() } else if accept("OFFSET") { select.limit = a; select.offset = try rowCount() } else { select.limit = a }
        }
        if accept("FOR") {
            guard accept("UPDATE") || accept("SHARE") else { throw error() }
        } else if accept("LOCK") {
            try expect("IN"); try expect("SHARE"); try expect("MODE")
        }
        return select
    }

    /// A function call followed by `OVER ([PARTITION BY …] [ORDER BY …])` is a window function.
    private mutating func windowed(_ f: Expr) throws(StoreError) -> Expr {
        guard accept("OVER") else { return f }
        guard case .function(let name, let args, let star) = f else { throw error() }
        guard acceptOp("(") else { throw StoreError.notSupported("named windows") }
        var partition: [Expr] = []
        var order: [OrderItem] = []
        if accept("PARTITION") {
            try expect("BY")
            repeat { partition.append(try parseExpr()) } while acceptOp(",")
        }
        if accept("ORDER") { try expect("BY"); order = try orderList() }
        if current.isWord("ROWS") || current.isWord("RANGE") || current.isWord("GROUPS") { throw StoreError.notSupported("window frames") }
        try expectOp(")")
        return try node(.window(name: name, args: args, star: star, partition: partition, order: order))
    }

    /// `WITH name AS (SELECT …) [, …] SELECT …` after its keyword.
    private mutating func parseWith() throws(StoreError) -> SelectStatement {
        if current.isWord("RECURSIVE") { throw StoreError.notSupported("WITH RECURSIVE") }
        var tables: [CommonTable] = []
        repeat {
            let name = try identifier()
            if current.isOp("(") { throw StoreError.notSupported("WITH … (column list)") }
            try expect("AS")
            try expectOp("(")
            try expect("SELECT")
            let q = try parseSelect()
            try expectOp(")")
            if tables.contains(where: { $0.name.lowercased() == name.lowercased() }) {
                throw StoreError(code: 1066, sqlState: "42000", message: "Not unique table/alias: '\(name)'")
            }
            tables.append(CommonTable(name: name, select: q))
        } while acceptOp(",")
        try expect("SELECT")
        var select = try parseSelect()
        select.with = tables
        return select
    }

    /// `(SELECT …) [AS] d` where a table may stand; nil (nothing read) when no parenthesis opens one.
    private mutating func derivedTable() throws(StoreError) -> DerivedTable? {
        guard current.isOp("(") else { return nil }
        // A parenthesized join, `FROM (a JOIN b)`, is outside the subset.
        guard peek().isWord("SELECT") else { throw StoreError.notSupported("derived tables") }
        advance(); advance()
        let inner = try parseSelect()
        try expectOp(")")
        guard let alias = try tableAlias() else {
            throw StoreError(code: 1248, sqlState: "42000", message: "Every derived table must have its own alias")
        }
        return .select(inner, alias: alias)
    }

    /// `AS a` or a bare `a` after a table name.
    private mutating func tableAlias() throws(StoreError) -> String? {
        if accept("AS") { return try identifier() }
        if case .word(let w) = current.kind, !Self.reserved.contains(w.uppercased()) { advance(); return w }
        if case .quoted(let q) = current.kind { advance(); return q }
        return nil
    }

    /// The tables joined after FROM's first: `, t`, `[INNER|CROSS] JOIN t [ON …|USING (…)]`, `STRAIGHT_JOIN t`,
    /// `LEFT|RIGHT [OUTER] JOIN t ON …|USING (…)`.
    private mutating func joins() throws(StoreError) -> [JoinClause] {
        var joins: [JoinClause] = []
        while true {
            var kind = JoinClause.Kind.inner
            if acceptOp(",") {
                kind = .cross
            } else if accept("JOIN") || accept("STRAIGHT_JOIN") {
            } else if accept("INNER") {
                try expect("JOIN")
            } else if accept("CROSS") {
                try expect("JOIN")
                kind = .cross
            } else if accept("LEFT") || current.isWord("RIGHT") {
                if accept("RIGHT") { kind = .right } else { kind = .left }
                _ = accept("OUTER")
                try expect("JOIN")
            } else if current.isWord("NATURAL") {
                throw StoreError.notSupported("NATURAL JOIN")
            } else {
                return joins
            }
            var join: JoinClause
            if let d = try derivedTable(), case .select(_, let alias) = d {
                join = JoinClause(kind: kind, table: TableName(database: nil, name: alias), alias: alias, derived: d)
            } else {
                join = JoinClause(kind: kind, table: try tableName(), alias: try tableAlias())
            }
            if accept("ON") {
                join.on = try parseExpr()
            } else if accept("USING") {
                try expectOp("(")
                repeat { join.using.append(try identifier()) } while acceptOp(",")
                try expectOp(")")
            } else if kind == .left || kind == .right {
                // An outer join needs its condition.
                throw error()
            }
            joins.append(join)
        }
    }

    private mutating func aliasName() throws(StoreError) -> String {
        switch current.kind {
        case .word(let s), .quoted(let s), .string(let s): advance(); return s
        default: throw error()
        }
    }

    private mutating func orderList() throws(StoreError) -> [OrderItem] {
        var list: [OrderItem] = []
        repeat {
            let e = try parseExpr()
            var desc = false
            if accept("DESC") { desc = true } else { _ = accept("ASC") }
            list.append(OrderItem(expr: e, descending: desc))
        } while acceptOp(",")
        return list
    }

    private mutating func parseInsert() throws(StoreError) -> Statement {
        let ignore = accept("IGNORE")
        _ = accept("INTO")
        let table = try tableName()
        var columns: [String]?
        if acceptOp("(") {
            var cols: [String] = []
            if !current.isOp(")") {
                repeat { cols.append(try identifier()) } while acceptOp(",")
            }
            try expectOp(")")
            columns = cols
        }
        if current.isWord("SELECT") { throw StoreError.notSupported("INSERT … SELECT") }
        if accept("SET") {
            var cols: [String] = []
            var values: [Expr] = []
            repeat {
                cols.append(try identifier())
                try expectOp("=")
                values.append(try parseExpr())
            } while acceptOp(",")
            return .insert(table: table, columns: cols, rows: [values], ignore: ignore)
        }
        guard accept("VALUES") || accept("VALUE") else { throw error() }
        var rows: [[Expr]] = []
        repeat {
            try expectOp("(")
            var row: [Expr] = []
            if !current.isOp(")") {
                repeat {
                    if accept("DEFAULT") { row.append(.function(name: "DEFAULT", args: [], star: false)) } else { row.append(try parseExpr()) }
                } while acceptOp(",")
            }
            try expectOp(")")
            rows.append(row)
        } while acceptOp(",")
        if current.isWord("ON") { throw StoreError.notSupported("ON DUPLICATE KEY UPDATE") }
        return .insert(table: table, columns: columns, rows: rows, ignore: ignore)
    }

    private mutating func parseUpdate() throws(StoreError) -> Statement {
        _ = accept("IGNORE")
        let table = try tableName()
        if current.isOp(",") || current.isWord("JOIN") { throw StoreError.notSupported("multi-table UPDATE") }
        try expect("SET")
        var assignments: [(String, Expr)] = []
        repeat {
            var col = try identifier()
            if acceptOp(".") { col = try anyWord() }
            try expectOp("=")
            if accept("DEFAULT") { assignments.append((col, .function(name: "DEFAULT", args: [], star: false))); continue }
            assignments.append((col, try parseExpr()))
        } while acceptOp(",")
        var whereClause: Expr?
        if accept("WHERE") { whereClause = try parseExpr() }
        var order: [OrderItem] = []
        if accept("ORDER") { try expect("BY"); order = try orderList() }
        var limit: Int?
        if accept("LIMIT") { limit = try rowCount() }
        return .update(table: table, assignments: assignments, whereClause: whereClause, limit: limit, orderBy: order)
    }

    private mutating func parseDelete() throws(StoreError) -> Statement {
        _ = accept("QUICK") || accept("IGNORE")
        try expect("FROM")
        let table = try tableName()
        if current.isOp(",") || current.isWord("USING") { throw StoreError.notSupported("multi-table DELETE") }
        var whereClause: Expr?
        if accept("WHERE") { whereClause = try parseExpr() }
        var order: [OrderItem] = []
        if accept("ORDER") { try expect("BY"); order = try orderList() }
        var limit: Int?
        if accept("LIMIT") { limit = try rowCount() }
        return .delete(table: table, whereClause: whereClause, limit: limit, orderBy: order)
    }

    private mutating func ifNotExists() throws(StoreError) -> Bool {
        if accept("IF") { try expect("NOT"); try expect("EXISTS"); return true }
        return false
    }
    private mutating func ifExists() throws(StoreError) -> Bool {
        if accept("IF") { try expect("EXISTS"); return true }
        return false
    }

    private mutating func parseCreate() throws(StoreError) -> Statement {
        if accept("DATABASE") || accept("SCHEMA") {
            let ine = try ifNotExists()
            let name = try identifier()
            try skipTableOptions()
            return .createDatabase(name, ifNotExists: ine)
        }
        if accept("USER") {
            let ine = try ifNotExists()
            var users: [UserSpec] = []
            repeat {
                var spec = try userSpec()
                if accept("IDENTIFIED") {
                    if accept("WITH") { _ = try anyWord() }
                    if accept("BY") { spec.password = try stringLiteral() } else if accept("AS") { spec.password = try stringLiteral() } else { throw error() }
                }
                users.append(spec)
            } while acceptOp(",")
            while current.kind != .end { advance() }  // REQUIRE, WITH, PASSWORD EXPIRE …
            return .createUser(users, ifNotExists: ine)
        }
        if current.isWord("TEMPORARY") { throw StoreError.notSupported("CREATE TEMPORARY TABLE") }
        if accept("TABLE") { return try parseCreateTable() }
        if accept("UNIQUE") || current.isWord("INDEX") {
            let unique = tokens[index - 1].isWord("UNIQUE")
            try expect("INDEX")
            let name = try identifier()
            if accept("USING") { _ = try anyWord() }
            try expect("ON")
            let table = try tableName()
            let columns = try keyColumns()
            if accept("USING") { _ = try anyWord() }
            return .alterTable(table, [.addIndex(name: name, columns: columns, unique: unique)])
        }
        if current.isWord("VIEW") || current.isWord("OR") { throw StoreError.notSupported("CREATE VIEW") }
        if current.isWord("TRIGGER") { throw StoreError.notSupported("CREATE TRIGGER") }
        if current.isWord("PROCEDURE") || current.isWord("FUNCTION") { throw StoreError.notSupported("CREATE PROCEDURE") }
        throw error()
    }

    private mutating func skipTableOptions() throws(StoreError) {
        // ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=… AUTO_INCREMENT=… COMMENT='…'
        while current.kind != .end {
            _ = accept("DEFAULT")
            guard case .word = current.kind else { throw error() }
            advance()
            if current.isWord("SET") { advance() }  // CHARACTER SET
            _ = acceptOp("=")
            switch current.kind {
            case .word, .string, .number, .quoted: advance()
            default: throw error()
            }
        }
    }

    private mutating func parseCreateTable() throws(StoreError) -> Statement {
        let ine = try ifNotExists()
        let table = try tableName()
        if accept("LIKE") || current.isWord("AS") || current.isWord("SELECT") { throw StoreError.notSupported("CREATE TABLE … LIKE/SELECT") }
        try expectOp("(")
        var columns: [ColumnDefinition] = []
        var primaryKey: [String] = []
        var unique: [(String, [String])] = []
        var plain: [(String, [String])] = []
        repeat {
            if accept("PRIMARY") {
                try expect("KEY")
                primaryKey = try keyColumns()
            } else if accept("UNIQUE") {
                _ = accept("KEY") || accept("INDEX")
                var name: String?
                if !current.isOp("(") { name = try identifier() }
                let cols = try keyColumns()
                unique.append((name ?? cols.first ?? "", cols))
            } else if accept("KEY") || accept("INDEX") {
                var name: String?
                if !current.isOp("(") { name = try identifier() }
                let cols = try keyColumns()
                plain.append((name ?? "", cols))
            } else if current.isWord("CONSTRAINT") || current.isWord("FOREIGN") {
                throw StoreError.notSupported("FOREIGN KEY")
            } else if current.isWord("FULLTEXT") || current.isWord("SPATIAL") || current.isWord("CHECK") {
                throw StoreError.notSupported(current.isWord("CHECK") ? "CHECK" : "FULLTEXT")
            } else {
                columns.append(try columnDefinition())
            }
        } while acceptOp(",")
        try expectOp(")")
        try skipTableOptions()
        if plain.isEmpty { return .createTable(table, ifNotExists: ine, columns: columns, primaryKey: primaryKey, unique: unique) }
        // Plain (non-unique) keys are added as ALTER TABLE would add them, right after the table is made.
        return .createTable(table, ifNotExists: ine, columns: columns, primaryKey: primaryKey, unique: unique,
                            indexes: plain.map { AlterSpec.addIndex(name: $0.0.isEmpty ? nil : $0.0, columns: $0.1, unique: false) })
    }

    /// ALTER TABLE t ADD [COLUMN] … [FIRST | AFTER c], DROP [COLUMN] c, RENAME COLUMN a TO b, RENAME [TO] t2,
    /// several separated by commas. Keys and type changes are outside the miniature.
    private mutating func parseAlterTable() throws(StoreError) -> Statement {
        let table = try tableName()
        var specs: [AlterSpec] = []
        func keyWord() -> Bool {
            ["INDEX", "KEY", "UNIQUE", "PRIMARY", "CONSTRAINT", "FOREIGN", "FULLTEXT", "SPATIAL", "CHECK"].contains { current.isWord($0) }
        }
        repeat {
            if accept("ADD") {
                if accept("INDEX") || accept("KEY") || accept("UNIQUE") {
                    let unique = tokens[index - 1].isWord("UNIQUE")
                    if unique { _ = accept("INDEX") || accept("KEY") }
                    let name: String? = current.isOp("(") ? nil : try identifier()
                    specs.append(.addIndex(name: name, columns: try keyColumns(), unique: unique))
                    continue
                }
                if keyWord() { throw StoreError.notSupported("ALTER TABLE … ADD " + (try anyWord()).uppercased()) }
                _ = accept("COLUMN")
                if current.isOp("(") { throw StoreError.notSupported("ALTER TABLE … ADD (…)") }
                let definition = try columnDefinition()
                var position = ColumnPosition.last
                if accept("FIRST") { position = .first } else if accept("AFTER") { position = .after(try identifier()) }
                specs.append(.addColumn(definition, position))
            } else if accept("DROP") {
                if accept("INDEX") || accept("KEY") {
                    specs.append(.dropIndex(try anyWord()))
                    continue
                }
                if keyWord() { throw StoreError.notSupported("ALTER TABLE … DROP " + (try anyWord()).uppercased()) }
                _ = accept("COLUMN")
                specs.append(.dropColumn(try identifier()))
            } else if accept("RENAME") {
                if accept("COLUMN") {
                    let from = try identifier()
                    try expect("TO")
                    specs.append(.renameColumn(from, try identifier()))
                } else if keyWord() {
                    throw StoreError.notSupported("ALTER TABLE … RENAME " + (try anyWord()).uppercased())
                } else {
                    _ = accept("TO") || accept("AS")
                    specs.append(.renameTable(try tableName()))
                }
            } else {
                if case .word(let w) = current.kind { throw StoreError.notSupported("ALTER TABLE … " + w.uppercased()) }
                throw error()
            }
        } while acceptOp(",")
        return .alterTable(table, specs)
    }

    private mutating func keyColumns() throws(StoreError) -> [String] {
        try expectOp("(")
        var cols: [String] = []
        repeat {
            cols.append(try identifier())
            if acceptOp("(") { _ = try integer(); try expectOp(")") }
            _ = accept("ASC") || accept("DESC")
        } while acceptOp(",")
        try expectOp(")")
        return cols
    }

    private mutating func columnDefinition() throws(StoreError) -> ColumnDefinition {
        let name = try identifier()
        let typeToken = current
        guard case .word(let typeWord) = current.kind else { throw error() }
        advance()
        // A length as written: any count of digits (mysqld reads them as a number and then range-checks it).
        func optionalLength(_ p: inout Parser) throws(StoreError) -> UInt64? {
            if p.acceptOp("(") {
                guard case .number(let text) = p.current.kind, text.allSatisfy(\.isNumber) else { throw p.error() }
                p.advance()
                if p.acceptOp(",") { _ = try p.integer() }
                try p.expectOp(")")
                return UInt64(text) ?? UInt64.max
            }
            return nil
        }
        // MySQL 8's limits: display widths up to 255, VARCHAR up to 16383 characters of utf8mb4 (65535 bytes),
        // CHAR up to 255, and no length at all past 2^32 - 1.
        func displayWidth(_ p: inout Parser) throws(StoreError) {
            if let n = try optionalLength(&p), n > 255 { throw StoreError.displayWidthOutOfRange(name, max: 255) }
        }
        func characters(_ n: UInt64, max limit: UInt64) throws(StoreError) -> Int {
            if n > 4_294_967_295 { throw StoreError.displayWidthOutOfRange(name, max: 4_294_967_295) }
            if n > limit { throw StoreError.columnTooLong(name, max: limit) }
            return Int(n)
        }
        let kind: ColumnKind
        switch typeWord.uppercased() {
        case "INT", "INTEGER", "MEDIUMINT": try displayWidth(&self); kind = .int
        case "BIGINT": try displayWidth(&self); kind = .bigint
        case "TINYINT", "BOOL", "BOOLEAN": try displayWidth(&self); kind = .tinyint
        case "SMALLINT": try displayWidth(&self); kind = .smallint
        case "VARCHAR":
            guard let n = try optionalLength(&self) else { throw error() }
            kind = .varchar(try characters(n, max: 16383))
        case "CHAR": kind = .char(try characters(try optionalLength(&self) ?? 1, max: 255))
        case "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT": _ = try optionalLength(&self); kind = .text
        case "DATETIME": _ = try optionalLength(&self); kind = .datetime
        case "TIMESTAMP": _ = try optionalLength(&self); kind = .timestamp
        case "DATE": kind = .date
        case "DOUBLE", "FLOAT", "REAL": _ = accept("PRECISION"); _ = try optionalLength(&self); kind = .double
        case "DECIMAL", "NUMERIC", "DEC", "FIXED":
            // MySQL 8: DECIMAL is DECIMAL(10,0), DECIMAL(M) is DECIMAL(M,0), DECIMAL(0) is DECIMAL(10,0).
            var precision: UInt64 = 10, scale: UInt64 = 0
            if acceptOp("(") {
                guard case .number(let text) = current.kind, text.allSatisfy(\.isNumber) else { throw error() }
                advance()
                precision = UInt64(text) ?? UInt64.max
                if acceptOp(",") {
                    guard case .number(let text) = current.kind, text.allSatisfy(\.isNumber) else { throw error() }
                    advance()
                    scale = UInt64(text) ?? UInt64.max
                }
                try expectOp(")")
            }
            if precision == 0 && scale == 0 { precision = 10 }
            if scale > 30 {
                throw StoreError(code: 1425, sqlState: "42000", message: "Too big scale \(scale) specified for column '\(name)'. Maximum is 30.")
            }
            if precision > 65 {
                throw StoreError(code: 1426, sqlState: "42000", message: "Too-big precision \(precision) specified for '\(name)'. Maximum is 65.")
            }
            if scale > precision {
                throw StoreError(code: 1427, sqlState: "42000",
                                 message: "For float(M,D), double(M,D) or decimal(M,D), M must be >= D (column '\(name)').")
            }
            if precision > UInt64(SQLValue.decimalDigits) { throw StoreError.notSupported("DECIMAL wider than 38 digits") }
            kind = .decimal(precision: Int(precision), scale: Int(scale))
        case "BLOB", "JSON", "ENUM", "SET", "BIT", "TIME", "YEAR", "BINARY", "VARBINARY":
            throw StoreError.notSupported("column type \(typeWord.uppercased())")
        default: throw error(at: typeToken)
        }
        var def = ColumnDefinition(name: name, kind: kind)
        while true {
            if accept("UNSIGNED") { def.kind = def.kind.unsigned; continue }
            if accept("SIGNED") || accept("ZEROFILL") { continue }
            if accept("NOT") { try expect("NULL"); def.notNull = true; continue }
            if accept("NULL") { continue }
            if accept("AUTO_INCREMENT") { def.autoIncrement = true; continue }
            if accept("PRIMARY") { try expect("KEY"); def.primaryKey = true; continue }
            if accept("KEY") { def.primaryKey = true; continue }
            if accept("UNIQUE") { _ = accept("KEY"); def.unique = true; continue }
            if accept("DEFAULT") {
                if acceptOp("(") { def.defaultValue = try parseExpr(); try expectOp(")") } else { def.defaultValue = try parsePrimary() }
                continue
            }
            if accept("ON") { try expect("UPDATE"); _ = try parsePrimary(); continue }
            if accept("COMMENT") { _ = try stringLiteral(); continue }
            if accept("CHARACTER") { try expect("SET"); _ = try anyWord(); continue }
            if accept("CHARSET") || accept("COLLATE") { _ = try anyWord(); continue }
            break
        }
        return def
    }

    private mutating func parseDrop() throws(StoreError) -> Statement {
        if accept("DATABASE") || accept("SCHEMA") {
            let ie = try ifExists()
            return .dropDatabase(try identifier(), ifExists: ie)
        }
        if accept("TABLE") || accept("TABLES") {
            let ie = try ifExists()
            var names: [TableName] = []
            repeat { names.append(try tableName()) } while acceptOp(",")
            _ = accept("RESTRICT") || accept("CASCADE")
            return .dropTable(names, ifExists: ie)
        }
        if accept("USER") {
            let ie = try ifExists()
            var users: [UserSpec] = []
            repeat { users.append(try userSpec()) } while acceptOp(",")
            return .dropUser(users, ifExists: ie)
        }
        if current.isWord("TEMPORARY") { throw StoreError.notSupported("DROP TEMPORARY TABLE") }
        if accept("INDEX") {
            let name = try anyWord()
            try expect("ON")
            return .alterTable(try tableName(), [.dropIndex(name)])
        }
        if current.isWord("VIEW") || current.isWord("TRIGGER") || current.isWord("PROCEDURE") {
            throw StoreError.notSupported("DROP " + (try anyWord()).uppercased())
        }
        throw error()
    }

    private mutating func userSpec() throws(StoreError) -> UserSpec {
        let name: String
        switch current.kind {
        case .string(let s), .quoted(let s), .word(let s): advance(); name = s
        default: throw error()
        }
        var host = "%"
        if case .userVariable(let h) = current.kind {
            advance()
            if h.isEmpty {
                switch current.kind {
                case .string(let s), .quoted(let s), .word(let s): advance(); host = s
                default: throw error()
                }
            } else {
                host = h
            }
        }
        return UserSpec(name: name, host: host, password: nil)
    }

    private mutating func parseGrant() throws(StoreError) -> Statement {
        var privileges: [String] = []
        var words: [String] = []
        while !current.isWord("ON") {
            if current.kind == .end { throw error() }
            if acceptOp(",") {
                privileges.append(words.joined(separator: " ")); words = []
                continue
            }
            if acceptOp("(") {  // column lists: GRANT SELECT (a, b)
                while !current.isOp(")") && current.kind != .end { advance() }
                try expectOp(")")
                continue
            }
            words.append(try anyWord().uppercased())
        }
        if !words.isEmpty { privileges.append(words.joined(separator: " ")) }
        try expect("ON")
        _ = accept("TABLE")
        var db = "*", table = "*"
        if acceptOp("*") {
            if acceptOp(".") { try expectOp("*") }
        } else {
            let first = try identifier()
            if acceptOp(".") {
                db = first
                if !acceptOp("*") { table = try anyWord() }
            } else {
                table = first
                db = ""
            }
        }
        try expect("TO")
        var user = try userSpec()
        if accept("IDENTIFIED") { try expect("BY"); user.password = try stringLiteral() }
        if accept("WITH") { while current.kind != .end { advance() } }
        return .grant(privileges: privileges, database: db, table: table, user: user)
    }

    private mutating func parseChangeSource() throws(StoreError) -> Statement {
        if accept("REPLICATION") {
            if current.isWord("FILTER") { throw StoreError.notSupported("CHANGE REPLICATION FILTER") }
            try expect("SOURCE")
        } else {
            try expect("MASTER")
        }
        try expect("TO")
        var options: [(String, SQLValue)] = []
        repeat {
            var name = try anyWord().uppercased()
            if name.hasPrefix("MASTER_") { name = "SOURCE_" + name.dropFirst("MASTER_".count) }
            try expectOp("=")
            switch current.kind {
            case .string(let s): options.append((name, .string(s))); advance()
            case .number(let s): options.append((name, Int64(s).map { SQLValue.int($0) } ?? .string(s))); advance()
            case .word(let w): options.append((name, .string(w))); advance()
            default: throw error()
            }
        } while acceptOp(",")
        if accept("FOR") { try expect("CHANNEL"); _ = try stringLiteral() }
        return .changeSource(options)
    }

    private mutating func parseSet() throws(StoreError) -> Statement {
        if accept("NAMES") {
            _ = try anyWordOrString()
            if accept("COLLATE") { _ = try anyWordOrString() }
            return .setNames
        }
        if accept("CHARACTER") { try expect("SET"); _ = try anyWordOrString(); return .setNames }
        if accept("CHARSET") { _ = try anyWordOrString(); return .setNames }
        if current.isWord("PASSWORD") { throw StoreError.notSupported("SET PASSWORD") }
        if accept("TRANSACTION") || (current.isWord("SESSION") && peek().isWord("TRANSACTION")) || (current.isWord("GLOBAL") && peek().isWord("TRANSACTION")) {
            while current.kind != .end { advance() }
            return .doNothing
        }
        var assignments: [(global: Bool, name: String, value: Expr)] = []
        repeat {
            var global = false
            var name: String
            if accept("GLOBAL") || accept("PERSIST") || accept("PERSIST_ONLY") {
                global = true
                name = try anyWord()
            } else if accept("SESSION") || accept("LOCAL") {
                name = try anyWord()
            } else if case .systemVariable(let v) = current.kind {
                advance()
                let lower = v.lowercased()
                if lower.hasPrefix("global.") || lower.hasPrefix("persist.") { global = true }
                name = v.split(separator: ".").last.map(String.init) ?? v
            } else if case .userVariable(let v) = current.kind {
                advance()
                name = "@" + v
            } else {
                name = try anyWord()
            }
            guard acceptOp("=") || acceptOp(":=") else { throw error() }
            let value: Expr
            if case .word(let w) = current.kind, ["ON", "OFF", "DEFAULT"].contains(w.uppercased()) || !Self.reserved.contains(w.uppercased()) && !peek().isOp("(") {
                advance()
                value = .literal(.string(w.uppercased()))
            } else {
                value = try parseExpr()
            }
            assignments.append((global, name.lowercased(), value))
        } while acceptOp(",")
        return .set(assignments)
    }

    private mutating func anyWordOrString() throws(StoreError) -> String {
        switch current.kind {
        case .word(let s), .string(let s), .quoted(let s): advance(); return s
        default: throw error()
        }
    }

    private mutating func parseShow() throws(StoreError) -> ShowKind {
        let full = accept("FULL")
        _ = accept("GLOBAL") || accept("SESSION")
        if accept("DATABASES") || accept("SCHEMAS") { return .databases(like: try likePattern()) }
        if accept("TABLES") {
            var db: String?
            if accept("FROM") || accept("IN") { db = try identifier() }
            return .tables(database: db, full: full, like: try likePattern())
        }
        if accept("COLUMNS") || accept("FIELDS") {
            guard accept("FROM") || accept("IN") else { throw error() }
            var t = try tableName()
            if accept("FROM") || accept("IN") { t.database = try identifier() }
            _ = try likePattern()
            return .columns(t, full: full)
        }
        if accept("CREATE") {
            if accept("TABLE") { return .createTable(try tableName()) }
            if accept("DATABASE") || accept("SCHEMA") { _ = try ifNotExists(); return .createDatabase(try identifier()) }
            throw StoreError.notSupported("SHOW CREATE")
        }
        if accept("VARIABLES") { return .variables(like: try likePattern()) }
        if accept("STATUS") { return .status(like: try likePattern()) }
        if accept("WARNINGS") { if accept("LIMIT") { _ = try rowCount(); if acceptOp(",") { _ = try rowCount() } }; return .warnings }
        if accept("ERRORS") { return .errors }
        if accept("REPLICA") || accept("SLAVE") {
            let legacy = tokens[index - 1].isWord("SLAVE")
            if accept("STATUS") {
                if accept("FOR") { try expect("CHANNEL"); _ = try stringLiteral() }
                return .replicaStatus(legacy: legacy)
            }
            if accept("HOSTS") { return .replicas(legacy: true) }
            throw error()
        }
        if accept("REPLICAS") { return .replicas(legacy: false) }
        if accept("MASTER") {
            if accept("STATUS") { return .binaryLogStatus }
            if accept("LOGS") { return .binaryLogs }
            throw error()
        }
        if accept("BINARY") {
            if accept("LOG") { try expect("STATUS"); return .binaryLogStatus }
            if accept("LOGS") { return .binaryLogs }
            throw error()
        }
        if accept("PROCESSLIST") { return .processlist }
        if accept("GRANTS") {
            if accept("FOR") {
                if accept("CURRENT_USER") { _ = acceptOp("(") && acceptOp(")"); return .grants(nil) }
                return .grants(try userSpec())
            }
            return .grants(nil)
        }
        if accept("ENGINES") { return .engines }
        if accept("CHARACTER") { try expect("SET"); _ = try likePattern(); return .charset }
        if accept("CHARSET") { _ = try likePattern(); return .charset }
        if accept("COLLATION") { _ = try likePattern(); return .collation }
        if accept("INDEX") || accept("INDEXES") || accept("KEYS") {
            guard accept("FROM") || accept("IN") else { throw error() }
            var t = try tableName()
            if accept("FROM") || accept("IN") { t.database = try identifier() }
            if current.isWord("WHERE") { throw StoreError.notSupported("SHOW … WHERE") }
            return .indexes(t)
        }
        if current.isWord("ENGINE") { throw StoreError.notSupported("SHOW ENGINE") }
        if current.isWord("TRIGGERS") || current.isWord("EVENTS") || current.isWord("PLUGINS") || current.isWord("PRIVILEGES") || current.isWord("PROFILES") || current.isWord("OPEN") {
            throw StoreError.notSupported("SHOW " + (try anyWord()).uppercased())
        }
        throw error()
    }

    // MARK: - Expressions

    mutating func parseExpr() throws(StoreError) -> Expr {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw Self.tooDeep() }
        return try parseOr()
    }

    /// mysqld's answer to a statement nested too deeply for its parser stack.
    static func tooDeep() -> StoreError {
        StoreError(code: 1436, sqlState: "HY000", message: "Thread stack overrun:  Used: 1 of a 1048576 byte stack, and 1048576 bytes needed.  Use 'mysqld --thread_stack=#' to specify a bigger stack.")
    }

    private mutating func parseOr() throws(StoreError) -> Expr {
        var left = try parseXor()
        while accept("OR") || acceptOp("||") { left = try node(.binary("OR", left, try parseXor())) }
        return left
    }
    private mutating func parseXor() throws(StoreError) -> Expr {
        var left = try parseAnd()
        while accept("XOR") { left = try node(.binary("XOR", left, try parseAnd())) }
        return left
    }
    private mutating func parseAnd() throws(StoreError) -> Expr {
        var left = try parseNot()
        while accept("AND") || acceptOp("&&") { left = try node(.binary("AND", left, try parseNot())) }
        return left
    }
    private mutating func parseNot() throws(StoreError) -> Expr {
        if accept("NOT") {
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else { throw Self.tooDeep() }
            return .unary("NOT", try parseNot())
        }
        return try parseComparison()
    }
    private mutating func parseComparison() throws(StoreError) -> Expr {
        var left = try parseAdditive()
        while true {
            if case .op(let o) = current.kind, ["=", "<", ">", "<=", ">=", "!=", "<>", "<=>"].contains(o) {
                advance()
                if current.isWord("ANY") || current.isWord("ALL") || current.isWord("SOME") { throw StoreError.notSupported("subqueries") }
                left = try node(.binary(o == "<>" ? "!=" : o, left, try parseAdditive()))
                continue
            }
            if accept("IS") {
                let negated = accept("NOT")
                if accept("NULL") { left = try node(.isNull(left, negated: negated)); continue }
                if accept("TRUE") { left = .binary(negated ? "!=" : "=", .function(name: "TRUTH", args: [left], star: false), .literal(.int(1))); continue }
                if accept("FALSE") { left = .binary(negated ? "!=" : "=", .function(name: "TRUTH", args: [left], star: false), .literal(.int(0))); continue }
                throw error()
            }
            let save = index
            let negated = accept("NOT")
            if accept("LIKE") {
                left = try node(.like(left, try parseAdditive(), negated: negated))
                if accept("ESCAPE") { _ = try stringLiteral() }
                continue
            }
            if accept("IN") {
                try expectOp("(")
                if accept("SELECT") {
                    let q = try parseSelect()
                    try expectOp(")")
                    left = try node(.inSubquery(left, q, negated: negated))
                    continue
                }
                var list: [Expr] = []
                repeat { list.append(try parseExpr()) } while acceptOp(",")
                try expectOp(")")
                left = try node(.inList(left, list, negated: negated))
                continue
            }
            if accept("BETWEEN") {
                let low = try parseAdditive()
                try expect("AND")
                let high = try parseAdditive()
                left = try node(.between(left, low, high, negated: negated))
                continue
            }
            if current.isWord("REGEXP") || current.isWord("RLIKE") { throw StoreError.notSupported("REGEXP") }
            index = save
            return left
        }
    }
    private mutating func parseAdditive() throws(StoreError) -> Expr {
        var left = try parseMultiplicative()
        while true {
            if acceptOp("+") { left = try node(.binary("+", left, try parseMultiplicative())) } else if acceptOp("-") { left = try node(.binary("-", left, try parseMultiplicative())) } else { return left }
        }
    }
    private mutating func parseMultiplicative() throws(StoreError) -> Expr {
        var left = try parseUnary()
        while true {
            if acceptOp("*") { left = try node(.binary("*", left, try parseUnary())) } else if acceptOp("/") { left = try node(.binary("/", left, try parseUnary())) } else if acceptOp("%") || accept("MOD") { left = try node(.binary("%", left, try parseUnary())) } else if accept("DIV") { left = try node(.binary("DIV", left, try parseUnary())) } else { return left }
        }
    }
    private mutating func parseUnary() throws(StoreError) -> Expr {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw Self.tooDeep() }
        if acceptOp("-") {
            if case .number(let s) = current.kind, let v = Int64("-" + s) { advance(); return .literal(.int(v)) }
            return .unary("-", try parseUnary())
        }
        if acceptOp("+") { return try parseUnary() }
        if acceptOp("!") { return .unary("NOT", try parseUnary()) }
        return try parsePrimary()
    }

    mutating func parsePrimary() throws(StoreError) -> Expr {
        let t = current
        switch t.kind {
        case .number(let s):
            advance()
            guard let value = SQLValue.numericLiteral(s) else {
                if !s.contains("."), s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) || Double(s)?.isFinite == false {
                    throw StoreError(code: 1367, sqlState: "22007", message: "Illegal double '\(s)' value found during parsing")
                }
                throw error(at: t)
            }
            return .literal(value)
        case .string(let s):
            advance()
            var text = s
            while case .string(let more) = current.kind { text += more; advance() }  // 'a' 'b' concatenates
            return .literal(.string(text))
        case .systemVariable(let v):
            advance()
            let parts = v.split(separator: ".")
            let name = parts.count > 1 && ["global", "session", "local", "persist"].contains(parts[0].lowercased()) ? parts.dropFirst().joined(separator: ".") : v
            return .systemVariable(name.lowercased())
        case .userVariable(let v):
            advance()
            return .userVariable(v.lowercased())
        case .op("("):
            advance()
            if accept("SELECT") {
                let q = try parseSelect()
                try expectOp(")")
                return try node(.subquery(q))
            }
            let e = try parseExpr()
            if current.isOp(",") { throw StoreError.notSupported("row constructors") }
            try expectOp(")")
            return e
        case .quoted(let name):
            advance()
            if acceptOp(".") { return .column(table: name, name: try anyWord()) }
            return .column(table: nil, name: name)
        case .word(let w):
            let upper = w.uppercased()
            switch upper {
            case "NULL": advance(); return .literal(.null)
            case "TRUE": advance(); return .literal(.int(1))
            case "FALSE": advance(); return .literal(.int(0))
            case "CURRENT_TIMESTAMP", "LOCALTIME", "LOCALTIMESTAMP", "CURRENT_DATE", "CURRENT_USER", "UTC_TIMESTAMP", "CURRENT_TIME":
                advance()
                if acceptOp("(") { if !current.isOp(")") { _ = try integer() }; try expectOp(")") }
                let name = upper == "CURRENT_DATE" ? "CURDATE" : upper == "CURRENT_USER" ? "CURRENT_USER" : upper == "UTC_TIMESTAMP" ? "UTC_TIMESTAMP" : upper == "CURRENT_TIME" ? "CURTIME" : "NOW"
                return .function(name: name, args: [], star: false)
            case "CASE":
                // CASE x WHEN a THEN r … [ELSE e] END and CASE WHEN cond THEN r … [ELSE e] END. The function names
                // hold a colon, which no identifier can: a learner cannot call them.
                advance()
                var args: [Expr] = []
                let simple = !current.isWord("WHEN")
                if simple { args.append(try parseExpr()) }
                guard current.isWord("WHEN") else { throw error() }
                while accept("WHEN") {
                    args.append(try parseExpr())
                    try expect("THEN")
                    args.append(try parseExpr())
                }
                if accept("ELSE") { args.append(try parseExpr()) }
                try expect("END")
                return .function(name: simple ? "CASE:SIMPLE" : "CASE:SEARCHED", args: args, star: false)
            case "EXISTS":
                advance()
                try expectOp("(")
                try expect("SELECT")
                let q = try parseSelect()
                try expectOp(")")
                return try node(.exists(q))
            case "INTERVAL": throw StoreError.notSupported("INTERVAL")
            case "BINARY": advance(); return try parseUnary()
            case "DEFAULT" where peek().isOp("("): throw StoreError.notSupported("DEFAULT()")
            default: break
            }
            if peek().isOp("(") {
                advance(); advance()
                if upper == "COUNT", accept("DISTINCT") {
                    let counted = try parseExpr()
                    if acceptOp(",") { throw StoreError.notSupported("COUNT(DISTINCT) of more than one expression") }
                    try expectOp(")")
                    return try windowed(.function(name: "COUNT_DISTINCT", args: [counted], star: false))
                }
                if upper == "SUM" || upper == "MAX" || upper == "MIN" || upper == "AVG" {
                    if current.isWord("DISTINCT") { throw StoreError.notSupported("\(upper)(DISTINCT)") }
                }
                if upper == "CAST" || upper == "CONVERT" {
                    // CAST(x AS SIGNED | UNSIGNED | CHAR | DECIMAL(M,D) | DOUBLE | DATE | DATETIME), CONVERT(x, type)
                    let value = try parseExpr()
                    if upper == "CAST" { try expect("AS") } else { try expectOp(",") }
                    let type = try anyWord().uppercased()
                    var target = type
                    switch type {
                    case "SIGNED", "UNSIGNED": _ = accept("INTEGER") || accept("INT")
                    case "CHAR", "NCHAR", "BINARY": target = "CHAR"; if acceptOp("(") { _ = try integer(); try expectOp(")") }
                    case "DECIMAL":
                        var precision: Int64 = 10, scale: Int64 = 0
                        if acceptOp("(") {
                            precision = Int64(clamping: try integer())
                            if acceptOp(",") { scale = Int64(clamping: try integer()) }
                            try expectOp(")")
                        }
                        try expectOp(")")
                        return .function(name: "CAST_DECIMAL", args: [value, .literal(.int(precision)), .literal(.int(scale))], star: false)
                    case "DOUBLE", "FLOAT", "REAL", "DATE", "DATETIME": break
                    default: throw StoreError.notSupported("CAST to \(type)")
                    }
                    try expectOp(")")
                    return .function(name: "CAST_" + target, args: [value], star: false)
                }
                if acceptOp("*") {
                    try expectOp(")")
                    guard upper == "COUNT" else { throw error(at: tokens[index - 2]) }
                    return try windowed(.function(name: upper, args: [], star: true))
                }
                var args: [Expr] = []
                if !current.isOp(")") {
                    repeat { args.append(try parseExpr()) } while acceptOp(",")
                }
                try expectOp(")")
                return try windowed(.function(name: upper, args: args, star: false))
            }
            if Self.reserved.contains(upper) { throw error(at: t) }
            advance()
            if acceptOp(".") { return .column(table: w, name: try anyWord()) }
            return .column(table: nil, name: w)
        default:
            throw error(at: t)
        }
    }
}
