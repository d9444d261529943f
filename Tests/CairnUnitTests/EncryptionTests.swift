@testable import CairnFormats
import CairnTestSupport
import Foundation
import Testing

/// The encrypted file format: round trips at every size that matters, random access, sizes
/// without decrypting, and every kind of tampering detected with the file and block named.
@Suite struct EncryptionTests {
    static let block = EncryptionFixture.block
    static let header = EncryptedFileFormat.headerSize
    static let stored = block + EncryptedFileFormat.tagSize

    @Test(arguments: [0, 1, block - 1, block, block + 1, 2 * block, 3 * block + 7, (5 << 20) + 123])
    func roundTrips(size: Int) throws {
        let fixture = try EncryptionFixture()
        var random = SeededGenerator.announced("roundTrips(\(size))")
        let plaintext = random.bytes(size)
        let whole = try fixture.encrypt(plaintext)
        #expect(UInt64(whole.count) == EncryptedFileFormat.encryptedSize(ofPlaintextSize: UInt64(size)))
        #expect(EncryptedFileFormat.plaintextSize(ofEncryptedSize: UInt64(whole.count)) == UInt64(size))
        #expect(try fixture.decrypt(try fixture.store(whole, as: "whole")) == plaintext)
        // The same bytes written in uneven pieces (smaller and larger than a block).
        let pieces = try fixture.encrypt(plaintext) { rest in Int.random(in: 1...max(1, min(rest, 3 * Self.block)), using: &random) }
        #expect(pieces.count == whole.count)
        #expect(try fixture.decrypt(try fixture.store(pieces, as: "pieces")) == plaintext)
        #expect(pieces != whole, "each file has its own salt")
    }

    @Test func writesThroughSequentialWriterAndFileAppender() throws {
        let fixture = try EncryptionFixture()
        var random = SeededGenerator.announced("writesThroughSequentialWriterAndFileAppender")
        let plaintext = random.bytes(3 * Self.block + 999)
        let sequentialPath = fixture.dir.file("sequential")
        let sequential = try SequentialWriter(path: sequentialPath)
        let writer = try EncryptingWriter(sink: sequential, path: sequentialPath, keys: fixture.keys)
        try writer.write(plaintext)
        let size = try writer.finish()
        try sequential.finish()
        #expect(FileSystem.fileSize(sequentialPath) == size)
        #expect(try fixture.decrypt(sequentialPath) == plaintext)

        let appenderPath = fixture.dir.file("appender")
        let appender = FileAppender(file: try RawFile(path: appenderPath, mode: .createNew))
        let second = try EncryptingWriter(sink: appender, path: appenderPath, keys: fixture.keys)
        try second.write(plaintext.span.bytes)
        try second.finish()
        #expect(try fixture.decrypt(appenderPath) == plaintext)
    }

    @Test func sizesConvertBothWays() {
        let b = 1024
        for p in UInt64(0)..<UInt64(6 * b) {
            let e = EncryptedFileFormat.encryptedSize(ofPlaintextSize: p, blockSize: b)
            #expect(EncryptedFileFormat.plaintextSize(ofEncryptedSize: e, blockSize: b) == p)
        }
        var valid = 0
        for e in UInt64(0)..<UInt64(7 * (b + 16) + 200) {
            guard let p = EncryptedFileFormat.plaintextSize(ofEncryptedSize: e, blockSize: b) else { continue }
            valid += 1
            #expect(EncryptedFileFormat.encryptedSize(ofPlaintextSize: p, blockSize: b) == e)
        }
        #expect(valid > 6 * b)
        #expect(EncryptedFileFormat.plaintextSize(ofEncryptedSize: UInt64(Self.header + 15)) == nil)
        #expect(EncryptedFileFormat.plaintextSize(ofEncryptedSize: UInt64(Self.header + Self.stored + 16)) == nil, "an empty block after a full one")
        #expect(EncryptedFileFormat.encryptedSize(ofPlaintextSize: 0) == UInt64(Self.header + 16))
        #expect(EncryptedFileFormat.encryptedSize(ofPlaintextSize: UInt64(256 << 20)) == UInt64(Self.header + (256 << 20) + 16 * 4096))
    }

    @Test func readsAtRandomOffsetsAndInSequence() throws {
        let fixture = try EncryptionFixture()
        var random = SeededGenerator.announced("readsAtRandomOffsetsAndInSequence")
        let plaintext = random.bytes((3 << 20) + 17)
        let path = try fixture.store(try fixture.encrypt(plaintext), as: "file")
        let reader = try DecryptingReader(path: path, keys: fixture.keys)
        #expect(reader.plaintextSize == UInt64(plaintext.count))
        var buffer = [UInt8](repeating: 0, count: 3 * Self.block)
        for _ in 0..<300 {
            let offset = Int.random(in: 0..<(plaintext.count + 10), using: &random)
            let length = Int.random(in: 0...buffer.count, using: &random)
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: $0.prefix(length)), at: UInt64(offset)) }
            let expected = offset < plaintext.count ? plaintext[offset..<min(plaintext.count, offset + length)] : []
            #expect(n == expected.count, "offset \(offset) length \(length)")
            #expect(buffer[0..<n] == expected, "offset \(offset) length \(length)")
        }
        var sequential: [UInt8] = []
        reader.position = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: $0.prefix(10_007))) }
            if n == 0 { break }
            sequential += buffer[0..<n]
        }
        #expect(sequential == plaintext)
        var blocks: [UInt8] = []
        reader.position = UInt64(Self.block + 5)
        try reader.readBlocks { (b) throws(EngineError) in blocks += b }
        #expect(blocks == Array(plaintext[(Self.block + 5)...]) && reader.position == reader.plaintextSize)
    }

    @Test func readsOnlyTheBlocksARangeNeeds() throws {
        let fixture = try EncryptionFixture()
        var random = SeededGenerator.announced("readsOnlyTheBlocksARangeNeeds")
        let plaintext = random.bytes(8 * Self.block)
        var bytes = try fixture.encrypt(plaintext)
        bytes[Self.header + 5 * Self.stored + 100] ^= 0x01 // damage block 5 only
        let reader = try DecryptingReader(path: try fixture.store(bytes, as: "file"), keys: fixture.keys)
        var buffer = [UInt8](repeating: 0, count: 2 * Self.block)
        let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0, at: UInt64(3 * Self.block)) }
        #expect(buffer[0..<n] == plaintext[(3 * Self.block)..<(5 * Self.block)], "blocks 3 and 4 read without touching block 5")
        let error = expectCairnError { _ = try buffer.withUnsafeMutableBytes { try reader.read(into: $0, at: UInt64(5 * Self.block - 1)) } }
        #expect(error?.description.contains("block 5 of 8") == true, "\(String(describing: error))")
    }

    // MARK: - Tampering

    /// Opens and authenticates every block of `bytes`; returns the error (nil if none).
    static func damage(_ bytes: [UInt8], _ fixture: EncryptionFixture, name: String = "tampered") throws -> EngineError? {
        let path = try fixture.store(bytes, as: name)
        do {
            _ = try fixture.decrypt(path)
            return nil
        } catch let error as EngineError {
            #expect(error.description.contains(path), "the error names the file: \(error)")
            switch error {
            case .corrupt, .truncated, .unsupportedFormat: break
            default: Issue.record("unexpected error \(error)")
            }
            return error
        }
    }

    @Test func everyFlippedByteIsDetected() throws {
        let fixture = try EncryptionFixture()
        var random = SeededGenerator.announced("everyFlippedByteIsDetected")
        let bytes = try fixture.encrypt(random.bytes(3 * Self.block + 500))
        let fixed = [0, 8, 20, 24, 32, 40, 71, 88, 95, Self.header, Self.header + Self.block, Self.header + Self.stored, bytes.count - 1]
        for trial in 0..<(fixed.count + 150) {
            let position = trial < fixed.count ? fixed[trial] : Int.random(in: 0..<bytes.count, using: &random)
            var bad = bytes
            bad[position] ^= UInt8.random(in: 1...255, using: &random)
            let error = try Self.damage(bad, fixture)
            #expect(error != nil, "a changed byte at \(position) went unnoticed (see the seed above)")
        }
    }

    @Test func blockErrorsNameTheBlockAndItsOffset() throws {
        let fixture = try EncryptionFixture()
        var bytes = try fixture.encrypt([UInt8](repeating: 7, count: 4 * Self.block))
        bytes[Self.header + 2 * Self.stored + 9] ^= 0x80
        let error = try Self.damage(bytes, fixture)
        guard case .corrupt(_, let offset, let detail)? = error else { Issue.record("expected corrupt, got \(String(describing: error))"); return }
        #expect(offset == UInt64(Self.header + 2 * Self.stored))
        #expect(detail.contains("block 2 of 4") && detail.contains("failed authentication"))
    }

    @Test func truncationAtABlockBoundaryIsDetected() throws {
        let fixture = try EncryptionFixture()
        for size in [4 * Self.block, 4 * Self.block + 300] {
            let bytes = try fixture.encrypt([UInt8](repeating: 1, count: size))
            for blocks in [1, 2, 3] {
                let cut = Array(bytes.prefix(Self.header + blocks * Self.stored))
                let error = try Self.damage(cut, fixture)
                #expect(error?.description.contains("cut at a block boundary") == true, "\(size) cut to \(blocks) blocks: \(String(describing: error))")
            }
            let headerOnly = try Self.damage(Array(bytes.prefix(Self.header)), fixture)
            #expect(headerOnly != nil)
            let nothing = try Self.damage(Array(bytes.prefix(40)), fixture)
            #expect(nothing != nil)
        }
    }

    @Test func truncationInsideABlockIsDetected() throws {
        let fixture = try EncryptionFixture()
        let bytes = try fixture.encrypt([UInt8](repeating: 2, count: 4 * Self.block))
        for extra in [1, 5, 16, 17, 100, Self.block, Self.stored - 1] {
            let cut = Array(bytes.prefix(Self.header + 2 * Self.stored + extra))
            #expect(try Self.damage(cut, fixture) != nil, "cut \(extra) bytes into block 2")
        }
        var longer = bytes
        longer += [0, 0, 0]
        #expect(try Self.damage(longer, fixture) != nil, "bytes added at the end")
    }

    @Test func swappedBlocksAreDetected() throws {
        let fixture = try EncryptionFixture()
        var random = SeededGenerator.announced("swappedBlocksAreDetected")
        let bytes = try fixture.encrypt(random.bytes(4 * Self.block))
        for (a, b) in [(0, 1), (1, 2), (0, 3), (2, 3)] {
            var swapped = bytes
            let ra = (Self.header + a * Self.stored)..<(Self.header + (a + 1) * Self.stored)
            let rb = (Self.header + b * Self.stored)..<(Self.header + (b + 1) * Self.stored)
            swapped.replaceSubrange(ra, with: bytes[rb])
            swapped.replaceSubrange(rb, with: bytes[ra])
            let error = try Self.damage(swapped, fixture)
            #expect(error?.description.contains("block \(a) of 4") == true, "blocks \(a) and \(b) swapped: \(String(describing: error))")
        }
    }

    @Test func blocksFromAnotherFileWithTheSameKeyAreDetected() throws {
        let fixture = try EncryptionFixture()
        var random = SeededGenerator.announced("blocksFromAnotherFileWithTheSameKeyAreDetected")
        let plaintext = random.bytes(3 * Self.block + 10)
        let one = try fixture.encrypt(plaintext)
        let other = try fixture.encrypt(plaintext) // same key, same plaintext, same size
        #expect(one.count == other.count && one != other)
        for block in [0, 1, 3] {
            let range = (Self.header + block * Self.stored)..<min(one.count, Self.header + (block + 1) * Self.stored)
            var spliced = one
            spliced.replaceSubrange(range, with: other[range])
            let error = try Self.damage(spliced, fixture)
            #expect(error?.description.contains("block \(block) of 4") == true, "block \(block) from another file: \(String(describing: error))")
        }
        var headerSwapped = one
        headerSwapped.replaceSubrange(0..<Self.header, with: other[0..<Self.header])
        #expect(try Self.damage(headerSwapped, fixture) != nil, "another file's header")
    }

    @Test func noPlaintextAppearsInTheEncryptedBytes() throws {
        let fixture = try EncryptionFixture()
        var random = SeededGenerator.announced("noPlaintextAppearsInTheEncryptedBytes")
        let marker = Array("CAIRN-SECRET-MARKER-7Q2X".utf8)
        var plaintext: [UInt8] = []
        for _ in 0..<40_000 {
            plaintext += marker
            plaintext += random.bytes(Int.random(in: 0...8, using: &random))
        }
        let bytes = try fixture.encrypt(plaintext)
        #expect(!bytes.contains(subsequence: Array(marker.prefix(12))))
        #expect(!bytes.contains(subsequence: Array(marker.suffix(12))))
        let key = fixture.keys.newest?.material.withUnsafeBytes { Array($0) } ?? []
        #expect(!bytes.contains(subsequence: Array(key.prefix(8))), "the data key is not in the file")
        #expect(try fixture.decrypt(try fixture.store(bytes, as: "marker")) == plaintext)
    }

    @Test func aFileNeedsItsOwnDataKey() throws {
        let fixture = try EncryptionFixture()
        let other = try EncryptionFixture()
        let path = try fixture.store(try fixture.encrypt(Array("hello".utf8)), as: "file")
        let error = expectCairnError { _ = try other.decrypt(path) }
        guard case .dataKeyMissing(let file, let keyID, let keyring)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == path && keyID == fixture.keys.newest?.id.description && keyring == other.keys.file)
    }

    @Test func headerRejectsWhatItCannotRead() throws {
        let fixture = try EncryptionFixture()
        let bytes = try fixture.encrypt([1, 2, 3])
        var newer = bytes
        newer.withUnsafeMutableBytes { b in
            LE.put32(FormatVersion.encryptedFile + 1, b.baseAddress!, 8)
            Seal.close(b.baseAddress!, at: 88)
        }
        let error = try Self.damage(newer, fixture)
        guard case .unsupportedFormat(_, let found, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(found == Int(FormatVersion.encryptedFile) + 1)
    }
}
