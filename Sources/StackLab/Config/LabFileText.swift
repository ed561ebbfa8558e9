import Foundation

/// A lab file's bytes, read as the real tool reads them.
///
/// nginx, HAProxy, keepalived, MySQL and ufw read bytes: a byte that is not UTF-8 in a comment is never looked at.
/// stacklab's parsers read text, so `decode` keeps each such byte as a stand-in character (`strayByte`) that the
/// tokenizers drop with the comment around it and report anywhere else (`ConfigText.checkBytes`), with file and line.
/// Python (gunicorn.conf.py) and YAML (alerts.yml) read only UTF-8, everywhere: `python` and `yaml` refuse the file as
/// they do.
///
/// ```swift
/// let bytes = try LabFileText.bytes(atPath: "/home/me/lab/web-01/nginx.conf", file: "web-01/nginx.conf")  // nil: no file
/// let text = LabFileText.decode(bytes ?? [])   // "# caf\u{10FEE9}" for the Latin-1 bytes of "# café"
/// ```
public enum LabFileText {
    /// Lab files larger than this are refused: configs are kilobytes, and a file that is a device or a runaway
    /// generator must not fill the memory of every server at once.
    public static let maximumBytes = 16 << 20

    /// The bytes of a lab file; nil when there is no file there. A file that exists but cannot be read (a folder,
    /// a socket, no permission, too large) is an error: it never stands for "no file".
    public static func bytes(atPath path: String, file: String) throws(ConfigError) -> [UInt8]? {
        func refuse(_ reason: String) -> ConfigError { ConfigError(file: file, line: 0, directive: "", reason: reason) }
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                // A link that leads nowhere is a file the learner meant to be there.
                var link = stat()
                if lstat(path, &link) == 0 { throw refuse("cannot read: it is a link to a file that does not exist") }
                return nil
            }
            throw refuse("cannot read: \(String(cString: strerror(code)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw refuse("cannot read: it is a folder, not a file")
        default: throw refuse("cannot read: it is not a regular file (a device, pipe or socket)")
        }
        guard Int(info.st_size) <= maximumBytes else {
            throw refuse("cannot read: it is \(Int(info.st_size) >> 20) MB; stacklab reads lab files of up to \(maximumBytes >> 20) MB")
        }
        // O_NONBLOCK: a file swapped for a pipe since stat() must not hang the shell.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw refuse("cannot read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw refuse("cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= maximumBytes else {
                throw refuse("cannot read: it is over \(maximumBytes >> 20) MB; stacklab reads lab files of up to \(maximumBytes >> 20) MB")
            }
        }
        return bytes
    }

    /// The text of a byte-reading tool's file: UTF-8, with every byte that is not part of UTF-8 kept as a stand-in
    /// for the tokenizer to judge (fine in a comment, an error elsewhere).
    public static func decode(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var scalars = String.UnicodeScalarView()
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                scalars.append(Unicode.UTF8.decode(encoded))
                offset += encoded.count
            case .error(let length):
                for byte in bytes[offset..<(offset + length)] { scalars.append(ConfigText.standIn(for: byte)) }
                offset += length
            case .emptyInput:
                return String(scalars)
            }
        }
    }

    /// gunicorn.conf.py as Python 3 reads source: UTF-8 unless the first or second line declares another coding
    /// (PEP 263); stacklab knows utf-8 and latin-1. Python's own error otherwise.
    public static func python(_ bytes: [UInt8], file: String) throws(ConfigError) -> String {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), maxSplits: 2, omittingEmptySubsequences: false)
        for (index, line) in lines.prefix(2).enumerated() {
            let text = String(decoding: line, as: UTF8.self)
            guard let coding = pythonCoding(in: text) else {
                // Only a comment or blank line may come before the declaration.
                if text.trimmingSpaces.hasPrefix("#") || text.trimmingSpaces.isEmpty { continue } else { break }
            }
            switch coding {
            case "utf-8", "utf8", "utf_8": break
            case "latin-1", "latin1", "latin_1", "iso-8859-1", "iso8859-1", "iso_8859_1", "l1":
                return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
            default:
                throw ConfigError(file: file, line: index + 1, directive: "", reason:
                    "encoding \"\(coding)\": stacklab reads gunicorn.conf.py as utf-8 or latin-1 (PEP 263 coding declaration)")
            }
            break
        }
        // Python skips a UTF-8 byte order mark.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let source = bytes.starts(with: bom) ? Array(bytes.dropFirst(3)) : bytes
        if let text = String(validating: source, as: UTF8.self) { return text }
        let (line, byte) = firstInvalid(in: source)
        throw ConfigError(file: file, line: line, directive: "", reason: "SyntaxError: Non-UTF-8 code starting with '\\x\(hex(byte).lowercased())'"
            + ", but no encoding declared; see https://peps.python.org/pep-0263/ (save the file as UTF-8)")
    }

    /// A YAML file as libyaml (Yams) and Prometheus read it: UTF-8 only, comments included; libyaml's words.
    public static func yaml(_ bytes: [UInt8]) -> Result<String, YAMLByteError> {
        if let text = String(validating: bytes, as: UTF8.self) { return .success(text) }
        var line = 1
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead == UInt8(ascii: "\n") { line += 1 }
            let width = lead & 0x80 == 0 ? 1 : lead & 0xE0 == 0xC0 ? 2 : lead & 0xF0 == 0xE0 ? 3 : lead & 0xF8 == 0xF0 ? 4 : 0
            guard width > 0 else { return .failure(YAMLByteError(line: line, reason: "invalid leading UTF-8 octet")) }
            guard index + width <= bytes.count else { return .failure(YAMLByteError(line: line, reason: "incomplete UTF-8 octet sequence")) }
            var value = UInt32(width == 1 ? lead : width == 2 ? lead & 0x1F : width == 3 ? lead & 0x0F : lead & 0x07)
            for k in stride(from: 1, to: width, by: 1) {
                let trail = bytes[index + k]
                guard trail & 0xC0 == 0x80 else { return .failure(YAMLByteError(line: line, reason: "invalid trailing UTF-8 octet")) }
                value = value << 6 | UInt32(trail & 0x3F)
            }
            let shortest = width == 1 || (width == 2 && value >= 0x80) || (width == 3 && value >= 0x800) || (width == 4 && value >= 0x10000)
            guard shortest else { return .failure(YAMLByteError(line: line, reason: "invalid length of a UTF-8 sequence")) }
            guard value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else {
                return .failure(YAMLByteError(line: line, reason: "invalid Unicode character"))
            }
            index += width
        }
        return .failure(YAMLByteError(line: line, reason: "invalid UTF-8"))
    }

    public struct YAMLByteError: Error, Sendable, Equatable {
        public var line: Int
        /// libyaml's reader error (`invalid trailing UTF-8 octet`).
        public var reason: String
    }

    /// The line (1-based) and value of the first byte that is not part of UTF-8.
    static func firstInvalid(in bytes: [UInt8]) -> (line: Int, byte: UInt8) {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        var line = 1
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") { line += 1 }
                offset += encoded.count
            case .error:
                return (line, bytes[offset])
            case .emptyInput:
                return (line, 0)
            }
        }
    }

    /// `# -*- coding: latin-1 -*-` → "latin-1" (Python's `^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)`), lowercased.
    static func pythonCoding(in line: String) -> String? {
        let trimmed = line.drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
        guard trimmed.first == "#", let range = trimmed.range(of: "coding") else { return nil }
        var rest = trimmed[range.upperBound...]
        guard let mark = rest.first, mark == ":" || mark == "=" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
        let name = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
        return name.isEmpty ? nil : name.lowercased()
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}

extension ConfigText {
    /// Where a byte that is not UTF-8 stands in decoded text: U+10FE00 + the byte, in plane 16's private use area,
    /// which no config format gives a meaning.
    static let standInBase: UInt32 = 0x10FE00

    static func standIn(for byte: UInt8) -> Unicode.Scalar {
        Unicode.Scalar(standInBase + UInt32(byte)) ?? "\u{FFFD}"
    }

    /// The first byte kept by `LabFileText.decode` in a word, if any.
    static func strayByte(in text: some StringProtocol) -> UInt8? {
        for scalar in text.unicodeScalars where scalar.value & ~0xFF == standInBase { return UInt8(scalar.value & 0xFF) }
        return nil
    }

    /// The word as nginx prints bytes in its errors: `caf\xE9`.
    static func showingBytes(_ text: some StringProtocol) -> String {
        var shown = ""
        for scalar in text.unicodeScalars {
            if scalar.value & ~0xFF == standInBase { shown += "\\x" + LabFileText.hex(UInt8(scalar.value & 0xFF)) } else { shown.unicodeScalars.append(scalar) }
        }
        return shown
    }

    /// A byte outside a comment that is not UTF-8: an error naming the byte and the word it is in.
    static func checkBytes(_ word: some StringProtocol, file: String, line: Int, directive: String) throws(ConfigError) {
        guard let byte = strayByte(in: word) else { return }
        throw ConfigError(file: file, line: line, directive: showingBytes(directive), reason: strayByteReason(byte, in: word))
    }

    static func strayByteReason(_ byte: UInt8, in word: some StringProtocol) -> String {
        "byte 0x\(LabFileText.hex(byte)) in \"\(excerpt(word))\" is not UTF-8: stacklab reads lab files as UTF-8 text "
            + "(other bytes only in comments); save the file as UTF-8"
    }

    /// A long word cut to the part around its first stray byte, so the error stays one line.
    static func excerpt(_ word: some StringProtocol) -> String {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count > 40 else { return showingBytes(word) }
        let at = scalars.firstIndex { $0.value & ~0xFF == standInBase } ?? 0
        let start = max(0, at - 15), end = min(scalars.count, at + 10)
        let middle = String(String.UnicodeScalarView(scalars[start..<end]))
        return (start > 0 ? "…" : "") + showingBytes(middle) + (end < scalars.count ? "…" : "")
    }
}
