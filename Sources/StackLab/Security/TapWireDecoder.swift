/// Turns the bytes of one direction of a connection into lines a learner can read: text as text (HTTP headers, form
/// bodies), TLS as its record headers only (type, length, record version — the rest is ciphertext) and the version
/// the ServerHello agrees on, MySQL packets as
/// commands (`COM_QUERY  SELECT …`), anything else as a hex/ASCII excerpt. It keeps state across reads, because a
/// TLS record or a MySQL packet may be split between them.
struct WireDecoder {
    let isMySQL: Bool
    let toServer: Bool
    private var mode: Mode = .unknown
    // TLS: bytes of a record header seen so far, and body bytes still to skip.
    private var tlsHeader: [UInt8] = []
    private var tlsRemaining = 0
    private var tlsEncrypted = false
    private var tlsExplained = false
    /// The body of a ServerHello record being read (it says which TLS version the two sides agreed on).
    private var serverHello: [UInt8]?
    // MySQL: bytes of an incomplete packet.
    private var mysqlPending: [UInt8] = []
    private var mysqlPackets = 0

    static let maxLines = 40
    static let maxLineLength = 200

    private enum Mode { case unknown, tls, mysql, other }

    init(isMySQL: Bool, toServer: Bool) {
        self.isMySQL = isMySQL
        self.toServer = toServer
    }

    mutating func decode<Bytes: Collection>(_ bytes: Bytes) -> (WireKind, [String]) where Bytes.Element == UInt8 {
        let data = Array(bytes)
        if mode == .unknown, !data.isEmpty {
            mode = Self.looksLikeTLS(data) ? .tls : isMySQL ? .mysql : .other
        }
        switch mode {
        case .tls: return (.tls, tls(data))
        case .mysql: return (.mysql, mysql(data))
        case .unknown, .other:
            if let text = Self.readableText(data) { return (.text, text) }
            return (.binary, Self.hexDump(data))
        }
    }

    // MARK: - TLS

    /// A TLS record starts with a content type 20–24 and major version 3.
    static func looksLikeTLS(_ data: [UInt8]) -> Bool {
        data.count >= 3 && (20...24).contains(data[0]) && data[1] == 3 && data[2] <= 4
    }

    private mutating func tls(_ data: [UInt8]) -> [String] {
        var lines: [String] = []
        var index = 0
        while index < data.count {
            if tlsRemaining > 0 {
                let take = min(tlsRemaining, data.count - index)
                if serverHello != nil, (serverHello?.count ?? 0) < 4096 { serverHello! += data[index..<(index + take)] }
                tlsRemaining -= take
                index += take
                if tlsRemaining == 0, let hello = serverHello {
                    serverHello = nil
                    if let agreed = Self.agreedVersion(serverHello: hello), lines.count < Self.maxLines { lines.append(agreed) }
                }
                continue
            }
            tlsHeader.append(data[index])
            index += 1
            guard tlsHeader.count == 5 else { continue }
            let type = tlsHeader[0]
            let version = UInt16(tlsHeader[1]) << 8 | UInt16(tlsHeader[2])
            let length = Int(tlsHeader[3]) << 8 | Int(tlsHeader[4])
            tlsHeader = []
            tlsRemaining = length
            var name = Self.recordTypes[type] ?? "type \(type)"
            // Handshake messages are readable by type only until the keys change.
            if type == 22, !tlsEncrypted, index < data.count, let message = Self.handshakeTypes[data[index]] {
                name += " (\(message))"
                if data[index] == 2 { serverHello = [] }
            }
            if type == 20 { tlsEncrypted = true }
            if type == 23 { name += " (encrypted)" }
            if lines.count < Self.maxLines {
                lines.append("TLS record: \(name), length \(length), record version 0x\(String(version, radix: 16, uppercase: false).leftPadded(4))")
            }
            // Said once, under the client's first record (its ClientHello, often 0x0301).
            if !tlsExplained && toServer {
                tlsExplained = true
                // RFC 8446 §5.1: legacy_record_version is 0x0303 in TLS 1.3 (0x0301 allowed in a first ClientHello)
                // and "MUST be ignored"; the version in use is agreed in the hello messages.
                lines.append("(record version: a legacy field. TLS 1.3 fixes it at 0x0303, or 0x0301")
                lines.append(" in a first ClientHello; the ServerHello tells the TLS version in use)")
            }
        }
        return lines
    }

    /// The version a ServerHello agrees on: its supported_versions extension (TLS 1.3, RFC 8446 §4.2.1), else its
    /// version field (TLS 1.2 and older). Nil when the message is cut short.
    static func agreedVersion(serverHello message: [UInt8]) -> String? {
        // type(1) length(3) legacy_version(2) random(32) session_id(1+n) cipher_suite(2) compression(1) extensions(2+…)
        guard message.count >= 39, message[0] == 2 else { return nil }
        let legacy = UInt16(message[4]) << 8 | UInt16(message[5])
        var at = 38
        at += 1 + Int(message[38])
        at += 3
        if at + 2 <= message.count {
            let end = min(message.count, at + 2 + (Int(message[at]) << 8 | Int(message[at + 1])))
            at += 2
            while at + 4 <= end {
                let kind = Int(message[at]) << 8 | Int(message[at + 1])
                let size = Int(message[at + 2]) << 8 | Int(message[at + 3])
                at += 4
                if kind == 43, size == 2, at + 2 <= end {
                    let selected = UInt16(message[at]) << 8 | UInt16(message[at + 1])
                    return "ServerHello: \(versionName(selected)) agreed (its supported_versions extension: "
                        + "0x\(String(selected, radix: 16).leftPadded(4)))"
                }
                at += size
            }
        }
        return "ServerHello: \(versionName(legacy)) agreed (its version field; no supported_versions)"
    }

    static let recordTypes: [UInt8: String] = [20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data", 24: "heartbeat"]
    static let handshakeTypes: [UInt8: String] = [1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 11: "Certificate",
                                                  12: "ServerKeyExchange", 14: "ServerHelloDone", 16: "ClientKeyExchange"]

    static func versionName(_ version: UInt16) -> String {
        switch version {
        case 0x0300: "SSL 3.0"
        case 0x0301: "TLS 1.0"
        case 0x0302: "TLS 1.1"
        case 0x0303: "TLS 1.2"
        case 0x0304: "TLS 1.3"
        default: "unknown"
        }
    }

    // MARK: - MySQL

    private mutating func mysql(_ data: [UInt8]) -> [String] {
        mysqlPending += data
        var lines: [String] = []
        while mysqlPending.count >= 4 {
            let length = Int(mysqlPending[0]) | Int(mysqlPending[1]) << 8 | Int(mysqlPending[2]) << 16
            let sequence = mysqlPending[3]
            guard mysqlPending.count >= 4 + length else { break }
            let payload = Array(mysqlPending[4..<(4 + length)])
            mysqlPending.removeFirst(4 + length)
            mysqlPackets += 1
            if lines.count < Self.maxLines { lines.append(describeMySQL(payload, sequence: sequence)) }
        }
        if mysqlPending.count > 1 << 20 {
            // A packet this large is data, not a command: stop collecting it.
            lines.append("(\(mysqlPending.count) bytes of a large packet, not shown)")
            mysqlPending = []
        }
        return lines
    }

    private func describeMySQL(_ payload: [UInt8], sequence: UInt8) -> String {
        guard let first = payload.first else { return "packet #\(sequence): empty" }
        if toServer {
            if sequence == 0 {
                let rest = Array(payload.dropFirst())
                switch first {
                case 0x03: return "COM_QUERY  " + Self.line(String(decoding: rest, as: UTF8.self))
                case 0x01: return "COM_QUIT"
                case 0x0e: return "COM_PING"
                case 0x02: return "COM_INIT_DB  " + String(decoding: rest, as: UTF8.self)
                case 0x16: return "COM_STMT_PREPARE  " + Self.line(String(decoding: rest, as: UTF8.self))
                case 0x12: return "COM_BINLOG_DUMP (a replica asks for the binary log)"
                case 0x1e: return "COM_BINLOG_DUMP_GTID (a replica asks for the binary log)"
                case 0x15: return "COM_REGISTER_SLAVE (a replica introduces itself)"
                default: return "command 0x\(String(first, radix: 16)): " + Self.excerpt(payload)
                }
            }
            if sequence == 1, payload.count > 32 {
                // HandshakeResponse41: capabilities(4) max-packet(4) charset(1) filler(23) user NUL auth-length auth …
                let user = payload[32...].prefix { $0 != 0 }
                let authLengthIndex = 32 + user.count + 1
                let authLength = authLengthIndex < payload.count ? Int(payload[authLengthIndex]) : 0
                return "login request: user '\(String(decoding: user, as: UTF8.self))', password sent scrambled (\(authLength) bytes of "
                    + "mysql_native_password hash, not the password itself)"
            }
            return "packet #\(sequence): " + Self.excerpt(payload)
        }
        switch first {
        case 0x0a where sequence == 0:
            let version = payload.dropFirst().prefix { $0 != 0 }
            return "server greeting: protocol 10, server version \(String(decoding: version, as: UTF8.self))"
        case 0x00 where Self.binlogEvent(payload) != nil:
            return Self.binlogEvent(payload) ?? ""
        case 0x00 where payload.count >= 7:
            return "OK" + (payload.count > 7 ? " " + Self.excerpt(Array(payload.dropFirst(7))) : "")
        case 0xff where payload.count >= 9:
            let code = Int(payload[1]) | Int(payload[2]) << 8
            let state = String(decoding: payload[4..<9], as: UTF8.self)
            return "ERROR \(code) (\(state)): " + String(decoding: payload[9...], as: UTF8.self)
        case 0xfe where payload.count < 9:
            return "EOF"
        default:
            return "result data: " + Self.excerpt(payload)
        }
    }

    /// MySQL's binlog event types, as mysqlbinlog names them.
    static let binlogEventNames: [UInt8: String] = [
        2: "QUERY_EVENT", 3: "STOP_EVENT", 4: "ROTATE_EVENT", 15: "FORMAT_DESCRIPTION_EVENT", 16: "XID_EVENT", 19: "TABLE_MAP_EVENT",
        27: "HEARTBEAT_LOG_EVENT", 30: "WRITE_ROWS_EVENT", 31: "UPDATE_ROWS_EVENT", 32: "DELETE_ROWS_EVENT", 33: "GTID_LOG_EVENT",
        34: "ANONYMOUS_GTID_LOG_EVENT", 35: "PREVIOUS_GTIDS_LOG_EVENT",
    ]

    /// A packet of the replication stream: 0x00, then a binlog event whose v4 header (timestamp 4, type 1, server_id 4,
    /// event_size 4, log_pos 4, flags 2) gives its own size — the packet's length less the 0x00. Nil for anything else
    /// (an OK packet does not add up that way).
    static func binlogEvent(_ payload: [UInt8]) -> String? {
        guard payload.count >= 20 else { return nil }
        func word(_ at: Int) -> Int { Int(payload[at]) | Int(payload[at + 1]) << 8 | Int(payload[at + 2]) << 16 | Int(payload[at + 3]) << 24 }
        let size = word(10)
        guard size == payload.count - 1, let name = binlogEventNames[payload[5]] else { return nil }
        let body = Array(payload.dropFirst(20))
        return "binlog \(name) from server_id \(word(6)), ends at position \(word(14))" + (body.isEmpty ? "" : ": " + excerpt(body))
    }

    // MARK: - Text and bytes

    /// The bytes as lines, when nearly all of them are printable (HTTP, form bodies, JSON).
    static func readableText(_ data: [UInt8]) -> [String]? {
        guard !data.isEmpty else { return [] }
        let printable = data.reduce(0) { $0 + (($1 >= 0x20 && $1 < 0x7f) || $1 == 0x0a || $1 == 0x0d || $1 == 0x09 || $1 >= 0x80 ? 1 : 0) }
        guard printable * 100 >= data.count * 95 else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map { line($0) }
        if lines.last == "" { lines.removeLast() }
        if lines.count > maxLines {
            let more = lines.count - maxLines
            lines = Array(lines.prefix(maxLines)) + ["… \(more) more line\(more == 1 ? "" : "s")"]
        }
        return lines
    }

    static func line(_ text: some StringProtocol) -> String {
        let clean = String(text.map { $0.isASCII && ($0.asciiValue! < 0x20 || $0.asciiValue! == 0x7f) && $0 != "\t" ? "·" : $0 })
        return clean.count > maxLineLength ? String(clean.prefix(maxLineLength)) + "…" : clean
    }

    /// Printable runs of a binary payload, for MySQL result rows: `'1' 'alice' 'hello'`.
    static func excerpt(_ payload: [UInt8]) -> String {
        let text = String(payload.prefix(160).map { ($0 >= 0x20 && $0 < 0x7f) ? Character(UnicodeScalar($0)) : "·" })
        return text + (payload.count > 160 ? "…" : "")
    }

    /// `0000  16 03 01 02 00 01 00 01  fc 03 03 5e 9a 1b 22 07  |...........^..".|`, the first 64 bytes.
    static func hexDump(_ data: [UInt8]) -> [String] {
        var lines: [String] = []
        for offset in stride(from: 0, to: min(data.count, 64), by: 16) {
            let row = data[offset..<min(offset + 16, data.count)]
            var hex = row.enumerated().map { (i, b) in (i == 8 ? " " : "") + String(b, radix: 16).leftPadded(2) }.joined(separator: " ")
            hex += String(repeating: " ", count: max(0, 48 - hex.count))
            let ascii = String(row.map { ($0 >= 0x20 && $0 < 0x7f) ? Character(UnicodeScalar($0)) : "." })
            lines.append("\(String(offset, radix: 16).leftPadded(4))  \(hex) |\(ascii)|")
        }
        if data.count > 64 { lines.append("… \(data.count - 64) more bytes") }
        return lines
    }
}

fileprivate extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
