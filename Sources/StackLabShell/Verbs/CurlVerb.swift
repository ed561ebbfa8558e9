import ArgumentParser
import Foundation
import StackLab

struct CurlVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "curl",
        abstract: "Send one HTTP request through lb-01 (or to any address) and print the answer; -v shows every hop.",
        usage: "curl [-v] [-i] [-I] [-s] [-S] [-L] [-X METHOD] [-d DATA] [-H HEADER]... [-m SECONDS] TARGET",
        discussion: """
        A PATH (/api/posts) goes to the site's front door, lb-01. A URL (http://127.0.1.11:8080/) goes straight to
        that address, skipping the balancer. The request comes from the internet side, 127.0.0.1.

        With -v you also see the request and response headers and the request's path through the lab, hop by hop,
        with the time spent at each: lb-01/haproxy → web-02/nginx → web-02/gunicorn.

        Examples:
          curl /
          curl -v /api/posts
          curl -X POST -d 'author=ann&body=hello' /api/posts
          curl -H 'Host: www.foobar.com' http://127.0.1.12:8080/static/hello.txt
        """)
    static let group = VerbGroup.traffic

    @Flag(name: [.short, .customLong("verbose")], help: "Verbose: headers, and the hop-by-hop trace.") var v = false
    @Flag(name: [.short, .customLong("include")], help: "Include the response headers in the output.") var i = false
    @Flag(name: [.customShort("I"), .customLong("head")], help: "Fetch the headers only (a HEAD request).") var head = false
    @Flag(name: [.short, .customLong("silent")], help: "Silent: print no error message (-S still shows it).") var s = false
    @Flag(name: [.customShort("S"), .customLong("show-error")], help: "With -s, still show an error message.") var showError = false
    @Flag(name: [.customShort("L"), .customLong("location")], help: "Follow redirects (the Location header).") var location = false
    @Option(name: [.customShort("X"), .customLong("request")], help: "The method: GET, POST, PUT, DELETE …") var method: String?
    @Option(name: [.customShort("d"), .customLong("data")], help: "Send this body (then the method is POST unless -X says otherwise).")
    var data: String?
    @Option(name: [.customShort("H"), .customLong("header")], help: "Add a header, 'Name: value' (repeatable).") var headers: [String] = []
    @Option(name: [.customShort("m"), .customLong("max-time")], help: "Give up after this many seconds.") var maxTime: Double = 60
    @Argument(help: "A path (/api/posts) or a URL (http://127.0.1.11:8080/).") var target: String

    func validate() throws {
        for header in headers where !header.contains(":") {
            throw ValidationError("a header is 'Name: value', e.g. -H 'Accept: text/plain' (got '\(header)')")
        }
        if head && data != nil {
            // curl 7.88's words, when -I meets -d.
            throw ValidationError("You can only select one HTTP request method! You asked for both POST (-d, --data) and HEAD (-I, --head).")
        }
        guard maxTime > 0, maxTime <= 600 else { throw ValidationError("--max-time must be between 0 and 600 seconds") }
    }

    func execute(in shell: Shell) async throws {
        let lab = shell.lab
        guard let entry = lab.entryAddress else { throw ShellError("this lab has no balancer with a bind address to send requests to") }
        var method = (self.method ?? (head ? "HEAD" : data == nil ? "GET" : "POST")).uppercased()
        var body = data
        let extra: [(String, String)] = headers.compactMap { header in
            guard let colon = header.firstIndex(of: ":") else { return nil }
            return (String(header[..<colon]).trimmingSpaces, String(header[header.index(after: colon)...]).trimmingSpaces)
        }
        let style = shell.style
        var url = target
        var redirects = 0
        while true {
            let (parts, tls) = try Self.resolve(url, entry: entry, lab: lab)
            let trace = TraceContext.new()
            if v {
                if lab.network.portOffset != 0, url.contains("foobar.com") {
                    // The site's name with the config's port (8443) stands for the port that answers.
                    shell.say(style.dim(TerminalText.wrapStyled("* \(url.contains("https://") ? "https" : "http")://www.foobar.com is lb-01 at "
                        + "\(parts.host):\(parts.port) (--port-base \(lab.network.portOffset) moves every port)", width: style.width, indent: "  ")))
                }
                shell.say(style.dim("* connecting to \(parts.host):\(parts.port) from \(LabNetwork.internetAddress)"))
                shell.say(style.dim("> \(method) \(parts.path) HTTP/1.1"))
                let sent = HTTPClient.head(method: method, host: parts.host, port: parts.port, path: parts.path, headers: extra, body: body,
                                           trace: trace, tls: tls)
                for header in sent.headers { shell.say(style.dim("> \(header.name): \(header.value)")) }
                shell.say(style.dim(">"))
            }
            let response = try await send(method: method, parts: parts, headers: extra, body: body, tls: tls, trace: trace, shell: shell)
            if v || i || head {
                let line = "\(response.version) \(response.status) \(response.reason)"
                shell.say(v ? style.dim("< " + line) : line)
                for header in response.headers {
                    shell.say(v ? style.dim("< \(header.name): \(header.value)") : "\(header.name): \(header.value)")
                }
                shell.say(v ? style.dim("<") : "")
            }
            // -L: a 3xx with a Location is asked again there, as curl does (at most 50 times; a POST from -d becomes
            // a GET after 301, 302 and 303, while -X keeps its method for every request).
            if location, [301, 302, 303, 307, 308].contains(response.status), let next = response.header("Location") {
                redirects += 1
                guard redirects <= 50 else { throw ShellError("curl: (47) Maximum (50) redirects followed") }
                if v { shell.say(style.dim("* Issue another request to this URL: '\(next)'")) }
                if [301, 302, 303].contains(response.status), method == "POST", self.method == nil {
                    method = "GET"
                    body = nil
                }
                url = next
                continue
            }
            if !head { shell.write(response.body.hasSuffix("\n") || response.body.isEmpty ? response.body : response.body + "\n") }
            if v {
                let spans = lab.traces.trace(response.traceID)
                shell.write(TraceView(spans: spans).render(style: style))
                shell.say(style.dim("* \(response.status) \(response.reason) in \(TraceView.milliseconds(response.elapsed)) (as the client saw it)"))
            }
            return
        }
    }

    /// One request; a failure in curl's words (none with -s, unless -S).
    @MainActor private func send(method: String, parts: (host: String, port: Int, path: String), headers: [(String, String)], body: String?,
                      tls: ClientTLS?, trace: TraceContext, shell: Shell) async throws -> ClientResponse {
        let client = shell.lab.internetClient
        let timeout = maxTime
        let started = ContinuousClock.now
        do {
            let response = try await cancellable {
                try await client.request(method: method, host: parts.host, port: parts.port, path: parts.path, headers: headers,
                                         body: body, timeout: timeout, trace: trace, tls: tls)
            }
            shell.reportRequest(method: method, path: parts.path, sent: body, response: response)
            return response
        } catch let error as ClientError {
            shell.reportRequest(method: method, path: parts.path, sent: body, error: error)
            if s && !showError { throw ShellError.silent }
            throw ShellError(Self.curlMessage(error, host: parts.host, port: parts.port, milliseconds: started.milliseconds))
        }
    }

    /// A path, a URL or the site's name, as the address to connect to, the path, and TLS for https.
    static func resolve(_ target: String, entry: String, lab: Lab) throws -> ((host: String, port: Int, path: String), ClientTLS?) {
        var text = target
        // The site's name means the front door, as DNS would have it.
        for name in ["http://www.foobar.com", "www.foobar.com", "http://foobar.com"] where text.hasPrefix(name) {
            text = String(text.dropFirst(name.count))
            if text.isEmpty { text = "/" }
        }
        var tls: ClientTLS?
        if text.hasPrefix("https://") {
            (text, tls) = try Self.https(text, lab: lab)
        }
        guard let parts = HTTPClient.split(text, defaultAddress: entry) else {
            throw ShellError("'\(target)' is not a path or URL — try 'curl /' or 'curl http://\(entry)/'")
        }
        return (parts, tls)
    }

    /// curl 7.88's own line for a request with no answer, and what it means here when curl's words do not say it.
    static func curlMessage(_ error: ClientError, host: String, port: Int, milliseconds: Int) -> String {
        let code = curlCode(error)
        return switch error {
        case .refused:
            "curl: (\(code)) Failed to connect to \(host) port \(port) after \(milliseconds) ms: Couldn't connect to server\n"
                + "  (connection refused: nothing listens on \(host):\(port))"
        case .connectTimeout:
            "curl: (\(code)) Failed to connect to \(host) port \(port) after \(milliseconds) ms: Timeout was reached\n"
                + "  (connection timed out: no answer from \(host):\(port) at all)"
        case .timedOut:
            "curl: (\(code)) Operation timed out after \(milliseconds) milliseconds with 0 bytes received"
        case .noResponse:
            "curl: (\(code)) Empty reply from server"
        case .badURL, .tlsFailed:
            "curl: (\(code)) \(error)"
        }
    }

    /// curl's exit codes for the ways a request fails.
    static func curlCode(_ error: ClientError) -> Int {
        switch error {
        case .refused: 7
        case .connectTimeout, .timedOut: 28
        case .noResponse: 52
        case .badURL: 3
        case .tlsFailed: 60
        }
    }

    /// `https://www.foobar.com/…` is lb-01's TLS port, checked against the name; `https://HOST:PORT/…` is that
    /// address, checked against the IP in the certificate. Either way the lab's CA is trusted, like `curl --cacert`.
    static func https(_ url: String, lab: Lab) throws -> (String, ClientTLS) {
        let caFile = (lab.definition.directory as NSString).appendingPathComponent(TLSMaterial.caFile)
        guard FileManager.default.fileExists(atPath: caFile) else {
            throw ShellError("this lab speaks no HTTPS: no lb-01 bind has 'ssl crt' (try: lab init --hardened DIR, then lab load DIR)")
        }
        var rest = String(url.dropFirst("https://".count))
        for name in ["www.foobar.com", "foobar.com"] where rest == name || rest.hasPrefix(name + "/") || rest.hasPrefix(name + ":") {
            let binds = lab.balancers.flatMap { $0.config.frontends.flatMap(\.binds) }
            guard let bind = binds.first(where: { $0.certificateFile != nil }) else {
                throw ShellError("lb-01 has no TLS port: add 'bind ADDR:8443 ssl crt FILE' to its frontend")
            }
            rest = String(rest.dropFirst(name.count))
            // The site's name with a port means that port of the config (8443), moved by the lab's port plan.
            var port = bind.port
            if rest.hasPrefix(":") {
                let digits = rest.dropFirst().prefix { $0.isNumber }
                port = Int(digits) ?? port
                rest = String(rest.dropFirst(1 + digits.count))
            }
            return ("http://\(bind.host):\(lab.network.port(port))" + (rest.isEmpty ? "/" : rest), ClientTLS(caFile: caFile, serverName: name))
        }
        return ("http://" + rest, ClientTLS(caFile: caFile, serverName: nil))
    }
}

/// `curl -v`'s hops: each process a request went through, nested by who called whom, with time there.
public struct TraceView: Sendable {
    public var spans: [Span]
    public init(spans: [Span]) { self.spans = spans }

    static func milliseconds(_ seconds: Double) -> String {
        let ms = seconds * 1000
        return ms < 10 ? String(format: "%.1f ms", ms) : String(format: "%.0f ms", ms)
    }

    public func render(style: Style) -> String {
        guard !spans.isEmpty else { return style.dim("* no hops recorded for this request (it did not go through the lab's processes)") + "\n" }
        let ids = Set(spans.map(\.spanID))
        let roots = spans.filter { $0.parentID.map { !ids.contains($0) } ?? true }
        var rows: [(depth: Int, span: Span, own: Double)] = []
        func walk(_ span: Span, depth: Int) {
            let children = spans.filter { $0.parentID == span.spanID }.sorted { $0.start < $1.start }
            let own = max(0, span.duration - children.reduce(0) { $0 + $1.duration })
            rows.append((depth, span, own))
            for child in children { walk(child, depth: depth + 1) }
        }
        for root in roots.sorted(by: { $0.start < $1.start }) { walk(root, depth: 0) }
        var table = TextTable(header: ["HOP", "TOTAL", "HERE", "STATUS", "WHAT IT DID"], rightAligned: [1, 2])
        for row in rows {
            let indent = row.depth == 0 ? "" : String(repeating: "  ", count: row.depth - 1) + "└ "
            let status = row.span.status == 0 ? "-" : String(row.span.status)
            table.rows.append([indent + row.span.process, Self.milliseconds(row.span.duration), Self.milliseconds(row.own),
                               row.span.status >= 500 ? style.red(status) : status, row.span.note])
        }
        return style.dim(TerminalText.wrapStyled("* hops (trace \(spans[0].traceID)); HERE = time in that hop itself, TOTAL includes "
            + "the hops below", width: style.width, indent: "  ")) + "\n" + table.render(style: style)
    }
}
