import NIOCore

/// Length-encoded integers and strings of the MySQL protocol ("Protocol::LengthEncodedInteger"). Every read returns
/// nil on short or malformed input instead of trapping: bytes from the network are never trusted.
extension ByteBuffer {
    mutating func writeLengthEncodedInteger(_ value: UInt64) {
        switch value {
        case 0..<251: self.writeInteger(UInt8(value))
        case 251..<65536:
            self.writeInteger(UInt8(0xFC)); self.writeInteger(UInt16(value), endianness: .little)
        case 65536..<16_777_216:
            self.writeInteger(UInt8(0xFD))
            self.writeInteger(UInt8(value & 0xFF)); self.writeInteger(UInt8((value >> 8) & 0xFF)); self.writeInteger(UInt8((value >> 16) & 0xFF))
        default:
            self.writeInteger(UInt8(0xFE)); self.writeInteger(value, endianness: .little)
        }
    }

    mutating func writeLengthEncodedString(_ string: String) {
        self.writeLengthEncodedInteger(UInt64(string.utf8.count))
        self.writeString(string)
    }

    mutating func readLengthEncodedInteger() -> UInt64? {
        guard let first = self.readInteger(as: UInt8.self) else { return nil }
        switch first {
        case 0..<251: return UInt64(first)
        case 0xFC: return self.readInteger(endianness: .little, as: UInt16.self).map(UInt64.init)
        case 0xFD:
            guard let a = self.readInteger(as: UInt8.self), let b = self.readInteger(as: UInt8.self),
                  let c = self.readInteger(as: UInt8.self) else { return nil }
            return UInt64(a) | UInt64(b) << 8 | UInt64(c) << 16
        case 0xFE: return self.readInteger(endianness: .little, as: UInt64.self)
        default: return nil // 0xFB is NULL in rows, 0xFF is an error marker
        }
    }

    mutating func readLengthEncodedString() -> String? {
        guard let n = self.readLengthEncodedInteger(), n <= UInt64(self.readableBytes) else { return nil }
        return self.readString(length: Int(n))
    }

    mutating func readLengthEncodedBytes() -> [UInt8]? {
        guard let n = self.readLengthEncodedInteger(), n <= UInt64(self.readableBytes) else { return nil }
        return self.readBytes(length: Int(n))
    }

    /// A text-protocol row value: lenenc string or 0xFB for NULL.
    mutating func readRowValue() -> String?? {
        guard let first = self.getInteger(at: self.readerIndex, as: UInt8.self) else { return nil }
        if first == 0xFB { self.moveReaderIndex(forwardBy: 1); return .some(nil) }
        guard let n = self.readLengthEncodedInteger(), n <= UInt64(self.readableBytes),
              let bytes = self.readBytes(length: Int(n)) else { return nil }
        return .some(String(decoding: bytes, as: UTF8.self))
    }
}
