import NIOCore

/// Builders for the server's packets (payloads only; framing is the encoder's job).
enum ServerMessages {
    static func handshake(connectionID: UInt32, scramble: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(10))  // protocol version
        b.writeNullTerminatedString(StoreEngine.version)
        b.writeInteger(connectionID, endianness: .little)
        b.writeBytes(scramble.prefix(8))
        b.writeInteger(UInt8(0))
        let caps = Capabilities.server.rawValue
        b.writeInteger(UInt16(caps & 0xFFFF), endianness: .little)
        b.writeInteger(UInt8(Collation.utf8mb4))
        b.writeInteger(ServerStatus.autocommit, endianness: .little)
        b.writeInteger(UInt16(caps >> 16), endianness: .little)
        b.writeInteger(UInt8(21))  // auth plugin data length (20 + NUL)
        b.writeBytes([UInt8](repeating: 0, count: 10))
        b.writeBytes(scramble.suffix(12))
        b.writeInteger(UInt8(0))
        b.writeNullTerminatedString("mysql_native_password")
        return b
    }

    static func authSwitch(scramble: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(0xFE))
        b.writeNullTerminatedString("mysql_native_password")
        b.writeBytes(scramble)
        b.writeInteger(UInt8(0))
        return b
    }

    static func ok(affectedRows: UInt64 = 0, lastInsertID: UInt64 = 0, status: UInt16 = ServerStatus.autocommit, warnings: UInt16 = 0, info: String? = nil, header: UInt8 = 0x00) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(header)
        b.writeLengthEncodedInteger(affectedRows)
        b.writeLengthEncodedInteger(lastInsertID)
        b.writeInteger(status, endianness: .little)
        b.writeInteger(warnings, endianness: .little)
        // mysqld writes the info as a length-encoded string (net_store_data), and clients read it so.
        if let info, !info.isEmpty { b.writeLengthEncodedString(info) }
        return b
    }

    static func eof(status: UInt16 = ServerStatus.autocommit, warnings: UInt16 = 0) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(0xFE))
        b.writeInteger(warnings, endianness: .little)
        b.writeInteger(status, endianness: .little)
        return b
    }

    /// An ERR packet. Before the handshake the server does not know the client speaks protocol 4.1, so mysqld
    /// leaves out the '#' and SQLSTATE (the client then shows HY000).
    static func error(_ e: StoreError, withSQLState: Bool = true) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(0xFF))
        b.writeInteger(UInt16(clamping: e.code), endianness: .little)
        if withSQLState {
            b.writeString("#")
            b.writeString(String((e.sqlState + "HY000").prefix(5)))
        }
        b.writeString(e.message)
        return b
    }

    static func columnDefinition(_ c: StoreColumn, defaultForFieldList: Bool = false) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeLengthEncodedString("def")
        b.writeLengthEncodedString(c.database)
        b.writeLengthEncodedString(c.table)
        b.writeLengthEncodedString(c.orgTable)
        b.writeLengthEncodedString(c.name)
        b.writeLengthEncodedString(c.orgName)
        b.writeLengthEncodedInteger(0x0C)
        b.writeInteger(c.charset, endianness: .little)
        b.writeInteger(c.length, endianness: .little)
        b.writeInteger(c.type.rawValue)
        b.writeInteger(c.flags, endianness: .little)
        b.writeInteger(c.decimals)
        b.writeInteger(UInt16(0), endianness: .little)
        if defaultForFieldList { b.writeInteger(UInt8(0xFB)) }
        return b
    }

    static func row(_ values: [String?]) -> ByteBuffer {
        var b = ByteBuffer()
        for v in values {
            if let v { b.writeLengthEncodedString(v) } else { b.writeInteger(UInt8(0xFB)) }
        }
        return b
    }

    /// A whole text result set or OK, as the packets the client expects, given what was negotiated.
    static func result(_ r: StoreResult, deprecateEOF: Bool, moreResults: Bool) -> [ByteBuffer] {
        let status = ServerStatus.autocommit | (moreResults ? ServerStatus.moreResultsExist : 0)
        guard r.isResultSet else {
            return [ok(affectedRows: UInt64(max(0, r.affectedRows)), lastInsertID: UInt64(max(0, r.lastInsertID)), status: status,
                       warnings: UInt16(clamping: r.warnings), info: r.info)]
        }
        var out: [ByteBuffer] = []
        var count = ByteBuffer()
        count.writeLengthEncodedInteger(UInt64(r.columnInfo.count))
        out.append(count)
        for c in r.columnInfo { out.append(columnDefinition(c)) }
        if !deprecateEOF { out.append(eof()) }
        for row in r.rows { out.append(self.row(row)) }
        out.append(deprecateEOF ? ok(status: status, warnings: UInt16(clamping: r.warnings), header: 0xFE) : eof(status: status, warnings: UInt16(clamping: r.warnings)))
        return out
    }
}

/// The client's HandshakeResponse41.
struct HandshakeResponse: Sendable, Equatable {
    var capabilities: Capabilities
    var user: String
    var authResponse: [UInt8]
    var database: String?
    var plugin: String?

    init?(_ packet: ByteBuffer) {
        var b = packet
        guard let caps = b.readInteger(endianness: .little, as: UInt32.self),
              b.readInteger(endianness: .little, as: UInt32.self) != nil,  // max packet size
              b.readInteger(as: UInt8.self) != nil,                        // charset
              b.readBytes(length: 23) != nil
        else { return nil }
        let c = Capabilities(rawValue: caps)
        guard c.contains(.protocol41) else { return nil }
        guard let user = b.readNullTerminatedString() else { return nil }
        let auth: [UInt8]?
        if c.contains(.pluginAuthLenencData) {
            auth = b.readLengthEncodedBytes()
        } else if c.contains(.secureConnection) {
            auth = b.readInteger(as: UInt8.self).flatMap { b.readBytes(length: Int($0)) }
        } else {
            auth = b.readNullTerminatedString().map { Array($0.utf8) }
        }
        guard let authResponse = auth else { return nil }
        self.capabilities = c
        self.user = user
        self.authResponse = authResponse
        if c.contains(.connectWithDB), b.readableBytes > 0 {
            let db = b.readNullTerminatedString()
            self.database = (db?.isEmpty ?? true) ? nil : db
        }
        if c.contains(.pluginAuth), b.readableBytes > 0 { self.plugin = b.readNullTerminatedString() }
    }
}
