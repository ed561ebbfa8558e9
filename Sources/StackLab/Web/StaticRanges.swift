import Foundation
import NIOCore
import NIOHTTP1

/// What nginx 1.22 does with a static file's conditional and range headers (ngx_http_not_modified_filter_module,
/// ngx_http_range_filter_module): `If-Unmodified-Since`/`If-Match` → 412, `If-Modified-Since` (the exact
/// Last-Modified time) and `If-None-Match` → 304, `Range: bytes=…` → 206 (one range, or multipart/byteranges), a
/// range past the end or not understood → 416, `If-Range` that no longer matches → the whole file.
enum StaticRanges {
    /// The answer to a GET or HEAD for `file`, with the headers nginx sends for it.
    static func answer(_ request: HTTPRequestHead, file: StaticFiles.File, serverTokens: Bool, boundary: () -> String) -> ServerResponse {
        let headers = request.headers
        let modified = Int(file.modified.timeIntervalSince1970)
        var base = HTTPHeaders()
        // Room for the whole file's answer: these four, then Server, Date and Content-Length.
        base.reserveCapacity(8)
        base.add(name: "Content-Type", value: file.contentType)
        base.add(name: "Last-Modified", value: file.lastModified)
        base.add(name: "ETag", value: file.etag)

        if let since = headers.first(name: "If-Unmodified-Since"), let time = parseDate(since), modified > time {
            return NginxErrorPage.response(412, serverTokens: serverTokens)
        }
        if let match = headers.first(name: "If-Match"), !matches(match, etag: file.etag, weak: false) {
            return NginxErrorPage.response(412, serverTokens: serverTokens)
        }
        let ims = headers.first(name: "If-Modified-Since")
        let inm = headers.first(name: "If-None-Match")
        if ims != nil || inm != nil {
            // Both must say "not modified" when both are sent; an unreadable date is ignored.
            let imsSays = ims.map { parseDate($0) == modified } ?? true
            let inmSays = inm.map { matches($0, etag: file.etag, weak: true) } ?? true
            if imsSays && inmSays && (ims.map { parseDate($0) != nil } ?? true) {
                var notModified = HTTPHeaders()
                notModified.add(name: "Last-Modified", value: file.lastModified)
                notModified.add(name: "ETag", value: file.etag)
                return ServerResponse(status: .notModified, headers: notModified)
            }
        }

        let size = file.data.readableBytes
        guard let range = headers.first(name: "Range"), request.version.major == 1 else {
            base.add(name: "Accept-Ranges", value: "bytes")
            return ServerResponse(status: .ok, headers: base, body: file.data)
        }
        var whole = base
        whole.add(name: "Accept-Ranges", value: "bytes")
        if let ifRange = headers.first(name: "If-Range") {
            let stillSame = ifRange.hasPrefix("\"") || ifRange.hasPrefix("W/") ? ifRange == file.etag : parseDate(ifRange) == modified
            if !stillSame { return ServerResponse(status: .ok, headers: whole, body: file.data) }
        }
        // Only the bytes unit; anything else is not a range request at all.
        guard range.lowercased().hasPrefix("bytes=") else { return ServerResponse(status: .ok, headers: whole, body: file.data) }
        guard let ranges = parse(String(range.dropFirst(6)), size: size) else {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/html")
            headers.add(name: "Content-Range", value: "bytes */\(size)")
            return ServerResponse(status: NginxErrorPage.status(416), headers: headers,
                                  body: ByteBuffer(string: NginxErrorPage.body(416, serverTokens: serverTokens)))
        }
        if ranges.count == 1, let only = ranges.first {
            var partial = base
            partial.add(name: "Content-Range", value: "bytes \(only.lowerBound)-\(only.upperBound - 1)/\(size)")
            return ServerResponse(status: .partialContent, headers: partial,
                                  body: file.data.getSlice(at: file.data.readerIndex + only.lowerBound, length: only.count))
        }
        let mark = boundary()
        var body = ByteBuffer()
        for part in ranges {
            body.writeString("\r\n--\(mark)\r\nContent-Type: \(file.contentType)\r\nContent-Range: bytes \(part.lowerBound)-\(part.upperBound - 1)/\(size)\r\n\r\n")
            if var slice = file.data.getSlice(at: file.data.readerIndex + part.lowerBound, length: part.count) { body.writeBuffer(&slice) }
        }
        body.writeString("\r\n--\(mark)--\r\n")
        var multipart = HTTPHeaders()
        multipart.add(name: "Content-Type", value: "multipart/byteranges; boundary=\(mark)")
        multipart.add(name: "Last-Modified", value: file.lastModified)
        multipart.add(name: "ETag", value: file.etag)
        return ServerResponse(status: .partialContent, headers: multipart, body: body)
    }

    /// `0-4`, `5-`, `-3`, comma-separated, as byte ranges within `size` (each end clipped to the file); nil when the
    /// set is not understood or no range starts inside the file (416).
    static func parse(_ spec: String, size: Int) -> [Range<Int>]? {
        var ranges: [Range<Int>] = []
        for item in spec.split(separator: ",", omittingEmptySubsequences: false) {
            let part = item.trimmingCharacters(in: .whitespaces)
            guard let dash = part.firstIndex(of: "-") else { return nil }
            let first = part[..<dash]
            let last = part[part.index(after: dash)...]
            guard first.allSatisfy(\.isASCIIDigit), last.allSatisfy(\.isASCIIDigit), !(first.isEmpty && last.isEmpty) else { return nil }
            // Twenty digits cannot be a file offset; nginx refuses numbers past off_t.
            guard first.count < 19, last.count < 19 else { return nil }
            if first.isEmpty {
                let suffix = Int(last) ?? 0
                guard suffix > 0 else { return nil }
                ranges.append(max(0, size - suffix)..<size)
                continue
            }
            let start = Int(first) ?? 0
            let end = last.isEmpty ? size - 1 : min(Int(last) ?? 0, size - 1)
            guard !(start > end && !last.isEmpty && (Int(last) ?? 0) < start) else { return nil }
            if start >= size { continue }
            ranges.append(start..<(end + 1))
        }
        return ranges.isEmpty ? nil : ranges
    }

    /// Whether an `If-None-Match` / `If-Match` list names this ETag (`*` names any); weak comparison ignores `W/`.
    static func matches(_ list: String, etag: String, weak: Bool) -> Bool {
        let wanted = weak && etag.hasPrefix("W/") ? String(etag.dropFirst(2)) : etag
        for item in list.split(separator: ",") {
            var tag = item.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if weak && tag.hasPrefix("W/") { tag = String(tag.dropFirst(2)) }
            if tag == wanted { return true }
        }
        return false
    }

    /// An HTTP date (`Tue, 01 Dec 2026 16:42:27 GMT`, RFC 850 or asctime) as seconds since 1970; nil if unreadable.
    static func parseDate(_ text: String) -> Int? {
        let formats = ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"]
        for format in formats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text.trimmingCharacters(in: .whitespaces)) { return Int(date.timeIntervalSince1970) }
        }
        return nil
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
