import Foundation
import StackLab
import StackLabStore

/// Exercise 3: writes land on the primary (web-01), reads are served by the replica (web-02), the replica refuses
/// writes from the app's user with ERROR 1290.
struct ReadReplicaScenario: Scenario {
    static let posts = 10
    static let reads = 40

    var checks: [Check] {
        [
            Check("every post the site acknowledges lands on the primary", points: 2) { context in
                guard let primary = context.store(on: "web-01") else { return .fail("web-01 runs no mysql: the primary is on web-01") }
                let author = "grader-\(UUID().uuidString.prefix(6))"
                var acknowledged = 0
                var refused: [String] = []
                for n in 1...Self.posts {
                    let seen = await context.request("/api/posts", method: "POST", body: "author=\(author)&body=post+\(n)")
                    if let status = seen.status, (200..<300).contains(status) { acknowledged += 1 } else { refused.append(seen.word) }
                }
                guard acknowledged > 0 else { return .fail("the site accepted none of \(Self.posts) posts (\(tally(refused)))") }
                let result = try? await primary.execute("SELECT COUNT(*) FROM foobar.posts WHERE author = '\(author)'")
                let count = result?.rows.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
                if count < acknowledged {
                    return .fail("\(acknowledged - count) of \(acknowledged) posts acknowledged by the site are missing on the primary (web-01): "
                        + "they were written to another database")
                }
                if !refused.isEmpty {
                    return .fail("\(refused.count) of \(Self.posts) posts were refused (\(tally(refused))); every post must be accepted")
                }
                return .pass("\(acknowledged) posts acknowledged, all \(count) on the primary")
            },
            Check("the replica serves the site's reads", points: 2) { context in
                guard let primary = context.store(on: "web-01"), let replica = context.store(on: "web-02") else {
                    return .fail("the lab needs mysql on web-01 (primary) and web-02 (replica)")
                }
                let before = (primary.questionsAndStart.questions, replica.questionsAndStart.questions)
                let seen = await context.requestsInARow(Self.reads, path: "/api/posts")
                let failed = seen.filter(\.failed)
                let primaryQueries = primary.questionsAndStart.questions - before.0
                let replicaQueries = replica.questionsAndStart.questions - before.1
                let observed = "while the site served \(Self.reads) reads, the replica (web-02) answered \(replicaQueries) queries "
                    + "and the primary (web-01) \(primaryQueries)"
                if !failed.isEmpty { return .fail("\(failed.count) of \(Self.reads) reads failed (\(tally(failed.map(\.word)))); \(observed)") }
                return replicaQueries >= Self.reads && primaryQueries < Self.reads / 4 ? .pass(observed)
                    : .fail(observed + "; reads must go to the replica")
            },
            Check("the replica refuses writes (read-only)", points: 2) { context in
                guard let replica = context.store(on: "web-02") else { return .fail("web-02 runs no mysql") }
                do {
                    _ = try await replica.execute("INSERT INTO foobar.posts (author, body) VALUES ('grader', 'written on the replica')", user: "app")
                    return .fail("the replica (web-02) accepted an INSERT from the app's user; a replica must refuse it with ERROR 1290")
                } catch let error as StoreError where error.code == 1290 {
                    return .pass("the replica answered: \(error)")
                } catch {
                    return .fail("the replica refused the INSERT, but not because it is read-only: \(error)")
                }
            },
            Check("a new post shows up in the site's reads within 2 s", points: 1) { context in
                let body = "fresh-\(UUID().uuidString.prefix(6))"
                let write = await context.request("/api/posts", method: "POST", body: "author=grader&body=\(body)")
                guard let status = write.status, (200..<300).contains(status) else { return .fail("the post was refused: \(write.word)") }
                let written = Date()
                let seen = await context.wait(upTo: 2) { await context.request("/api/posts").body.contains(body) }
                return seen ? .pass("the post was readable \(seconds(Date().timeIntervalSince(written))) after it was acknowledged; the limit is 2 s")
                    : .fail("2 s after the site acknowledged a post, GET /api/posts still did not list it: is the replica replicating?")
            },
        ]
    }

    func ready(_ context: GradingContext) async -> String? {
        if let problem = await context.waitForSiteUp() { return problem }
        // The app's user and the posts table reach the replica by replication: wait for them.
        let replicated = await context.wait(upTo: 5) {
            (try? await context.store(on: "web-02")?.execute("SELECT COUNT(*) FROM foobar.posts")) != nil
        }
        return replicated ? nil : "the replica (web-02) has no foobar.posts table 5 s after the lab started: is it replicating from web-01?"
    }
}

extension GradingContext {
    /// The running store on a server.
    func store(on server: String) -> MySQLStore? {
        lab.stores.first { $0.serverName == server }?.store
    }
}
