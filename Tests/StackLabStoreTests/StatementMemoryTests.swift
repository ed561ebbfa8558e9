import Foundation
import Testing
@testable import StackLabStore

/// One query's tokens and answers are bounded (StatementMemory.limit); past the bound it is ERROR 1037, as mysqld
/// answers a statement it cannot give memory to, and the store goes on serving.
@Suite("A query's memory is bounded")
struct StatementMemoryTests {
    static func outcome(_ store: MySQLStore, _ sql: String) -> [Result<StoreResult, StoreError>] {
        var session = Session.root()
        session.database = "foobar"
        return store.runScript(sql, session: &session).outcomes
    }

    static func failure(_ outcomes: [Result<StoreResult, StoreError>]) -> StoreError? {
        guard case .failure(let e) = outcomes.last else { return nil }
        return e
    }

    /// SQLite returns at most 2,000 columns: past that, MySQL's "Too many columns".
    @Test func aSelectListOfThousandsOfColumnsWorksAndOneOfHundredsOfThousandsIsRefused() async throws {
        let s = try await startedStore()
        let wide = Self.outcome(s, "SELECT " + Array(repeating: "1", count: 2_000).joined(separator: ", "))
        #expect(try wide.first?.get().columnInfo.count == 2_000)
        let tooWide = Self.failure(Self.outcome(s, "SELECT " + Array(repeating: "1", count: 20_000).joined(separator: ", ")))
        #expect(tooWide == StoreError(code: 1117, sqlState: "42000", message: "Too many columns"))
        let huge = Self.failure(Self.outcome(s, "SELECT " + Array(repeating: "1", count: 200_000).joined(separator: ", ")))
        #expect(huge?.code == 1117 || huge?.code == 1037, "\(String(describing: huge))")
        #expect(try await s.execute("SELECT 1").rows == [["1"]])
        await s.stop()
    }

    @Test func manyStarsOverManyRowsAreRefusedWhileTheRowsAreBuilt() async throws {
        let s = try await startedStore()
        let values = (0..<2_000).map { _ in "('\(String(repeating: "x", count: 60))')" }.joined(separator: ", ")
        _ = try await s.execute("INSERT INTO foobar.posts (author) VALUES \(values)")
        #expect(try Self.outcome(s, "SELECT * FROM posts").first?.get().rows.count == 2_000)
        let stars = Array(repeating: "*", count: 600).joined(separator: ", ")
        #expect(Self.failure(Self.outcome(s, "SELECT \(stars) FROM posts"))?.code == 1037)
        await s.stop()
    }

    @Test func aQueryOfManyStatementsIsBoundedAsAWhole() async throws {
        let s = try await startedStore()
        let outcomes = Self.outcome(s, String(repeating: "SELECT 'x';", count: 80_000))
        #expect(Self.failure(outcomes)?.code == 1037)
        // The statements before the bound ran and answered, as the ones before a syntax error do.
        #expect(outcomes.count > 1_000 && outcomes.count < 80_000)
        await s.stop()
    }

    @Test func aQueryOfTooManyTokensIsRefusedBeforeItIsParsed() async throws {
        let s = try await startedStore()
        let tokens = StatementMemory.limit / StatementMemory.perToken
        let e = Self.failure(Self.outcome(s, "SELECT " + String(repeating: "1+", count: tokens / 2 + 10) + "1"))
        #expect(e?.code == 1037)
        await s.stop()
    }
}
