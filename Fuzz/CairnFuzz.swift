// libFuzzer target for every on-disk format Cairn parses. Built by scripts/fuzz.sh
// (swiftc -sanitize=fuzzer); the first input byte picks the parser, the rest is the file.
@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import Foundation

private let scratch = NSTemporaryDirectory() + "cairn-fuzz-\(getpid())"

private func asFile(_ bytes: UnsafeRawBufferPointer) -> String {
    try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    let path = scratch + "/input"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

/// Reads `body` as piece 1 of a backup whose manifest agrees with the piece's own header
/// and size (so decoding reaches the blocks, the decompressor and the page checks).
private func readPiece(_ body: UnsafeRawBufferPointer) {
    guard body.count >= BackupPieceFormat.headerSize,
          let h = try? BackupPieceFormat.decodeHeader(body.baseAddress!, file: "fuzz"),
          [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536].contains(Int(h.pageSize)) else { return }
    let dir = scratch + "/backup"
    try? FileManager.default.removeItem(atPath: dir)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/piece-0001.cbp", contents: Data(body))
    let hash = Hash.hex(Hash.xxh3(body.baseAddress!, body.count))
    let pageSize = Int(h.pageSize)
    let manifest = BackupManifest(dbid: String(h.dbid), backupId: h.backupSet, kind: .backupSet, level: 0, incarnation: 1, scn: 0,
                                  pageSize: pageSize, pageCount: 16, stateChecksum: "0", compression: "zstd", compressionLevel: 1,
                                  blockPages: max(1, (1 << 20) / pageSize),
                                  files: [.init(name: "piece-0001.cbp", bytes: UInt64(body.count), xxh3: hash, pages: 16, firstPage: 1, lastPage: 16)],
                                  tag: nil, databaseName: "fuzz", startedAt: Date(), completedAt: Date(), release: "fuzz")
    var reader = BackupReader(directory: dir, manifest: manifest, expectedDbid: h.dbid)
    _ = try? reader.read(label: "fuzz", into: DiscardedBlocks())
}

/// Takes every verified block of a piece and keeps nothing.
struct DiscardedBlocks: BackupBlockSink {
    mutating func accept(pages: RawSpan, hashes: Span<UInt64>, pgnos: Span<UInt32>) throws(EngineError) {}
}

private let logSetReader = ArchivedLogSetReader()

/// Reads `body` as a log stored in an archived-log backup set, with a manifest entry that
/// agrees with the file's size and checksum (so decoding reaches the zstd stream decoder and
/// the checks of the decompressed log).
private func readStoredLog(_ body: UnsafeRawBufferPointer) {
    guard body.count > 0 else { return }
    let dir = scratch + "/logset"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let name = "log-i0001-s00000001.clog.zst"
    FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(body))
    let file = BackupManifest.File(name: name, bytes: UInt64(body.count), xxh3: Hash.hex(Hash.xxh3(body.baseAddress!, body.count)),
                                   pages: 0, firstPage: 0, lastPage: 0)
    let entry = BackupManifest.LogEntry(incarnation: 1, sequence: 1, lowScn: 1, highScn: 1, lowTime: nil, highTime: nil, records: 1,
                                        logBytes: 1 << 20, logXXH3: "0000000000000000", name: name)
    try? logSetReader.check(directory: dir, entry: entry, file: file)
}

/// A keyring of one data key, which is no file's: a reader gets past the header and the key
/// lookup only when that fails, and must say so, never crash.
private let fuzzKeys: UnlockedKeyring? = {
    var ring = Keyring()
    let master = MasterKey(material: KeyMaterial.random(), keyFile: "fuzz")
    guard (try? ring.addDataKey(under: master, file: "fuzz")) != nil else { return nil }
    return try? ring.unlocked(with: master, file: "fuzz")
}()

/// Reads `body` as an encrypted file: the header is parsed and the sizes checked, then a reader
/// is opened on it (its data key is not in the keyring: an error, never a crash).
private func readEncrypted(_ body: UnsafeRawBufferPointer) {
    if let h = try? EncryptedFileFormat.Header.decode(body, file: "fuzz") {
        _ = EncryptedFileFormat.plaintextSize(ofEncryptedSize: UInt64(body.count), blockSize: h.blockSize)
    }
    guard let keys = fuzzKeys, let r = try? DecryptingReader(path: asFile(body), keys: keys) else { return }
    _ = try? r.readAll()
}

/// `CAIRN_FUZZ_ONLY=N` sends every input to parser N (used to attribute memory or speed to one parser).
private let forcedSelector: UInt8? = ProcessInfo.processInfo.environment["CAIRN_FUZZ_ONLY"].flatMap { UInt8($0) }.map { $0 % 11 }

@_cdecl("LLVMFuzzerTestOneInput")
public func cairnFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = forcedSelector ?? data[0] % 11
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let bytes = Array(body)
    switch selector {
    case 0: // control file
        if let doc = try? CheckedDocument.decode(bytes, kind: "control", maxVersion: 1, file: "fuzz") {
            _ = try? doc.decodeBody(ControlFile.self, file: "fuzz")
        }
    case 1: // manifest
        if let doc = try? CheckedDocument.decode(bytes, kind: BackupManifest.kind, maxVersion: 1, file: "fuzz") {
            _ = try? doc.decodeBody(BackupManifest.self, file: "fuzz")
        }
    case 2: // a whole backup piece, read block by block as a restore would
        if body.count >= BackupPieceFormat.headerSize {
            _ = try? BackupPieceFormat.decodeHeader(body.baseAddress!, file: "fuzz")
        }
        if body.count >= BackupPieceFormat.trailerSize {
            _ = try? BackupPieceFormat.decodeTrailer(body.baseAddress! + (body.count - BackupPieceFormat.trailerSize), file: "fuzz", offset: 0)
        }
        readPiece(body)
    case 3: // redo log, read to the end both ways
        let path = asFile(body)
        for strict in [false, true] {
            if let r = try? RedoLogReader(path: path) {
                while (try? r.next(strict: strict, pages: { _, _ in })) != nil {}
            }
            if let r = try? RedoLogReader(path: path) {
                while (try? r.next(strict: strict, hashes: { _, _, _ in })) != nil {}
            }
            // Changes applied to a database of zero pages (they fail their hash check, never crash).
            if let r = try? RedoLogReader(path: path) {
                let zeros = RedoLogReader.PageBase.target(read: { (_: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
                    into.initializeMemory(as: UInt8.self, repeating: 0, count: Int(r.header.pageSize))
                })
                while (try? r.next(strict: strict, base: zeros, pages: { _, _ in })) != nil {}
            }
        }
    case 4: // page map
        _ = try? PageMap.read(asFile(body))
    case 5: // WAL header and frames
        if body.count >= WALFile.headerSize { _ = WALFile.parseHeader(body.baseAddress!) }
        _ = try? WALFile.scan(path: asFile(body))
    case 7: // a log stored in an archived-log backup set (one zstd frame)
        readStoredLog(body)
    case 8: // keyring (wrapped data keys)
        _ = try? Keyring.decode(bytes, file: "fuzz")
    case 9: // encrypted file: its header, its sizes, and its blocks read with a key that cannot open them
        readEncrypted(body)
    case 10: // snapshot file header (plain text)
        _ = try? SnapshotHeader.decode(bytes, file: "fuzz")
    default: // SQLite database header
        if body.count > 0 { _ = try? DatabaseHeader(bytes: body.baseAddress!, count: body.count, file: "fuzz") }
    }
    return 0
}
