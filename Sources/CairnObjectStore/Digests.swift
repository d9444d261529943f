import Crypto
import Foundation
import NIOCore

/// SHA-256 in the two spellings S3 uses: lowercase hex (x-amz-content-sha256, signatures) and
/// base64 (x-amz-checksum-sha256).
enum Digests {
    static let emptySHA256Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out = ""
        for byte in bytes {
            out.unicodeScalars.append(hexScalar(byte >> 4))
            out.unicodeScalars.append(hexScalar(byte & 0x0F))
        }
        return out
    }

    static func base64<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        Data(bytes).base64EncodedString()
    }

    static func sha256(_ buffer: ByteBuffer) -> SHA256.Digest {
        var hasher = SHA256()
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }

    static func sha256Hex(_ text: String) -> String { hex(SHA256.hash(data: Array(text.utf8))) }

    private static func hexScalar(_ nibble: UInt8) -> Unicode.Scalar {
        Unicode.Scalar(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
    }
}

/// The SHA-256 of one payload, in both spellings.
struct PayloadDigest: Sendable, Equatable {
    let raw: [UInt8]
    var hex: String { Digests.hex(raw) }
    var base64: String { Digests.base64(raw) }

    init(_ digest: SHA256.Digest) { raw = Array(digest) }
    init(of buffer: ByteBuffer) { self.init(Digests.sha256(buffer)) }

    /// S3's checksum of a multipart object: the SHA-256 of the parts' SHA-256s, then `-N`.
    static func composite(_ parts: [PayloadDigest]) -> String {
        var hasher = SHA256()
        for part in parts { hasher.update(data: part.raw) }
        return Digests.base64(hasher.finalize()) + "-\(parts.count)"
    }
}
