import NIOHTTP1

extension IncomingRequest {
    /// The access-log line of nginx's `combined` format, which gunicorn's default access log format also writes:
    /// `127.0.1.1 - - [24/Nov/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 2750 "-" "curl/7.88.1"`.
    /// Written into one string sized for it: every request logs one.
    func combinedLogLine(status: Int, bytes: Int) -> String {
        let referer = head.headers.first(name: "Referer") ?? "-"
        let agent = head.headers.first(name: "User-Agent") ?? "-"
        var text = ""
        text.reserveCapacity(80 + remoteAddress.utf8.count + head.uri.utf8.count + referer.utf8.count + agent.utf8.count)
        text += remoteAddress
        text += " - - ["
        text += LogTime.common(receivedDate)
        text += "] \""
        text.appendRequestLine(head)
        text += "\" "
        text += String(status)
        text += " "
        text += String(bytes)
        text += " \""
        text += referer
        text += "\" \""
        text += agent
        text += "\""
        return text
    }
}

extension String {
    /// `GET /api/posts HTTP/1.1`, as the access logs of every hop write it, appended without a temporary string.
    mutating func appendRequestLine(_ head: HTTPRequestHead) {
        self += head.method.rawValue
        self += " "
        self += head.uri
        self += " HTTP/"
        self += String(head.version.major)
        self += "."
        self += String(head.version.minor)
    }
}
