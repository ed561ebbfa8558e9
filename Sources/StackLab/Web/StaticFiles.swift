import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Static files under a `root`, as nginx serves them: the URI is decoded and normalised, and a path that would
/// climb above the root is a 400 — never a file outside it.
final class StaticFiles: Sendable {
    struct File: Sendable {
        var data: ByteBuffer
        var modified: Date
        /// `Last-Modified`, formatted once when the file is read.
        var lastModified: String
        var etag: String
        var contentType: String
        var checked: NIODeadline
    }

    enum Lookup: Sendable {
        case file(File)
        case redirectToDirectory(String)
        case badRequest
        case forbidden
        case notFound
    }

    private let cache = NIOLockedValueBox<[String: File]>([:])
    /// Whole lookups (root + URI → result) for a second, like nginx's open_file_cache: no syscalls on a hot path.
    private let lookups = NIOLockedValueBox<[LookupKey: (Lookup, NIODeadline)]>([:])

    private struct LookupKey: Hashable {
        var root: String
        var uri: String
    }

    /// Decodes `%XX`, merges slashes and resolves `.` and `..` like nginx; nil when the path climbs above `/` or holds
    /// a NUL byte (nginx answers 400 Bad Request).
    static func normalise(_ uri: String) -> String? {
        let path = withoutQuery(uri)
        // The common case has nothing to decode or resolve.
        if Self.isPlain(path) { return path }
        guard let decoded = path.removingPercentEncoding ?? Optional(path), !decoded.contains("\0"), decoded.hasPrefix("/") else {
            return nil
        }
        var parts: [Substring] = []
        for part in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if parts.isEmpty { return nil }
                parts.removeLast()
                continue
            }
            parts.append(part)
        }
        let joined = "/" + parts.joined(separator: "/")
        return decoded.hasSuffix("/") && joined != "/" ? joined + "/" : joined
    }

    /// The URI up to its `?` (the URI itself, not a copy, when it has no query).
    static func withoutQuery(_ uri: String) -> String {
        guard let query = uri.firstIndex(of: "?") else { return uri }
        return String(uri[..<query])
    }

    /// Whether every `%` in a path is followed by two hex digits (nginx answers 400 otherwise).
    static func hasValidEscapes(_ path: String) -> Bool {
        var bytes = path.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else { continue }
            guard let first = bytes.next(), let second = bytes.next(), isHex(first), isHex(second) else { return false }
        }
        return true
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// Starts with "/" and holds no "%", "/." or "//" and no NUL: nothing to decode or resolve.
    private static func isPlain(_ path: String) -> Bool {
        var previous: UInt8 = 0
        var first = true
        for byte in path.utf8 {
            if first {
                guard byte == UInt8(ascii: "/") else { return false }
                first = false
            }
            if byte == UInt8(ascii: "%") || byte == 0 { return false }
            if previous == UInt8(ascii: "/") && (byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")) { return false }
            previous = byte
        }
        return !first
    }

    func lookup(root: String, uri: String, index: [String]) -> Lookup {
        let key = LookupKey(root: root, uri: uri)
        let now = NIODeadline.now()
        if let (cached, at) = lookups.withLockedValue({ $0[key] }), now - at < .seconds(1) { return cached }
        let result = uncachedLookup(root: root, uri: uri, index: index)
        lookups.withLockedValue { lookups in
            if lookups.count > 4096 { lookups.removeAll(keepingCapacity: true) }
            lookups[key] = (result, now)
        }
        return result
    }

    private func uncachedLookup(root: String, uri: String, index: [String]) -> Lookup {
        guard let path = Self.normalise(uri) else { return .badRequest }
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        let full = rootURL.path + path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else { return .notFound }
        if isDirectory.boolValue {
            guard path.hasSuffix("/") else { return .redirectToDirectory(path + "/") }
            for name in index where FileManager.default.fileExists(atPath: full + name) {
                return load(full + name)
            }
            return .forbidden
        }
        // Symbolic links must not lead out of the root either.
        let resolved = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
        let resolvedRoot = rootURL.resolvingSymlinksInPath().path
        guard resolved == resolvedRoot || resolved.hasPrefix(resolvedRoot + "/") else { return .notFound }
        return load(full)
    }

    private func load(_ path: String) -> Lookup {
        let now = NIODeadline.now()
        if let cached = cache.withLockedValue({ $0[path] }), now - cached.checked < .seconds(1) {
            return .file(cached)
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let modified = attributes[.modificationDate] as? Date,
              let size = attributes[.size] as? Int else { return .notFound }
        if var cached = cache.withLockedValue({ $0[path] }), cached.modified == modified, cached.data.readableBytes == size {
            cached.checked = now
            cache.withLockedValue { $0[path] = cached }
            return .file(cached)
        }
        guard FileManager.default.isReadableFile(atPath: path), let data = FileManager.default.contents(atPath: path) else { return .forbidden }
        // nginx's ETag: "<mtime in hex>-<size in hex>".
        let etag = "\"\(String(Int(modified.timeIntervalSince1970), radix: 16))-\(String(data.count, radix: 16))\""
        let file = File(data: ByteBuffer(bytes: data), modified: modified, lastModified: LogTime.http(modified), etag: etag,
                        contentType: Self.mimeType(path), checked: now)
        cache.withLockedValue { $0[path] = file }
        return .file(file)
    }

    /// A few lines of nginx's mime.types.
    static func mimeType(_ path: String) -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        return switch ext {
        case "html", "htm": "text/html"
        case "css": "text/css"
        case "txt": "text/plain"
        case "js": "application/javascript"
        case "json": "application/json"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "gif": "image/gif"
        case "svg": "image/svg+xml"
        case "ico": "image/x-icon"
        default: "application/octet-stream"
        }
    }
}
