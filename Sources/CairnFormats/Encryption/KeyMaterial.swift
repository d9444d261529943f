import Crypto

/// The 32 bytes of a 256-bit key (a master key or a data key), held inline so keys can cross
/// threads (swift-crypto 3's `SymmetricKey` is not `Sendable`). It never prints its bytes:
/// its description, debug description and mirror say only that it is redacted.
package struct KeyMaterial: Sendable {
    package static let byteCount = 32

    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// The key in `bytes`, or nil unless they are exactly 32.
    package init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.byteCount else { return nil }
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: bytes) }
    }

    /// A new random key (the system's cryptographically secure generator: getrandom on Linux).
    package static func random() -> KeyMaterial {
        var generator = SystemRandomNumberGenerator()
        return KeyMaterial(words: (generator.next(), generator.next(), generator.next(), generator.next()))
    }

    private init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words) { try body($0) }
    }

    /// The key as swift-crypto takes it (a copy in its own zeroed-on-release storage).
    var symmetricKey: SymmetricKey { withUnsafeBytes { SymmetricKey(data: $0) } }

    /// The key's non-secret fingerprint: the first 8 bytes of HMAC-SHA256(key, "cairn key id").
    var fingerprint: EncryptionKeyID {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("cairn key id".utf8), using: symmetricKey)
        return EncryptionKeyID(value: mac.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
}

extension KeyMaterial: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String { "KeyMaterial(redacted)" }
    package var debugDescription: String { description }
    package var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// A key's short, non-secret name: 8 bytes of its fingerprint, written as 16 hex digits in
/// messages, keyrings and file headers. Equal ids mean the same key (up to a 2^-64 chance).
package struct EncryptionKeyID: Sendable, Hashable, Comparable, CustomStringConvertible {
    package let value: UInt64

    package init(value: UInt64) { self.value = value }

    /// Parses 16 hex digits; nil for anything else.
    package init?(hex: String) {
        guard hex.utf8.count == 16, hex.utf8.allSatisfy(\.isHexDigit), let v = UInt64(hex, radix: 16) else { return nil }
        value = v
    }

    package var description: String { Hash.hex(value) }

    package static func < (a: EncryptionKeyID, b: EncryptionKeyID) -> Bool { a.value < b.value }
}
