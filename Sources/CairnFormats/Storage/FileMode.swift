import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The permission bits of a file Cairn creates: read and write for the owner always, never
/// execute. A directory gets the same bits plus execute wherever read is set (0600 → 0700,
/// 0640 → 0750). Written in control files and manifests as an octal string ("0640").
package struct FileMode: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    package let bits: mode_t

    /// What Cairn uses where it knows nothing better: the owner alone.
    package static let ownerOnly = FileMode(clamping: 0o600)

    /// The file bits of `raw` that Cairn keeps: read and write only, the owner's always on.
    package init(clamping raw: mode_t) { bits = (raw & 0o666) | 0o600 }

    /// The permission bits of an existing file, or nil when it cannot be read.
    package static func of(file path: String) -> FileMode? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileMode(clamping: st.st_mode)
    }

    package var directoryBits: mode_t { bits | ((bits & 0o444) >> 2) }

    /// The common part of two modes (what both allow).
    package func intersection(_ other: FileMode) -> FileMode { FileMode(clamping: bits & other.bits) }

    package var description: String {
        let octal = String(bits, radix: 8)
        return String(repeating: "0", count: max(0, 4 - octal.count)) + octal
    }

    /// Parses the mode given with `cairn init --mode` (octal: "0640", "640" or "0o640") and
    /// refuses what Cairn cannot or should not use.
    package static func parse(_ text: String) throws(EngineError) -> FileMode {
        var digits = Substring(text)
        if digits.hasPrefix("0o") || digits.hasPrefix("0O") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.count <= 4, let value = mode_t(digits, radix: 8) else {
            throw .invalidSetting(.fileMode, value: "'\(text)'", problem: "not an octal permission mode; use e.g. 0600 (owner only) or 0640 (owner and group can read).")
        }
        guard value & ~0o777 == 0 else {
            throw .invalidSetting(.fileMode, value: text, problem: "sets setuid, setgid or sticky bits; give read and write bits only, e.g. 0640.")
        }
        guard value & 0o111 == 0 else {
            throw .invalidSetting(.fileMode, value: text, problem: "has execute bits; Cairn's files are data, never programs (directories get execute where read is set by themselves). Use e.g. 0640.")
        }
        guard value & 0o600 == 0o600 else {
            throw .invalidSetting(.fileMode, value: text, problem: "does not let the owner read and write; Cairn must read and write its own files. Use e.g. 0600 or 0640.")
        }
        guard value & 0o002 == 0 else {
            throw .invalidSetting(.fileMode, value: text, problem: "lets every user write backups and logs; use at most 0664 (group write), e.g. 0640.")
        }
        return FileMode(clamping: value)
    }

    package init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = mode_t(text, radix: 8) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not an octal file mode"))
        }
        self.init(clamping: value)
    }

    package func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
