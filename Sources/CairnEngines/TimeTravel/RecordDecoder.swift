/// Decodes a SQLite record (a header of serial types, then the values) into values.
enum RecordDecoder {
    /// Why a record could not be decoded (the caller says where it was).
    struct Malformed: Error {
        let detail: String
    }

    /// The values of the record in `bytes`, text decoded with `encoding`.
    static func decode(_ bytes: UnsafeRawBufferPointer, encoding: TextEncoding) throws(Malformed) -> [SQLiteValue] {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return [] }
        guard let (headerSize, n) = Varint.read(base, at: 0, limit: bytes.count) else { throw Malformed(detail: "the record header's size is cut short") }
        guard headerSize >= n, headerSize <= bytes.count else { throw Malformed(detail: "record header size \(headerSize) exceeds the \(bytes.count)-byte record") }
        var at = n, body = Int(headerSize)
        var values: [SQLiteValue] = []
        while at < Int(headerSize) {
            guard let (type, m) = Varint.read(base, at: at, limit: Int(headerSize)) else { throw Malformed(detail: "a serial type runs past the record header") }
            at += m
            let size = try Self.size(of: type)
            guard body + size <= bytes.count else { throw Malformed(detail: "a value of serial type \(type) runs past the \(bytes.count)-byte record") }
            values.append(Self.value(type: type, UnsafeRawBufferPointer(rebasing: bytes[body..<body + size]), encoding))
            body += size
        }
        return values
    }

    /// The body size of a value of serial type `type`.
    static func size(of type: Int64) throws(Malformed) -> Int {
        switch type {
        case 0, 8, 9: return 0
        case 1...4: return Int(type)
        case 5: return 6
        case 6, 7: return 8
        case 10, 11: throw Malformed(detail: "reserved serial type \(type)")
        case 12...Int64(Int32.max) * 2 + 13: return Int((type - 12) / 2)
        default: throw Malformed(detail: "serial type \(type) is out of range")
        }
    }

    private static func value(type: Int64, _ b: UnsafeRawBufferPointer, _ encoding: TextEncoding) -> SQLiteValue {
        switch type {
        case 0: return .null
        case 8: return .integer(0)
        case 9: return .integer(1)
        case 1...6: return .integer(integer(b))
        case 7: return .real(Double(bitPattern: UInt64(bitPattern: integer(b))))
        default: return type % 2 == 0 ? .blob(Array(b)) : .text(encoding.string(b))
        }
    }

    /// A big-endian two's-complement integer of 1 to 8 bytes.
    private static func integer(_ b: UnsafeRawBufferPointer) -> Int64 {
        var v: Int64 = b[0] & 0x80 != 0 ? -1 : 0
        for byte in b { v = v << 8 | Int64(byte) }
        return v
    }
}
