import CairnFormats
import Crypto
import Foundation

/// Encryption throughput: a buffer through `EncryptingWriter` (alone, and into a file) and
/// back through `DecryptingReader`, beside plain file writes and reads of the same bytes
/// (files on /dev/shm when there is one, so the disk is not measured); random 4 KiB reads;
/// and the two AEADs swift-crypto offers on the same blocks (the choice of cipher).
struct EncryptionBench {
    static let chunk = 1 << 20
    static let rounds = 5

    let total: Int
    let plaintext: UnsafeMutableRawBufferPointer
    let keys: UnlockedKeyring
    let dir: String

    init(mebibytes: Int) throws {
        total = mebibytes << 20
        plaintext = .allocate(byteCount: total, alignment: 4096)
        var state: UInt64 = 1
        for i in stride(from: 0, to: total, by: 8) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            plaintext.storeBytes(of: state ^ (state >> 29), toByteOffset: i, as: UInt64.self)
        }
        let master = MasterKey(material: .random(), keyFile: "(benchmark key)")
        var keyring = Keyring()
        _ = try keyring.addDataKey(under: master, file: "(benchmark keyring)")
        keys = try keyring.unlocked(with: master, file: "(benchmark keyring)")
        let base = FileSystem.isDirectory("/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        dir = base + "/cairn-microbench-\(getpid())"
        try FileSystem.makeDirectories(dir)
    }

    /// Discards what it is given (the cipher alone, no I/O).
    struct NullSink: ByteSink {
        var count = 0
        mutating func append(_ p: UnsafeRawPointer, _ count: Int) throws(EngineError) { self.count += count }
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<rounds {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    func report(_ what: String, _ seconds: Double, bytes: Int? = nil) {
        let rate = Double(bytes ?? total) / seconds / 1e6
        print(what.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%7.0f MB/s  (%.3f s, best of %d)", rate, seconds, Self.rounds))
    }

    func run() throws {
        defer {
            FileSystem.removeTree(dir)
            plaintext.deallocate()
        }
        print("Encryption, \(total >> 20) MiB in \(Self.chunk >> 20) MiB writes and reads, \(EncryptedFileFormat.defaultBlockSize >> 10) KiB blocks, files in \(dir):")
        let plainPath = dir + "/plain", encryptedPath = dir + "/encrypted"
        let encryptOnly = try Self.seconds {
            let writer = try EncryptingWriter(sink: NullSink(), path: "(null)", keys: keys)
            try feed(writer)
            try writer.finish()
        }
        report("encrypt (AES-256-GCM, no I/O)", encryptOnly)
        let plainWrite = try Self.seconds { try writePlain(plainPath) }
        report("write plaintext file (baseline)", plainWrite)
        let encryptedWrite = try Self.seconds {
            FileSystem.removeFile(encryptedPath)
            let writer = try EncryptingWriter(sink: FileAppender(file: try RawFile(path: encryptedPath, mode: .createNew)), path: encryptedPath, keys: keys)
            try feed(writer)
            try writer.finish()
        }
        report("encrypt and write file", encryptedWrite)
        let plainRead = try Self.seconds { try readPlain(plainPath) }
        report("read plaintext file (baseline)", plainRead)
        let decrypt = try Self.seconds { try readDecrypting(encryptedPath) }
        report("read and decrypt file", decrypt)
        report("read and decrypt, blocks (readBlocks)", try Self.seconds { try readBlocks(encryptedPath) })
        try check(encryptedPath)
        try randomReads(encryptedPath)
        print(String(format: "time added to plain file I/O: write %+.0f %%, read %+.0f %%", (encryptedWrite / plainWrite - 1) * 100, (decrypt / plainRead - 1) * 100))
        try compareAEADs()
    }

    func feed(_ writer: EncryptingWriter<some ByteSink>) throws {
        for at in stride(from: 0, to: total, by: Self.chunk) {
            try writer.write(UnsafeRawBufferPointer(rebasing: plaintext[at..<min(total, at + Self.chunk)]))
        }
    }

    func writePlain(_ path: String) throws {
        FileSystem.removeFile(path)
        let appender = FileAppender(file: try RawFile(path: path, mode: .createNew))
        for at in stride(from: 0, to: total, by: Self.chunk) {
            try appender.append(UnsafeRawPointer(plaintext.baseAddress!) + at, min(Self.chunk, total - at))
        }
    }

    func readPlain(_ path: String) throws {
        let file = try RawFile(path: path, mode: .read)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var at: UInt64 = 0
        while case let n = try file.read(into: buffer, count: Self.chunk, at: at), n > 0 { at += UInt64(n) }
    }

    func readDecrypting(_ path: String) throws {
        let reader = try DecryptingReader(path: path, keys: keys)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunk, alignment: 4096)
        defer { buffer.deallocate() }
        while try reader.read(into: buffer) > 0 {}
    }

    /// Reads block by block without copying out (`readBlocks`).
    func readBlocks(_ path: String) throws {
        let reader = try DecryptingReader(path: path, keys: keys)
        var bytes = 0
        try reader.readBlocks { (b) throws(EngineError) in bytes += b.count }
        guard bytes == total else { throw EngineError.verificationFailed(file: path, detail: "read \(bytes) bytes of \(total)") }
    }

    /// Checks that the file decrypts to the plaintext (outside the timings).
    func check(_ path: String) throws {
        let reader = try DecryptingReader(path: path, keys: keys)
        var at = 0
        try reader.readBlocks { (b) throws(EngineError) in
            guard memcmp(b.baseAddress!, plaintext.baseAddress! + at, b.count) == 0 else {
                throw EngineError.verificationFailed(file: path, detail: "decrypted bytes differ at \(at)")
            }
            at += b.count
        }
        guard at == total else { throw EngineError.verificationFailed(file: path, detail: "decrypted \(at) bytes of \(total)") }
    }

    func randomReads(_ path: String) throws {
        let reader = try DecryptingReader(path: path, keys: keys)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { buffer.deallocate() }
        var state: UInt64 = 2
        let count = 20_000
        let seconds = try Self.seconds {
            for _ in 0..<count {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                _ = try reader.read(into: buffer, at: (state >> 11) % UInt64(total - 4096))
            }
        }
        print("random 4 KiB reads (a 64 KiB block each)".padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%7.0f reads/s", Double(count) / seconds))
    }

    func compareAEADs() throws {
        let block = EncryptedFileFormat.defaultBlockSize
        let bytes = min(total, 64 << 20)
        let key = SymmetricKey(size: .bits256)
        let ad = [UInt8](repeating: 1, count: 105)
        let nonce = [UInt8](repeating: 0, count: 12)
        print("AEADs through swift-crypto, \(block >> 10) KiB blocks, \(bytes >> 20) MiB:")
        let blocks = stride(from: 0, to: bytes, by: block).map { UnsafeRawBufferPointer(rebasing: plaintext[$0..<min(bytes, $0 + block)]) }
        let gcmNonce = try AES.GCM.Nonce(data: nonce), chachaNonce = try ChaChaPoly.Nonce(data: nonce)
        report("AES-256-GCM seal", try Self.seconds { for b in blocks { _ = try AES.GCM.seal(b, using: key, nonce: gcmNonce, authenticating: ad) } }, bytes: bytes)
        let gcm = try blocks.map { try AES.GCM.seal($0, using: key, nonce: gcmNonce, authenticating: ad) }
        report("AES-256-GCM open", try Self.seconds { for box in gcm { _ = try AES.GCM.open(box, using: key, authenticating: ad) } }, bytes: bytes)
        report("ChaCha20-Poly1305 seal", try Self.seconds { for b in blocks { _ = try ChaChaPoly.seal(b, using: key, nonce: chachaNonce, authenticating: ad) } }, bytes: bytes)
        let chacha = try blocks.map { try ChaChaPoly.seal($0, using: key, nonce: chachaNonce, authenticating: ad) }
        report("ChaCha20-Poly1305 open", try Self.seconds { for box in chacha { _ = try ChaChaPoly.open(box, using: key, authenticating: ad) } }, bytes: bytes)
    }
}
