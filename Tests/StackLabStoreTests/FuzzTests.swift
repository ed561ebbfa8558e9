import Foundation
import NIOCore
import Testing
import StackLabTestSupport
@testable import StackLabStore

@Suite("Nothing a client sends crashes the server")
struct FuzzTests {
    static let fragments = ["SELECT", "INSERT", "INTO", "posts", "foobar.posts", "(", ")", ",", "'x'", "\"y\"", "`id`", "*", "FROM",
                            "WHERE", "=", "<>", "!=", ">=", "AND", "OR", "NOT", "NULL", "IS", "LIKE", "'%a%'", "ORDER", "BY", "DESC",
                            "LIMIT", "1", "-9223372036854775808", "9223372036854775807", "99999999999999999999", "VALUES", "UPDATE",
                            "SET", "DELETE", "CREATE", "TABLE", "DROP", "DATABASE", "@@read_only", "@x", "COUNT(*)", "NOW()", ";",
                            "id", "author", "+", "-", "/", "%", "DIV", "SHOW", "TABLES", "REPLICA", "STATUS", "'", "`", "/*", "--",
                            "\u{0}", "é", "1.5", "0.0000001", "9999999999999999999.5", "MOD", "ABS(", "ROUND(", "CHANGE", "MASTER", "TO", "MASTER_PORT", "START", "STOP", "GRANT", "USER", "@'%'", "IN", "BETWEEN",
                            // Numbers at the edges and where they go: limits, offsets, counters, lengths, variables.
                            "0", "-1", "2147483647", "2147483648", "4294967296", "18446744073709551615", "18446744073709551616",
                            "OFFSET", "AUTO_INCREMENT", "BIGINT", "PRIMARY KEY", "VARCHAR(", "CHAR(", "INT(", "ABS(-9223372036854775808)",
                            "GLOBAL", "SESSION", "wait_timeout", "max_connections", "max_allowed_packet", "@@wait_timeout"]

    @Test func randomSQLAlwaysGetsAnAnswer() async throws {
        let store = try await startedStore()
        var rng = SplitMix64(state: 42)
        _ = try await store.execute("INSERT INTO foobar.posts (author) VALUES ('a'), ('b')")
        var errors = 0
        for _ in 0..<3000 {
            let n = Int.random(in: 1...12, using: &rng)
            let sql = (0..<n).map { _ in
                Int.random(in: 0..<8, using: &rng) == 0 ? rng.edgeNumber() : (Self.fragments.randomElement(using: &rng) ?? "")
            }.joined(separator: " ")
            var session = Session.root()
            session.database = "foobar"
            let run = store.runScript(sql, session: &session)
            #expect(!run.outcomes.isEmpty, "no answer to \(sql)")
            for case .failure(let e) in run.outcomes {
                errors += 1
                #expect(e.code >= 1000 && e.code < 14000 && !e.message.isEmpty, "\(sql)")
            }
        }
        #expect(errors > 0)
        // The store still works afterwards. (Random DROP/DELETE statements may have removed the rows.)
        _ = try await store.execute("CREATE DATABASE IF NOT EXISTS fuzzcheck")
        #expect(try await store.execute("SELECT 1").rows == [["1"]])
        await store.stop()
    }

    @Test func deeplyNestedExpressionsAreAnErrorNotAStackOverflow() async throws {
        let store = try await startedStore()
        for sql in ["SELECT " + String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000),
                    "SELECT " + String(repeating: "NOT ", count: 100_000) + "1",
                    "SELECT " + String(repeating: "- ", count: 100_000) + "1",
                    "SELECT 1" + String(repeating: " + 1", count: 5_000),
                    "SELECT 1 FROM foobar.posts WHERE " + Array(repeating: "id = 1", count: 5_000).joined(separator: " OR ")] {
            var session = Session.root()
            let run = store.runScript(sql, session: &session)
            if case .failure(let e) = run.outcomes.first { #expect(e.code == 1436) } else { Issue.record("accepted \(sql.prefix(40))…") }
        }
        // Within the limits, deep expressions work.
        var session = Session.root()
        let ok = store.runScript("SELECT " + String(repeating: "(", count: 60) + "1" + String(repeating: ")", count: 60) + String(repeating: " + 1", count: 400), session: &session)
        #expect(try ok.outcomes.first?.get().rows == [["401"]])
        await store.stop()
    }

    @Test func randomBytesOnTheWireGetErrorsOrAClose() async throws {
        let store = try await startedStore()
        var rng = SplitMix64(state: 7)
        for round in 0..<300 {
            let client = try EmbeddedClient(store: store)
            if round % 2 == 0 { _ = try client.login(user: "app", password: "app") } else { _ = try client.packets() }
            for _ in 0..<5 {
                let length = Int.random(in: 0...40, using: &rng)
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if round % 3 == 0, !bytes.isEmpty { bytes[0] = [0x03, 0x02, 0x04, 0x12, 0x1E, 0x0E][Int.random(in: 0...5, using: &rng)] }
                if !client.channel.isActive { break }
                // Raw frames, sometimes with a lying length header.
                var b = ByteBuffer()
                if Bool.random(using: &rng) {
                    MySQLPacketEncoder.frame(MySQLPacket(sequenceID: 0, payload: ByteBuffer(bytes: bytes)), into: &b)
                } else {
                    b.writeBytes(bytes)
                }
                _ = try? client.channel.writeInbound(b)
                let answers = (try? client.packets()) ?? []
                for a in answers where a.first == 0xFF { #expect((a.errorCode ?? 0) >= 1000) }
            }
            _ = try? client.channel.finish()
        }
        // Still serving.
        let client = try EmbeddedClient(store: store)
        #expect(try client.login(user: "app", password: "app").map(\.first) == [0x00])
        #expect(try client.query("SELECT 1").count == 4)
        await store.stop()
    }
}
