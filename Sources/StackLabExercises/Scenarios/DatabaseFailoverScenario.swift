import Foundation
import NIOConcurrencyHelpers
import StackLab

/// Exercise 8: the primary (web-01) dies while the replica's link is cut; the grader promotes the replica (web-02)
/// as an operator would, and every post the site acknowledged must be on it.
struct DatabaseFailoverScenario: Scenario {
    static let before = 5
    static let during = 3
    static let clientTimeout = 1.5

    var checks: [Check] {
        [
            Check("no acknowledged post is lost when the primary dies", points: 4) { context in
                let lab = context.lab
                guard context.store(on: "web-01") != nil, context.store(on: "web-02") != nil else {
                    return .fail("the lab needs mysql on web-01 (primary) and web-02 (replica)")
                }
                let run = UUID().uuidString.prefix(6)
                let acknowledged = NIOLockedValueBox<[String]>([])
                func post(_ body: String) async {
                    let seen = await context.request("/api/posts", method: "POST", body: "author=grader&body=\(body)", timeout: Self.clientTimeout)
                    if let status = seen.status, (200..<300).contains(status) { acknowledged.withLockedValue { $0.append(body) } }
                }
                for n in 1...Self.before { await post("\(run)-before-\(n)") }
                let early = acknowledged.withLockedValue { $0.count }
                guard early == Self.before else {
                    return .fail("only \(early) of \(Self.before) posts were acknowledged while everything was healthy")
                }
                // The replica's link to the primary fails; visitors keep posting; then the primary dies.
                lab.partition("web-01", "web-02")
                await withTaskGroup(of: Void.self) { group in
                    for n in 1...Self.during { group.addTask { await post("\(run)-cut-\(n)") } }
                }
                try? await lab.apply(.crash, to: .process(server: "web-01", process: .mysql))
                lab.healAll()
                // Failover, as the operator (or orchestrator) does it.
                guard let replica = context.store(on: "web-02") else { return .fail("web-02's mysql is not running") }
                do {
                    _ = try await replica.execute("STOP REPLICA; RESET REPLICA ALL; SET GLOBAL super_read_only = OFF; SET GLOBAL read_only = OFF")
                } catch {
                    return .fail("promoting web-02 failed: \(error)")
                }
                let result = try? await replica.execute("SELECT body FROM foobar.posts WHERE author = 'grader'")
                let present = Set((result?.rows ?? []).compactMap { $0.first ?? nil })
                let all = acknowledged.withLockedValue { $0 }
                let lost = all.filter { !present.contains($0) }
                let cut = all.count - early
                if lost.isEmpty {
                    return .pass("\(all.count) posts acknowledged (\(cut) of \(Self.during) while the replica was cut off), all \(all.count) on the promoted replica")
                }
                return .fail("\(lost.count) of \(all.count) posts the site acknowledged are missing on the promoted replica (web-02): "
                    + "the primary acknowledged them before any replica had them")
            },
            Check("the site takes posts again after the failover", points: 2) { context in
                var seen: [String] = []
                let deadline = Date().addingTimeInterval(5)
                while Date() < deadline {
                    let post = await context.request("/api/posts", method: "POST", body: "author=grader&body=after-failover", timeout: 2)
                    if let status = post.status, (200..<300).contains(status) {
                        return .pass("a post through the site was acknowledged \(seen.isEmpty ? "at once" : "after \(seen.count) refusals") once web-02 was promoted")
                    }
                    seen.append(post.word)
                    try? await Task.sleep(nanoseconds: 200_000_000)
                }
                return .fail("after the failover the site still refused every post for 5 s (\(tally(seen))): the app servers write only to the dead primary (web-01)")
            },
            Check("the promoted replica takes the app's writes", points: 1) { context in
                guard let replica = context.store(on: "web-02") else { return .fail("web-02's mysql is not running") }
                do {
                    _ = try await replica.execute("INSERT INTO foobar.posts (author, body) VALUES ('grader', 'after failover')", user: "app")
                    return .pass("after promotion, web-02 accepted an INSERT from the app's user")
                } catch {
                    return .fail("after STOP REPLICA; RESET REPLICA ALL; SET GLOBAL read_only = OFF, web-02 still refused a write: \(error)")
                }
            },
        ]
    }

    func ready(_ context: GradingContext) async -> String? {
        if let problem = await context.waitForSiteUp() { return problem }
        let replicated = await context.wait(upTo: 5) {
            (try? await context.store(on: "web-02")?.execute("SELECT COUNT(*) FROM foobar.posts")) != nil
        }
        return replicated ? nil : "the replica (web-02) has no foobar.posts table 5 s after the lab started: is it replicating from web-01?"
    }
}
