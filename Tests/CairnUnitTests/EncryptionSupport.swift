import CairnFormats
import CairnTestSupport
import Foundation
import Testing

/// A seeded generator (SplitMix64) so a failing random case can be replayed: tests print the
/// seed, and `CAIRN_TEST_SEED` replays it.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator seeded from `CAIRN_TEST_SEED` or at random; prints the seed.
    static func announced(_ test: String) -> SeededGenerator {
        let seed = ProcessInfo.processInfo.environment["CAIRN_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        print("\(test): seed \(seed) (replay with CAIRN_TEST_SEED=\(seed))")
        return SeededGenerator(seed: seed)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { b in
            var i = 0
            while i + 8 <= b.count {
                b.storeBytes(of: next(), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < b.count {
                b[i] = UInt8(truncatingIfNeeded: next())
                i += 1
            }
        }
        return out
    }
}

/// A master key, a keyring with one data key, and a scratch directory to encrypt files in.
final class EncryptionFixture {
    static let block = EncryptedFileFormat.defaultBlockSize

    let dir = TempDir("encryption")
    let master = MasterKey(material: .random(), keyFile: "/keys/test.key")
    var keyring = Keyring()
    let keys: UnlockedKeyring

    init() throws {
        _ = try keyring.addDataKey(under: master, file: dir.file("keyring"))
        keys = try keyring.unlocked(with: master, file: dir.file("keyring"))
    }

    /// The encrypted bytes of `plaintext`, written in chunks of the sizes `chunks` gives
    /// (whole when nil).
    func encrypt(_ plaintext: [UInt8], chunks: ((Int) -> Int)? = nil, keys: UnlockedKeyring? = nil) throws -> [UInt8] {
        let writer = try EncryptingWriter(sink: ByteArraySink(), path: "(memory)", keys: keys ?? self.keys)
        var at = 0
        repeat {
            let n = Swift.min(plaintext.count - at, chunks?(plaintext.count - at) ?? plaintext.count)
            try plaintext[at..<(at + n)].withUnsafeBytes { try writer.write($0) }
            at += n
        } while at < plaintext.count
        try writer.finish()
        return writer.sink.bytes
    }

    /// Writes `bytes` to a new file in the scratch directory and returns its path.
    func store(_ bytes: [UInt8], as name: String) throws -> String {
        let path = dir.file(name)
        FileSystem.removeFile(path)
        let file = try RawFile(path: path, mode: .createNew)
        try file.write(bytes, at: 0)
        return path
    }

    /// The plaintext of the encrypted file at `path`, every block authenticated.
    func decrypt(_ path: String, keys: UnlockedKeyring? = nil) throws -> [UInt8] {
        let reader = try DecryptingReader(path: path, keys: keys ?? self.keys)
        try reader.verify()
        return try reader.readAll()
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs anywhere in the array.
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        let first = needle[0]
        var i = 0
        while i <= count - needle.count {
            if self[i] == first && self[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
