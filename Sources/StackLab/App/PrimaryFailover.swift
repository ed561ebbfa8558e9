import Foundation
import NIOConcurrencyHelpers
import StackLabStore

/// `DB_PRIMARY=127.0.1.11:3306,127.0.1.12:3306`: the app writes to the first server of the list that takes the
/// write, as a MySQL connector's host list does (Connector/J's failover hosts, a driver's multi-host DSN). A server
/// that cannot be reached, drops the connection or answers ERROR 1290 (read-only: not promoted) sends the write on
/// to the next; the server that took it is tried first from then on. Reads still go to DB_REPLICA.
struct FailoverPostsStore: PostsStore {
    /// One store per primary candidate, in DB_PRIMARY's order (the first one's replica pool serves the reads).
    let stores: [MySQLPostsStore]
    private let preferred = NIOLockedValueBox(0)

    init(stores: [MySQLPostsStore]) { self.stores = stores }

    func recentPosts(limit: Int) async throws -> [Post] {
        try await stores[0].recentPosts(limit: limit)
    }

    func createPost(author: String, body: String) async throws -> Int {
        let first = preferred.withLockedValue { $0 }
        var lastError: Error?
        for step in 0..<stores.count {
            let index = (first + step) % stores.count
            do {
                let id = try await stores[index].createPost(author: author, body: body)
                preferred.withLockedValue { $0 = index }
                return id
            } catch let error as StoreError where error.code != 1290 {
                // A SQL error is the statement's fault, not the server's: another server would say the same.
                throw error
            } catch {
                lastError = error
            }
        }
        throw lastError ?? StoreConnectionError(code: 2003, message: "no server of DB_PRIMARY took the write")
    }

    func close() async {
        for store in stores { await store.close() }
    }
}
