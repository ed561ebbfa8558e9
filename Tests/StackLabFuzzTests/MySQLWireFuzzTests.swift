import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import StackLab
@testable import StackLabStore
import StackLabTestSupport

/// Random and mutated MySQL packets at a running lab's web-01 store: handshake responses before any login,
/// commands (COM_QUERY, COM_STMT_*, COM_BINLOG_DUMP …) after one, frames with lying lengths, and SQL with numbers at
/// the edges, long strings, deep nesting and bytes that are not UTF-8. After the cases the lab answers a good request
/// and the store a fresh login's SELECT 1. A few seconds each in `make test`; `make fuzz` runs them for minutes.
@Suite("MySQL packets at the lab's store", .runsALab)
struct MySQLWireFuzzTests {
    /// The fuzzing account: everything on its own database, nothing on the site's, so random DDL cannot take the
    /// site down (only a crash could).
    static func prepare(_ lab: FuzzLab) async throws -> (host: String, port: Int) {
        let store = try #require((lab.lab.process("web-01", .mysql) as? StoreProcess)?.store)
        _ = try await store.execute("""
            CREATE DATABASE fuzz; CREATE USER 'fuzz'@'%' IDENTIFIED BY 'fuzz'; GRANT ALL ON fuzz.* TO 'fuzz'@'%';
            CREATE TABLE fuzz.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, n INT, s VARCHAR(64), d DOUBLE, txt TEXT);
            INSERT INTO fuzz.t (n, s) VALUES (1, 'a'), (2, 'b'), (3, 'c')
            """)
        return lab.address("web-01", port: 3306)
    }

    /// What every test asserts afterwards: every process runs, lb-01 answers 200, and a fresh login gets SELECT 1.
    /// (A long run keeps both cores busy: lb-01 may have marked a server down meanwhile, and needs its rise checks.)
    static func stillServing(_ lab: FuzzLab, _ target: (host: String, port: Int)) async throws {
        #expect(lab.lab.processes.allSatisfy { $0.state == .running }, "\(lab.lab.processes.map { "\($0.name) \($0.state)" })")
        try await waitUntil(timeout: 60, "lb-01 to answer a good request") { try await lab.answersAGoodRequest() }
        let pool = MySQLClientPool(host: target.host, port: target.port, user: "app", password: "app-secret", database: "foobar", size: 1,
                                   dial: StoreDialers.direct(group: lab.lab.group))
        #expect(try await pool.query("SELECT 1").rows == [["1"]])
        await pool.close()
    }

    // MARK: - Before the login

    @Test func randomAndMutatedHandshakesNeverTakeTheStoreDown() async throws {
        let lab = try await FuzzLab.start()
        let target = try await Self.prepare(lab)
        let budget = FuzzBudget("mysql handshakes", seed: 0x5EED_3306)
        var rng = budget.generator()
        var cases = 0
        while budget.more(after: cases) {
            // Eight at a time: each waits a moment for the server's answer.
            let batch = (0..<8).map { _ in Self.handshakeBytes(&rng) }
            await withTaskGroup(of: Void.self) { group in
                for bytes in batch {
                    // The server reads them after its greeting; a moment for its answer, then the next.
                    group.addTask { _ = try? await RawExchange.send(bytes, to: target.host, port: target.port, group: lab.lab.group, timeout: .milliseconds(250)) }
                }
            }
            cases += batch.count
        }
        print(budget.summary(cases: cases))
        try await Self.stillServing(lab, target)
        await lab.stop()
    }

    /// A HandshakeResponse41, then mutated: bytes flipped, cut short, lengths at the edges, frames that lie.
    static func handshakeBytes(_ rng: inout SplitMix64) -> [UInt8] {
        var payload: [UInt8] = []
        let caps: UInt32 = Int.random(in: 0..<4, using: &rng) == 0 ? UInt32.random(in: 0...UInt32.max, using: &rng) : 0x00AF_A685
        payload += withUnsafeBytes(of: caps.littleEndian, Array.init)
        payload += withUnsafeBytes(of: UInt32(1 << 24).littleEndian, Array.init)
        payload += [0xFF] + [UInt8](repeating: 0, count: 23)
        payload += Array((["root", "fuzz", "app", "", String(repeating: "u", count: 300)].randomElement(using: &rng) ?? "").utf8)
        if Bool.random(using: &rng) { payload.append(0) }
        // The auth response's length: lenenc at its edges (0xFB NULL, 0xFC/0xFD/0xFE with huge values) or plain.
        let lengths: [[UInt8]] = [[0], [20], [0xFB], [0xFC, 0xFF, 0xFF], [0xFD, 0xFF, 0xFF, 0xFF], [0xFE] + [UInt8](repeating: 0xFF, count: 8), [0xFF]]
        payload += lengths.randomElement(using: &rng) ?? [0]
        payload += (0..<Int.random(in: 0...24, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        if Bool.random(using: &rng) { payload += Array("fuzz".utf8) + [0] }
        if Bool.random(using: &rng) { payload += Array("mysql_native_password".utf8) + [0] }
        if Int.random(in: 0..<3, using: &rng) == 0 { payload += rng.oddBytes() }
        for _ in 0..<Int.random(in: 0...4, using: &rng) where !payload.isEmpty {
            payload[Int.random(in: 0..<payload.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
        }
        if Int.random(in: 0..<4, using: &rng) == 0 { payload = Array(payload.prefix(Int.random(in: 0...payload.count, using: &rng))) }
        return frames(payload, &rng)
    }

    /// Frames a payload, sometimes with a length that lies (at the edges: 0, 0xFFFFFF, more than sent) or a wrong
    /// sequence id, sometimes as raw bytes with no frame at all.
    static func frames(_ payload: [UInt8], _ rng: inout SplitMix64, sequence: UInt8 = 1) -> [UInt8] {
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: return payload
        case 1:
            let lie = [0, 1, 0xFF_FFFF, payload.count + 1, payload.count * 2 + 7, 0x01_0000].randomElement(using: &rng) ?? 0
            return [UInt8(lie & 0xFF), UInt8((lie >> 8) & 0xFF), UInt8((lie >> 16) & 0xFF), UInt8.random(in: 0...255, using: &rng)] + payload
        case 2:
            // A continuation frame, then whatever follows.
            return [0xFF, 0xFF, 0xFF, sequence] + payload.prefix(100) + [0x05, 0x00, 0x00, sequence &+ 1, 1, 2, 3, 4, 5]
        default:
            var b = ByteBuffer()
            MySQLPacketEncoder.frame(MySQLPacket(sequenceID: Bool.random(using: &rng) ? sequence : UInt8.random(in: 0...255, using: &rng),
                                                 payload: ByteBuffer(bytes: payload)), into: &b)
            return Array(b.readableBytesView)
        }
    }

    // MARK: - After the login

    @Test func randomCommandsAfterALoginNeverTakeTheStoreDown() async throws {
        let lab = try await FuzzLab.start()
        let target = try await Self.prepare(lab)
        let budget = FuzzBudget("mysql commands", seed: 0xC0FF_EE03)
        var rng = budget.generator()
        var cases = 0
        var conn: MySQLConnection?
        while budget.more(after: cases) {
            cases += 1
            if conn?.isActive != true {
                conn = try await MySQLConnection.connect(host: target.host, port: target.port, user: "fuzz", password: "fuzz", database: "fuzz",
                                                         dial: StoreDialers.direct(group: lab.lab.group))
            }
            guard let c = conn else { continue }
            let command = Self.commandPayload(&rng)
            if Int.random(in: 0..<6, using: &rng) == 0 {
                // Below the packet encoder: frames that lie about their length.
                let bytes = Self.frames(command, &rng, sequence: 0)
                try? await c.channel.eventLoop.submit {
                    let encoder = try c.channel.pipeline.syncOperations.context(handlerType: MessageToByteHandler<MySQLPacketEncoder>.self)
                    var buffer = c.channel.allocator.buffer(capacity: bytes.count)
                    buffer.writeBytes(bytes)
                    encoder.writeAndFlush(NIOAny(buffer), promise: nil)
                }.get()
            } else {
                try? await c.send(ByteBuffer(bytes: command), sequence: 0)
            }
            // One packet of the answer (the rest, if any, is read as later answers: the server only needs to live).
            // No answer: the server waits for the rest of a frame that lied; a new connection goes on.
            if (try? await c.nextPacket(timeoutSeconds: 1)) == nil { c.close() }
        }
        conn?.close()
        print(budget.summary(cases: cases))
        try await Self.stillServing(lab, target)
        await lab.stop()
    }

    /// A command byte the server knows or not, with a body that fits it, almost fits it, or is noise.
    static func commandPayload(_ rng: inout SplitMix64) -> [UInt8] {
        // COM_INIT_DB, COM_QUERY, COM_FIELD_LIST, COM_STATISTICS, COM_PROCESS_KILL, COM_PING, COM_CHANGE_USER,
        // COM_BINLOG_DUMP, COM_STMT_PREPARE/EXECUTE/SEND_LONG_DATA/CLOSE/RESET, COM_SET_OPTION, COM_STMT_FETCH,
        // COM_BINLOG_DUMP_GTID, COM_RESET_CONNECTION, and bytes that are no command.
        let commands: [UInt8] = [0x02, 0x03, 0x04, 0x09, 0x0C, 0x0E, 0x11, 0x12, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1E, 0x1F,
                                 0x00, 0x20, 0x7F, 0xFF]
        let command = commands.randomElement(using: &rng) ?? 0x03
        var body: [UInt8]
        switch command {
        case 0x03, 0x16: body = Array(sqlText(&rng))
        case 0x02, 0x04: body = Array((["fuzz", "foobar", "nosuch", "", "t", "posts\u{0}x"].randomElement(using: &rng) ?? "").utf8)
        case 0x12, 0x1E, 0x17, 0x18:
            // Binlog positions, server ids, statement ids, name lengths: integers at their edges.
            body = (0..<Int.random(in: 0...6, using: &rng)).flatMap { _ -> [UInt8] in
                let edges: [UInt64] = [0, 1, 4, 0xFFFF_FFFF, UInt64.max, UInt64(Int64.max), 512, 513]
                let v = edges.randomElement(using: &rng) ?? 0
                return Array(withUnsafeBytes(of: v.littleEndian, Array.init).prefix([1, 2, 4, 8].randomElement(using: &rng) ?? 4))
            }
            if Bool.random(using: &rng) { body += Array("mysql-bin.000001".utf8) }
        default: body = (0..<Int.random(in: 0...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
        if Int.random(in: 0..<8, using: &rng) == 0 { body += rng.oddBytes() }
        return [command] + body
    }

    // MARK: - SQL at the edges

    @Test func sqlWithNumbersAtTheEdgesIsAlwaysAnswered() async throws {
        let lab = try await FuzzLab.start()
        let target = try await Self.prepare(lab)
        let budget = FuzzBudget("mysql sql", seed: 0x5_0001)
        var rng = budget.generator()
        var cases = 0
        var unanswered: [String] = []
        var conn = try await MySQLConnection.connect(host: target.host, port: target.port, user: "fuzz", password: "fuzz", database: "fuzz",
                                                     dial: StoreDialers.direct(group: lab.lab.group))
        while budget.more(after: cases) {
            cases += 1
            let sql = Self.sqlText(&rng)
            try await conn.send(ByteBuffer(bytes: [0x03] + sql), sequence: 0)
            do {
                // Every query is answered: a result, an OK or an error. (A statement a real server would take more
                // than a few seconds for is not among these.)
                _ = try await conn.nextPacket(timeoutSeconds: 20)
            } catch {
                unanswered.append(String(decoding: sql.prefix(120), as: UTF8.self))
            }
            if !conn.isActive {
                conn = try await MySQLConnection.connect(host: target.host, port: target.port, user: "fuzz", password: "fuzz", database: "fuzz",
                                                         dial: StoreDialers.direct(group: lab.lab.group))
            }
        }
        conn.close()
        print(budget.summary(cases: cases))
        #expect(unanswered.isEmpty, "no answer to: \(unanswered.prefix(3))")
        try await Self.stillServing(lab, target)
        await lab.stop()
    }

    static let fragments = ["SELECT", "INSERT INTO", "t", "fuzz.t", "(", ")", ",", "'x'", "id", "n", "s", "d", "txt", "*", "FROM", "WHERE",
                            "=", "<>", ">=", "AND", "OR", "NOT", "NULL", "IS", "LIKE", "'%a%'", "ORDER BY", "GROUP BY", "HAVING", "DISTINCT", "COUNT(DISTINCT", "DESC", "LIMIT", "OFFSET",
                            "VALUES", "UPDATE", "SET", "DELETE FROM", "CREATE TABLE", "DROP TABLE", "BIGINT AUTO_INCREMENT PRIMARY KEY",
                            "VARCHAR(", "CHAR(", "INT(", "COUNT(*)", "ABS(", "ROUND(", "SUBSTRING(", "CAST(", "AS", "DECIMAL(", "SIGNED", "DATE(", "MAX(", "SUM(", "+", "-", "*", "/", "%", "DIV", ";",
                            "@@max_connections", "@@wait_timeout", "@x", "SHOW", "VARIABLES", "STATUS", "'", "`", "/*", "--", "\\"]

    /// SQL text as bytes: statements from a few shapes with numbers at the edges, or random fragments, with long
    /// strings, deep nesting and bytes that are not UTF-8 mixed in.
    static func sqlText(_ rng: inout SplitMix64) -> [UInt8] {
        let a = rng.edgeNumber(), b = rng.edgeNumber()
        let shapes = [
            "SELECT id FROM t ORDER BY id DESC LIMIT \(a) OFFSET \(b)", "SELECT * FROM t LIMIT \(a), \(b)",
            "INSERT INTO t (id) VALUES (\(a))", "INSERT INTO t (n) VALUES (\(a)), (\(b))", "UPDATE t SET id = \(a) WHERE n = \(b)",
            "UPDATE t SET n = \(a) LIMIT \(b)", "DELETE FROM t WHERE id = \(a) LIMIT \(b)", "SELECT \(a) + \(b), \(a) - \(b), \(a) * \(b)",
            "SELECT \(a) DIV \(b), \(a) % \(b), \(a) / \(b)", "SELECT ABS(\(a)), ROUND(\(b)), -\(a)",
            "SELECT ROUND(\(a), \(b)), FLOOR(\(a)), CEIL(\(b)), \(a) = \(b), \(a) < \(b)", "SELECT AVG(n * \(a)), SUM(d + \(b)) FROM t",
            "SELECT SUBSTRING('abc', \(a), \(b)), LEFT('abc', \(a)), LOCATE('b', 'abc', \(b)), CAST(\(a) AS SIGNED), CAST(\(b) AS DECIMAL(10,2))",
            "SELECT n, COUNT(*), SUM(d) FROM t GROUP BY n HAVING COUNT(*) > \(a) ORDER BY 2 DESC LIMIT \(b)",
            "SELECT DISTINCT s, n + \(a) FROM t ORDER BY 1 LIMIT \(b)", "SELECT COUNT(DISTINCT n * \(a)) FROM t GROUP BY \(b)",
            "SELECT CAST(\(a) AS UNSIGNED), CAST('\(b)' AS DECIMAL(38,30)), GREATEST(\(a), \(b)), MOD(\(a), \(b)), POW(\(a), \(b)), SQRT(\(a))", "INSERT INTO t (d) VALUES (\(a) * \(b))",
            "CREATE TABLE e\(Int.random(in: 0..<50, using: &rng)) (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(\(a)), c CHAR(\(b)))",
            "SET SESSION wait_timeout = \(a)", "SET GLOBAL max_connections = \(a)", "SELECT @@max_allowed_packet + \(a)",
            "INSERT INTO t (s) VALUES ('\(String(repeating: "A", count: Int.random(in: 0...70_000, using: &rng)))')",
            "SELECT " + String(repeating: "(", count: Int.random(in: 0...5_000, using: &rng)) + "1",
            "SELECT 1" + String(repeating: " + 1", count: Int.random(in: 0...2_000, using: &rng)),
            "SELECT " + Array(repeating: "\(a)", count: Int.random(in: 1...5_000, using: &rng)).joined(separator: ", "),
        ]
        var sql: [UInt8]
        if Int.random(in: 0..<3, using: &rng) == 0 {
            sql = Array((0..<Int.random(in: 1...14, using: &rng)).map { _ in
                Int.random(in: 0..<4, using: &rng) == 0 ? rng.edgeNumber() : (fragments.randomElement(using: &rng) ?? "")
            }.joined(separator: " ").utf8)
        } else {
            sql = Array((shapes.randomElement(using: &rng) ?? "SELECT 1").utf8)
        }
        if Int.random(in: 0..<6, using: &rng) == 0, !sql.isEmpty {
            let at = Int.random(in: 0...sql.count, using: &rng)
            sql.insert(contentsOf: rng.oddBytes().prefix(2_000), at: at)
        }
        return sql
    }
}
