import NIOConcurrencyHelpers

/// A small fixed-size pool of client connections, as an app server keeps to its database.
///
/// ```swift
/// let pool = MySQLClientPool(host: "127.0.1.11", port: 3306, user: "app", password: "app", database: "foobar",
///                            size: 4, dial: StoreDialers.direct(group: group, sourceAddress: "127.0.1.11"))
/// let posts = try await pool.query("SELECT id, author FROM posts ORDER BY id DESC LIMIT 10")
/// ```
/// Errors: `StoreError` for the server's ERR packets (1290 on a read-only replica …), `StoreConnectionError` for the
/// network: 2003 "Can't connect to MySQL server on 'host:port' (111)" or 2013 "Lost connection to MySQL server
/// during query". A connection that failed is discarded; the next query opens a new one. A query is never retried
/// (it might have been executed).
public final class MySQLClientPool: Sendable {
    public let host: String
    public let port: Int
    let user: String
    let password: String
    let database: String?
    public let size: Int
    let dial: StoreDialer

    private struct State {
        var idle: [MySQLConnection] = []
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }
    private let state = NIOLockedValueBox(State())

    public init(host: String, port: Int, user: String, password: String, database: String?, size: Int, dial: @escaping StoreDialer) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.size = max(1, size)
        self.dial = dial
    }

    public func query(_ sql: String) async throws -> StoreResult {
        let conn = try await checkout()
        do {
            let result = try await conn.query(sql)
            checkin(conn)
            return result
        } catch let e as StoreError {
            checkin(conn)
            throw e
        } catch {
            discard(conn)
            throw (error as? StoreConnectionError) ?? StoreConnectionError.lostConnection()
        }
    }

    private enum Take { case reuse(MySQLConnection), connect, wait, closed }

    private func checkout() async throws -> MySQLConnection {
        while true {
            let take: Take = state.withLockedValue { s in
                if s.closed { return .closed }
                while let c = s.idle.popLast() {
                    if c.isActive { return .reuse(c) }
                    s.open -= 1
                }
                if s.open < size { s.open += 1; return .connect }
                return .wait
            }
            switch take {
            case .closed: throw StoreConnectionError.goneAway()
            case .reuse(let c): return c
            case .connect:
                do {
                    return try await MySQLConnection.connect(host: host, port: port, user: user, password: password, database: database, dial: dial)
                } catch {
                    release()
                    throw error
                }
            case .wait:
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = state.withLockedValue { s -> Bool in
                        if s.closed || !s.idle.isEmpty || s.open < size { return true }
                        s.waiters.append(c)
                        return false
                    }
                    if ready { c.resume() }
                }
            }
        }
    }

    private func checkin(_ c: MySQLConnection) {
        let w: CheckedContinuation<Void, Never>? = state.withLockedValue { s in
            if s.closed || !c.isActive {
                s.open -= 1
            } else {
                s.idle.append(c)
            }
            return s.waiters.isEmpty ? nil : s.waiters.removeFirst()
        }
        if state.withLockedValue({ $0.closed }) { c.close() }
        w?.resume()
    }

    private func discard(_ c: MySQLConnection) {
        c.close()
        release()
    }

    private func release() {
        let w: CheckedContinuation<Void, Never>? = state.withLockedValue { s in
            s.open -= 1
            return s.waiters.isEmpty ? nil : s.waiters.removeFirst()
        }
        w?.resume()
    }

    /// Closes idle connections; queries in flight finish, later ones fail with 2006.
    public func close() async {
        let (idle, waiters): ([MySQLConnection], [CheckedContinuation<Void, Never>]) = state.withLockedValue { s in
            s.closed = true
            let i = s.idle
            s.idle = []
            s.open -= i.count
            let w = s.waiters
            s.waiters = []
            return (i, w)
        }
        for c in idle { c.close() }
        for w in waiters { w.resume() }
    }
}
