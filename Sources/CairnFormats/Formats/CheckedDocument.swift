import Foundation

/// A JSON document preceded by one text line that names its kind, format version, update
/// sequence number, length and XXH3 checksum:
///
///     CAIRN <kind> v<version> usn=<n> len=<bytes> xxh3=<16 hex>\n<json>
///
/// Readable with any text tool, verified on every read.
package struct CheckedDocument: Sendable {
    package let kind: String
    package let version: Int
    package let usn: UInt64
    package let body: [UInt8]

    package init(kind: String, version: Int, usn: UInt64, body: [UInt8]) {
        self.kind = kind
        self.version = version
        self.usn = usn
        self.body = body
    }

    /// The checksum covers the header fields and the body.
    static func checksum(kind: String, version: Int, usn: UInt64, body: [UInt8]) -> UInt64 {
        Hash.xxh3(body, seed: Hash.xxh3(Array("CAIRN \(kind) v\(version) usn=\(usn) len=\(body.count)".utf8)))
    }

    package func encoded() -> [UInt8] {
        let sum = Self.checksum(kind: kind, version: version, usn: usn, body: body)
        let header = "CAIRN \(kind) v\(version) usn=\(usn) len=\(body.count) xxh3=\(Hash.hex(sum))\n"
        return Array(header.utf8) + body
    }

    /// Parses and verifies; throws `corrupt`, `truncated` or `unsupportedFormat` naming `file`.
    package static func decode(_ bytes: [UInt8], kind: String, maxVersion: Int, file: String) throws(EngineError) -> CheckedDocument {
        guard let nl = bytes.firstIndex(of: 0x0A), nl < 256 else {
            throw .corrupt(file: file, offset: 0, detail: "no Cairn \(kind) header line")
        }
        guard let line = String(bytes: bytes[..<nl], encoding: .utf8) else {
            throw .corrupt(file: file, offset: 0, detail: "header line is not text")
        }
        let parts = line.split(separator: " ")
        guard parts.count == 6, parts[0] == "CAIRN", parts[1] == kind else {
            throw .corrupt(file: file, offset: 0, detail: "not a Cairn \(kind) file (header: \(line.prefix(60)))")
        }
        func field(_ i: Int, _ prefix: String) throws(EngineError) -> Substring {
            guard parts[i].hasPrefix(prefix) else { throw .corrupt(file: file, offset: 0, detail: "malformed header field \(parts[i])") }
            return parts[i].dropFirst(prefix.count)
        }
        guard let version = Int(try field(2, "v")) else { throw .corrupt(file: file, offset: 0, detail: "malformed version") }
        if version > maxVersion || version < 1 {
            throw .unsupportedFormat(file: file, found: version, supported: maxVersion)
        }
        guard let usn = UInt64(try field(3, "usn=")),
              let len = Int(try field(4, "len=")), len >= 0,
              let sum = Hash.parseHex(String(try field(5, "xxh3="))) else {
            throw .corrupt(file: file, offset: 0, detail: "malformed header")
        }
        let body = Array(bytes[(nl + 1)...])
        if body.count != len {
            if body.count < len { throw .truncated(file: file, expected: UInt64(nl + 1) + UInt64(len), actual: UInt64(bytes.count)) }
            throw .corrupt(file: file, offset: UInt64(nl + 1 + len), detail: "\(body.count - len) unexpected bytes after the document")
        }
        let computed = checksum(kind: kind, version: version, usn: usn, body: body)
        if computed != sum {
            throw .corrupt(file: file, offset: UInt64(nl + 1), detail: "checksum mismatch (recorded \(Hash.hex(sum)), computed \(Hash.hex(computed)))")
        }
        return CheckedDocument(kind: kind, version: version, usn: usn, body: body)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    package static func make<T: Encodable>(_ value: T, kind: String, version: Int, usn: UInt64) -> CheckedDocument {
        // Encoding our own model types cannot fail.
        let data = (try? encoder.encode(value)) ?? Data()
        return CheckedDocument(kind: kind, version: version, usn: usn, body: Array(data))
    }

    package func decodeBody<T: Decodable>(_ type: T.Type, file: String) throws(EngineError) -> T {
        do {
            return try CheckedDocument.decoder.decode(T.self, from: Data(body))
        } catch {
            throw .corrupt(file: file, offset: nil, detail: "content does not match the \(kind) format: \(error)")
        }
    }
}
