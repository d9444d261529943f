@testable import CairnFormats
import CairnTestSupport
import Foundation
import Testing

/// Files Cairn writes outside the database, plain or encrypted: `StoredFileWriter` and
/// `StoredFile` (which tells them apart by the magic), and `KeyringRegistry`.
@Suite struct StoredFileTests {
    /// A keyring with one data key at `dir/keyring`, its master key file, and a registry
    /// that knows it.
    static func keyring(in dir: TempDir) throws -> (registry: KeyringRegistry, keys: UnlockedKeyring, keyFile: String) {
        let keyFile = dir.file("master.key")
        try EncryptionKeyFile.create(keyFile, material: .random())
        let master = try EncryptionKeyFile.read(keyFile)
        var keyring = Keyring()
        _ = try keyring.addDataKey(under: master, file: dir.file("keyring"))
        try keyring.write(dir.file("keyring"))
        let registry = KeyringRegistry()
        registry.register(keyring: dir.file("keyring"), rememberedKeyFile: keyFile)
        return (registry, try registry.unlocked(keyring: dir.file("keyring")), keyFile)
    }

    static func write(_ bytes: [UInt8], to path: String, keys: UnlockedKeyring?) throws -> StoredFileWriter {
        let w = try StoredFileWriter(path: path, keys: keys)
        // Uneven appends across block boundaries.
        var at = 0, step = 1
        while at < bytes.count {
            let n = min(step, bytes.count - at)
            try w.append(Array(bytes[at..<(at + n)]))
            at += n
            step = step * 7 % 100_003 + 1
        }
        try w.finish()
        return w
    }

    @Test func encryptedAndPlainFilesReadBackTheSame() throws {
        let dir = TempDir()
        let (registry, keys, _) = try Self.keyring(in: dir)
        var generator = SeededGenerator.announced("StoredFileTests")
        let bytes = generator.bytes(300_000)
        let plain = try Self.write(bytes, to: dir.file("plain"), keys: nil)
        let encrypted = try Self.write(bytes, to: dir.file("encrypted"), keys: keys)
        #expect(!plain.isEncrypted && encrypted.isEncrypted)
        #expect(plain.storedSize == UInt64(bytes.count))
        #expect(encrypted.storedSize == EncryptedFileFormat.encryptedSize(ofPlaintextSize: UInt64(bytes.count)))
        #expect(try encrypted.storedHash == FileSystem.hashFile(dir.file("encrypted")), "the hash is of the bytes stored")
        for name in ["plain", "encrypted"] {
            let f = try StoredFile(path: dir.file(name), registry: registry)
            #expect(f.isEncrypted == (name == "encrypted"))
            #expect(try f.readAll() == bytes)
            var part = [UInt8](repeating: 0, count: 70_000)
            try part.withUnsafeMutableBytes { try f.readExactly(into: $0.baseAddress!, count: $0.count, at: 100_001) }
            #expect(part[...] == bytes[100_001..<170_001])
        }
    }

    @Test func anEncryptedFileNeedsItsKey() throws {
        let dir = TempDir()
        let (_, keys, _) = try Self.keyring(in: dir)
        _ = try Self.write(Array("secret".utf8), to: dir.file("f"), keys: keys)
        let error = expectCairnError { _ = try StoredFile(path: dir.file("f"), registry: KeyringRegistry()).readAll() }
        guard case let .encryptionKeyRequired(file, masterKeyID) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == dir.file("f") && masterKeyID == keys.masterKeyID.description)
    }

    @Test func aWrongKeyFileIsNamed() throws {
        let dir = TempDir()
        let (_, keys, _) = try Self.keyring(in: dir)
        _ = try Self.write(Array("secret".utf8), to: dir.file("f"), keys: keys)
        let other = dir.file("other.key")
        try EncryptionKeyFile.create(other, material: .random())
        let registry = KeyringRegistry()
        registry.register(keyring: dir.file("keyring"))
        registry.useKeyFile(other)
        let error = expectCairnError { _ = try StoredFile(path: dir.file("f"), registry: registry).readAll() }
        guard case let .wrongEncryptionKey(_, expected, keyFile, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(expected == keys.masterKeyID.description && keyFile == other)
    }

    @Test func encryptedPageMapsRoundTrip() throws {
        let dir = TempDir()
        let (_, keys, _) = try Self.keyring(in: dir)
        KeyringRegistry.shared.register(keyring: dir.file("keyring"), rememberedKeyFile: dir.file("master.key"))
        var map = PageMap(pageSize: 4096)
        for i in 0..<1000 { map.append(UInt64(i) &* 0x9E37_79B9_7F4A_7C15) }
        try map.write(to: dir.file("pagemap"), scn: 42, incarnation: 1, keys: keys)
        let raw = try FileSystem.readAll(dir.file("pagemap"))
        #expect(Array(raw.prefix(8)) == EncryptedFileFormat.magic)
        let hash = StreamingHash()
        let (read, scn, _) = try PageMap.read(dir.file("pagemap"), fileHash: hash)
        #expect(scn == 42 && read.pageCount == 1000 && read.state == map.state)
        #expect(hash.value == (try FileSystem.hashFile(dir.file("pagemap"))))
    }
}
