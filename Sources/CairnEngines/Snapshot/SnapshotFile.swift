import Foundation
import CairnFormats
import CairnCatalog

/// A snapshot file opened for reading: its header checked first (what it is, then its format
/// and release: a newer one is refused before anything else is read), then the manifest
/// against the header's checksum, then (when encrypted) the keyring it carries unlocked with
/// the master key given (`--encryption-key-file`, `CAIRN_ENCRYPTION_KEY_FILE`). Its pages are
/// read and verified as a backup's are (`BackupReader`): piece header, every block's checksum,
/// every page's hash, the trailer, the piece's XXH3, page coverage and the state checksum.
struct SnapshotFile {
    let path: String
    let header: SnapshotHeader
    let manifest: BackupManifest
    let file: RawFile
    let keys: UnlockedKeyring?

    /// `rememberedKeyFile`: the key file of the repository the snapshot is in, used when no
    /// key file is given.
    init(path: String, registry: KeyringRegistry = .shared, rememberedKeyFile: String? = nil) throws(EngineError) {
        self.path = path
        guard FileSystem.exists(path) else { throw .missingFile(path: path, detail: "no snapshot file there") }
        let file = try RawFile(path: path, mode: .read)
        self.file = file
        let size = try file.size()
        guard size >= UInt64(SnapshotHeader.size) else {
            throw .truncated(file: path, expected: UInt64(SnapshotHeader.size), actual: size)
        }
        var bytes = [UInt8](repeating: 0, count: SnapshotHeader.size)
        try bytes.withMutableBytes { (p, n) throws(EngineError) in try file.readExactly(into: p, count: n, at: 0) }
        let header = try SnapshotHeader.decode(bytes, file: path)
        self.header = header
        let end = header.manifest.offset + header.manifest.length
        guard header.piece.offset >= UInt64(SnapshotHeader.size), header.manifest.offset == header.piece.offset + header.piece.length,
              header.manifest.length > 0, header.manifest.length < 64 << 20 else {
            throw .corrupt(file: path, offset: 0, detail: "the snapshot header describes impossible regions")
        }
        if size < end { throw .truncated(file: path, expected: end, actual: size) }
        if size > end { throw .corrupt(file: path, offset: end, detail: "\(size - end) bytes follow the end the header gives") }
        manifest = try Self.readManifest(file, header, path: path)
        keys = try Self.unlock(file, header, path: path, registry: registry, remembered: rememberedKeyFile)
    }

    static func readManifest(_ file: RawFile, _ h: SnapshotHeader, path: String) throws(EngineError) -> BackupManifest {
        var json = [UInt8](repeating: 0, count: Int(h.manifest.length))
        try json.withMutableBytes { (p, n) throws(EngineError) in try file.readExactly(into: p, count: n, at: h.manifest.offset) }
        guard Hash.hex(Hash.xxh3(json)) == h.manifestXXH3 else {
            throw .corrupt(file: path, offset: h.manifest.offset, detail: "the snapshot's manifest does not match the checksum its header gives")
        }
        let m = try CheckedDocument.decode(json, kind: BackupManifest.kind, maxVersion: FormatVersion.manifest, file: path)
            .decodeBody(BackupManifest.self, file: path)
        guard m.dbid == h.dbid, m.scn == h.scn, m.pageCount == h.pages, m.pageSize == h.pageSize, m.files.count == 1,
              m.files[0].bytes == h.piece.length, m.level == 0, m.kind == .backupSet else {
            throw .corrupt(file: path, offset: h.manifest.offset, detail: "the snapshot's manifest and header disagree")
        }
        return m
    }

    /// The keyring the snapshot carries, unlocked with the master key given.
    static func unlock(_ file: RawFile, _ h: SnapshotHeader, path: String, registry: KeyringRegistry,
                       remembered: String?) throws(EngineError) -> UnlockedKeyring? {
        guard h.masterKeyID != nil else { return nil }
        guard h.keyring.length > 0, h.keyring.length < 1 << 20, h.keyring.offset + h.keyring.length <= h.piece.offset else {
            throw .corrupt(file: path, offset: 0, detail: "the snapshot is encrypted but carries no keyring")
        }
        var bytes = [UInt8](repeating: 0, count: Int(h.keyring.length))
        try bytes.withMutableBytes { (p, n) throws(EngineError) in try file.readExactly(into: p, count: n, at: h.keyring.offset) }
        let keyring = try Keyring.decode(bytes, file: path)
        let master = try registry.masterKey(for: path, needing: keyring.masterKeyID, remembered: remembered)
        return try keyring.unlocked(with: master, file: path)
    }

    /// A reader of the snapshot's pages, as of a backup's.
    func reader(monitor: OperationMonitor) -> BackupReader {
        var r = BackupReader(directory: path, manifest: manifest, expectedDbid: UInt64(header.dbid) ?? 0)
        r.monitor = monitor
        let (file, region, keys, path) = (file, header.piece, keys, path)
        r.pieceOpener = { _ throws(EngineError) in
            try StoredFile(file: file, base: region.offset, size: region.length) { (h: EncryptedFileFormat.Header) throws(EngineError) in
                guard let keys else { throw .encryptionKeyRequired(file: path, masterKeyID: h.masterKeyID.description) }
                return try keys.dataKey(h.dataKeyID, for: path)
            }
        }
        return r
    }

    /// The manifest as stored in a snapshot (a checked document).
    static func encode(_ m: BackupManifest) throws(EngineError) -> [UInt8] {
        CheckedDocument.make(m, kind: BackupManifest.kind, version: FormatVersion.manifest, usn: 1).encoded()
    }
}
