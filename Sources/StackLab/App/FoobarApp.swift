import Foundation
import NIOCore
import NIOHTTP1

/// A post of the foobar app.
public struct Post: Sendable, Equatable {
    public var id: Int
    public var author: String
    public var body: String
    public var createdAt: String
    public init(id: Int, author: String, body: String, createdAt: String) {
        self.id = id
        self.author = author
        self.body = body
        self.createdAt = createdAt
    }
}

/// Where the app keeps its posts: reads from the replica, writes to the primary.
public protocol PostsStore: Sendable {
    func recentPosts(limit: Int) async throws -> [Post]
    func createPost(author: String, body: String) async throws -> Int
    /// Closes the connections (when the lab shuts down).
    func close() async
}

/// The application files of the design: the foobar app that gunicorn runs. Routes:
/// `/` (page), `/health`, `/login` (GET form, POST username+password), `/api/posts` (GET list from the replica,
/// POST create on the primary).
public struct FoobarApp: Sendable {
    public let serverName: String
    public let posts: (any PostsStore)?

    /// The one account of the login lesson.
    static let users = ["alice": "wonderland"]

    public init(serverName: String, posts: (any PostsStore)?) {
        self.serverName = serverName
        self.posts = posts
    }

    public func handle(_ request: IncomingRequest, trace: TraceContext? = nil) -> EventLoopFuture<ServerResponse> {
        let loop = request.eventLoop
        let path = String(request.head.uri.prefix { $0 != "?" })
        switch (request.head.method, path) {
        case (.GET, "/"), (.HEAD, "/"):
            return loop.makeSucceededFuture(html(indexPage()))
        case (.GET, "/health"), (.HEAD, "/health"), (.OPTIONS, "/"), (.OPTIONS, "/health"):
            return loop.makeSucceededFuture(text("OK\n"))
        case (.GET, "/login"):
            return loop.makeSucceededFuture(html(loginPage(message: nil)))
        case (.POST, "/login"):
            return loop.makeSucceededFuture(login(request))
        case (.GET, "/api/posts"):
            return loop.makeFutureWithTask { await CurrentTrace.$context.withValue(trace) { await listPosts() } }
        case (.POST, "/api/posts"):
            return loop.makeFutureWithTask { await CurrentTrace.$context.withValue(trace) { await createPost(request) } }
        case (_, "/"), (_, "/health"), (_, "/login"), (_, "/api/posts"):
            return loop.makeSucceededFuture(flaskError(405, "Method Not Allowed", "The method is not allowed for the requested URL."))
        default:
            return loop.makeSucceededFuture(flaskError(404, "Not Found",
                "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."))
        }
    }

    // MARK: - Routes

    private func indexPage() -> String {
        """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>www.foobar.com</title><link rel="stylesheet" href="/static/style.css"></head>
        <body>
        <h1>www.foobar.com</h1>
        <p>Welcome! This page was made by the app server on <strong>\(serverName)</strong>.</p>
        <p class="served-by">served by \(serverName)</p>
        <ul>
        <li><a href="/login">Log in</a></li>
        <li><a href="/api/posts">Posts (JSON, read from the replica)</a></li>
        <li><a href="/static/hello.txt">A static file (served by nginx, not the app)</a></li>
        </ul>
        </body>
        </html>

        """
    }

    private func loginPage(message: String?) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>Log in - www.foobar.com</title><link rel="stylesheet" href="/static/style.css"></head>
        <body>
        <h1>Log in</h1>
        \(message.map { "<p>\($0)</p>\n" } ?? "")<form method="post" action="/login">
        <label>Username <input name="username"></label>
        <label>Password <input name="password" type="password"></label>
        <button type="submit">Log in</button>
        </form>
        <p class="served-by">served by \(serverName)</p>
        </body>
        </html>

        """
    }

    private func login(_ request: IncomingRequest) -> ServerResponse {
        let form = Self.parseForm(request.bodyString)
        let user = form["username"] ?? ""
        if let expected = Self.users[user], form["password"] == expected {
            var response = html("<!doctype html>\n<h1>Welcome, \(Self.escape(user))!</h1>\n<p class=\"served-by\">served by \(serverName)</p>\n")
            response.headers.add(name: "Set-Cookie", value: "session=\(TraceContext.randomHex(16)); Path=/; HttpOnly")
            return response
        }
        var response = html(loginPage(message: "Wrong username or password."))
        response.status = .unauthorized
        return response
    }

    private func listPosts() async -> ServerResponse {
        guard let posts else { return databaseUnavailable("no database is configured for this app") }
        do {
            let list = try await posts.recentPosts(limit: 10)
            let items = list.map {
                "{\"id\": \($0.id), \"author\": \(Self.json($0.author)), \"body\": \(Self.json($0.body)), \"created_at\": \(Self.json($0.createdAt))}"
            }
            return json("[" + items.joined(separator: ", ") + "]\n")
        } catch {
            return databaseUnavailable("reading posts from the replica failed: \(error)")
        }
    }

    private func createPost(_ request: IncomingRequest) async -> ServerResponse {
        let fields: [String: String]
        let contentType = request.head.headers.first(name: "Content-Type") ?? ""
        if contentType.contains("application/x-www-form-urlencoded") {
            fields = Self.parseForm(request.bodyString)
        } else {
            fields = Self.parseJSONObject(request.bodyString)
        }
        guard let author = fields["author"], !author.isEmpty, let body = fields["body"], !body.isEmpty else {
            var response = json("{\"error\": \"send JSON like {\\\"author\\\": \\\"alice\\\", \\\"body\\\": \\\"hello\\\"}\"}\n")
            response.status = .badRequest
            return response
        }
        guard let posts else { return databaseUnavailable("no database is configured for this app") }
        do {
            let id = try await posts.createPost(author: author, body: body)
            var response = json("{\"id\": \(id)}\n")
            response.status = .created
            return response
        } catch {
            return databaseUnavailable("writing the post to the primary failed: \(error)")
        }
    }

    // MARK: - Responses

    private func html(_ body: String) -> ServerResponse {
        response(body, type: "text/html; charset=utf-8")
    }

    private func text(_ body: String) -> ServerResponse {
        response(body, type: "text/plain; charset=utf-8")
    }

    private func json(_ body: String) -> ServerResponse {
        response(body, type: "application/json")
    }

    private func response(_ body: String, type: String) -> ServerResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "X-Served-By", value: serverName)
        return ServerResponse(status: .ok, headers: headers, body: ByteBuffer(string: body))
    }

    /// The app's own 503 when its database cannot be reached: it says which one and why.
    private func databaseUnavailable(_ reason: String) -> ServerResponse {
        var response = json("{\"error\": \"database unavailable\", \"detail\": \(Self.json(reason))}\n")
        response.status = .serviceUnavailable
        return response
    }

    /// Flask/Werkzeug's error page.
    private func flaskError(_ code: Int, _ title: String, _ text: String) -> ServerResponse {
        var response = html("<!doctype html>\n<html lang=en>\n<title>\(code) \(title)</title>\n<h1>\(title)</h1>\n<p>\(text)</p>\n")
        response.status = HTTPResponseStatus(statusCode: code)
        return response
    }

    // MARK: - Parsing

    static func parseForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(parts[0])
            fields[key] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// A flat JSON object of strings (and numbers, kept as text): enough for the posts API.
    static func parseJSONObject(_ text: String) -> [String: String] {
        guard let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var fields: [String: String] = [:]
        for (key, value) in object {
            if let string = value as? String { fields[key] = string } else if let number = value as? NSNumber { fields[key] = number.stringValue }
        }
        return fields
    }

    static func json(_ text: String) -> String { JSONText.quote(text) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
