import Foundation
import CairnFormats
import CairnCatalog

/// The checks of `cairn crosscheck`: are the files a record names still there, of the
/// recorded size, and readable (opened and their header read)? Not a validation: contents
/// are not hashed (`cairn validate` does that).
enum Crosscheck {
    /// Why backup `b` is not usable as recorded, or nil when its files are all there.
    static func problem(backup b: BackupRecord, root: String, dbid: UInt64) -> String? {
        let dir = root + "/" + b.directory
        guard FileSystem.isDirectory(dir) else { return "the backup directory \(dir) is gone" }
        let m: BackupManifest
        do throws(EngineError) { m = try BackupManifest.read(directory: dir) } catch { return error.description }
        guard m.backupId == b.id, m.scn == b.scn, m.stateChecksum == b.stateChecksum else {
            return "\(dir)/\(BackupManifest.fileName) describes backup \(m.backupId) at SCN \(m.scn), not backup \(b.id) at SCN \(b.scn)"
        }
        for f in m.files + (m.pageMap.map { [$0] } ?? []) {
            let path = dir + "/" + f.name
            guard let size = FileSystem.fileSize(path) else { return "\(path) is gone" }
            guard size == f.bytes else { return "\(path) is \(size) bytes, the manifest records \(f.bytes)" }
            if let p = header(path, backup: b, kind: m.kind, dbid: dbid) { return p }
        }
        return nil
    }

    /// Opens `path` and reads its header; for backup pieces and image copies the header is
    /// decoded and must belong to this database and backup.
    static func header(_ path: String, backup b: BackupRecord, kind: BackupRecord.Kind, dbid: UInt64) -> String? {
        let count = 100
        let buf = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 8)
        defer { buf.deallocate() }
        do throws(EngineError) {
            let f = try StoredFile(path: path)
            let n = try f.read(into: buf, count: count, at: 0)
            if kind == .backupSet && path.hasSuffix(".cbp") {
                guard n >= BackupPieceFormat.headerSize else {
                    return "\(path) is too short for a backup piece header (\(n) bytes)"
                }
                let h = try BackupPieceFormat.decodeHeader(buf, file: path)
                if h.dbid != dbid || h.backupSet != b.id {
                    return "\(path) belongs to backup \(h.backupSet) of DBID \(h.dbid), not backup \(b.id) of DBID \(dbid)"
                }
            } else if kind == .imageCopy && path.hasSuffix("/" + ImageCopy.fileName) {
                _ = try DatabaseHeader(bytes: UnsafeRawPointer(buf), count: n, file: path)
            }
        } catch {
            // Encrypted, and no usable key here: the file is present; its header is checked when read with the key.
            if error.isEncryptionKeyProblem { return nil }
            return error.description
        }
        return nil
    }

    /// Why the copy of `log` in `destination` is not usable, or nil when it is there with
    /// the recorded size. Throws when the destination cannot be asked (object storage out of reach).
    static func problem(log l: LogRecord, destination: String) throws(EngineError) -> String? {
        let d = Archiver.destination(destination)
        guard let size = try d.checkedSize(of: l.fileName) else { return "\(destination)/\(l.fileName) is gone" }
        if size != l.bytes { return "\(destination)/\(l.fileName) is \(size) bytes, the log is \(l.bytes)" }
        return nil
    }
}
