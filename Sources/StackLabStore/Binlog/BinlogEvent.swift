import NIOCore

/// A binlog event with MySQL's 19-byte v4 header (timestamp, type, server_id, event_size, log_pos, flags) and a
/// body of our own (statement-based: the statement text plus the context the applier needs to repeat it exactly).
/// Event sizes and positions advance like MySQL's, so file names and positions read like the real thing.
struct BinlogEvent: Sendable, Equatable {
    enum Kind: UInt8, Sendable {
        case query = 2, stop = 3, rotate = 4, formatDescription = 15, xid = 16, gtid = 33, previousGTIDs = 35
        case heartbeat = 27
    }

    var timestamp: UInt32
    var kind: Kind
    var serverID: UInt32
    /// Position just after this event in its file (MySQL's log_pos).
    var endPosition: UInt32
    var body: [UInt8]

    static let headerLength = 19
    var size: Int { Self.headerLength + body.count }

    func encoded() -> [UInt8] {
        var b = ByteBuffer()
        b.writeInteger(timestamp, endianness: .little)
        b.writeInteger(kind.rawValue)
        b.writeInteger(serverID, endianness: .little)
        b.writeInteger(UInt32(truncatingIfNeeded: size), endianness: .little)  // bounded by max_allowed_packet
        b.writeInteger(endPosition, endianness: .little)
        b.writeInteger(UInt16(0), endianness: .little)
        b.writeBytes(body)
        return Array(b.readableBytesView)
    }

    static func decode(_ buffer: inout ByteBuffer) -> BinlogEvent? {
        guard let ts = buffer.readInteger(endianness: .little, as: UInt32.self),
              let rawKind = buffer.readInteger(as: UInt8.self),
              let server = buffer.readInteger(endianness: .little, as: UInt32.self),
              let size = buffer.readInteger(endianness: .little, as: UInt32.self),
              let end = buffer.readInteger(endianness: .little, as: UInt32.self),
              buffer.readInteger(endianness: .little, as: UInt16.self) != nil,
              let kind = Kind(rawValue: rawKind),
              size >= UInt32(headerLength), Int(size) - headerLength <= buffer.readableBytes,
              let body = buffer.readBytes(length: Int(size) - headerLength)
        else { return nil }
        return BinlogEvent(timestamp: ts, kind: kind, serverID: server, endPosition: end, body: body)
    }

    // MARK: Bodies

    /// FORMAT_DESCRIPTION_EVENT, padded to MySQL 8's 122 bytes so the first transaction starts where it does there.
    static func formatDescription(serverID: UInt32, timestamp: UInt32, version: String) -> BinlogEvent {
        var body: [UInt8] = [4, 0]  // binlog version 4
        var v = Array(version.utf8.prefix(50))
        v += [UInt8](repeating: 0, count: 50 - v.count)
        body += v
        body += [UInt8](repeating: 0, count: 122 - headerLength - body.count)
        return BinlogEvent(timestamp: timestamp, kind: .formatDescription, serverID: serverID, endPosition: 0, body: body)
    }

    /// PREVIOUS_GTIDS_LOG_EVENT, sized as MySQL's binary encoding (8 + per source 16 + 8 + 16 per interval, plus
    /// the 4-byte checksum): 31 bytes for an empty set, so a fresh binlog's first transaction is at 157, and 197
    /// after a restart with one source and one interval.
    static func previousGTIDs(_ set: GTIDSet, serverID: UInt32, timestamp: UInt32) -> BinlogEvent {
        var body = Array(set.description.utf8)
        let mysqlSize = 8 + set.intervals.values.reduce(0) { $0 + 24 + 16 * $1.count } + 4
        if body.count < mysqlSize { body += [UInt8](repeating: 0, count: mysqlSize - body.count) }
        return BinlogEvent(timestamp: timestamp, kind: .previousGTIDs, serverID: serverID, endPosition: 0, body: body)
    }

    static func gtid(uuid: String, gno: Int64, serverID: UInt32, timestamp: UInt32) -> BinlogEvent {
        var b = ByteBuffer()
        b.writeLengthEncodedString(uuid)
        b.writeInteger(UInt64(gno), endianness: .little)
        return BinlogEvent(timestamp: timestamp, kind: .gtid, serverID: serverID, endPosition: 0, body: Array(b.readableBytesView))
    }

    var gtid: (uuid: String, gno: Int64)? {
        guard kind == .gtid else { return nil }
        var b = ByteBuffer(bytes: body)
        guard let u = b.readLengthEncodedString(), let n = b.readInteger(endianness: .little, as: UInt64.self) else { return nil }
        return (u, Int64(truncatingIfNeeded: n))
    }

    /// QUERY_EVENT body: database, insert id for AUTO_INCREMENT (MySQL's INTVAR event), timestamp in ms for NOW()
    /// and SOURCE_DELAY, then the statement.
    static func query(database: String?, sql: String, insertID: Int64, millis: UInt64, serverID: UInt32) -> BinlogEvent {
        var b = ByteBuffer()
        b.writeLengthEncodedString(database ?? "")
        b.writeInteger(UInt64(bitPattern: insertID), endianness: .little)
        b.writeInteger(millis, endianness: .little)
        b.writeString(sql)
        return BinlogEvent(timestamp: UInt32(truncatingIfNeeded: millis / 1000), kind: .query, serverID: serverID, endPosition: 0, body: Array(b.readableBytesView))
    }

    struct QueryBody: Sendable, Equatable {
        var database: String?
        var insertID: Int64
        var millis: UInt64
        var sql: String
    }

    var query: QueryBody? {
        guard kind == .query else { return nil }
        var b = ByteBuffer(bytes: body)
        guard let db = b.readLengthEncodedString(),
              let id = b.readInteger(endianness: .little, as: UInt64.self),
              let ms = b.readInteger(endianness: .little, as: UInt64.self),
              let sql = b.readString(length: b.readableBytes) else { return nil }
        return QueryBody(database: db.isEmpty ? nil : db, insertID: Int64(bitPattern: id), millis: ms, sql: sql)
    }

    static func xid(_ xid: UInt64, serverID: UInt32, timestamp: UInt32) -> BinlogEvent {
        var b = ByteBuffer()
        b.writeInteger(xid, endianness: .little)
        return BinlogEvent(timestamp: timestamp, kind: .xid, serverID: serverID, endPosition: 0, body: Array(b.readableBytesView))
    }

    /// ROTATE_EVENT: position (8 bytes) and the next file's name.
    static func rotate(to file: String, position: UInt64, serverID: UInt32) -> BinlogEvent {
        var b = ByteBuffer()
        b.writeInteger(position, endianness: .little)
        b.writeString(file)
        return BinlogEvent(timestamp: 0, kind: .rotate, serverID: serverID, endPosition: 0, body: Array(b.readableBytesView))
    }

    var rotation: (file: String, position: UInt64)? {
        guard kind == .rotate else { return nil }
        var b = ByteBuffer(bytes: body)
        guard let p = b.readInteger(endianness: .little, as: UInt64.self), let f = b.readString(length: b.readableBytes) else { return nil }
        return (f, p)
    }
}

/// The 4-byte magic every binlog and relay log file starts with.
let binlogMagic: [UInt8] = [0xFE, 0x62, 0x69, 0x6E]
