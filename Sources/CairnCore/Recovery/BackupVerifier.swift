import Foundation

/// Checks of a backup's files: the quick transfer check (count, sizes and whole-file
/// checksums against the manifest) run after every write, before a backup is recorded.
public enum BackupVerifier {
    /// Re-reads the directory: the number of data files, each one's size and XXH3 must
    /// match the manifest. Names the first file that differs.
    public static func checkTransfer(directory: String, manifest: BackupManifest) throws(CairnError) {
        let present = FileSystem.list(directory).filter { $0 != BackupManifest.fileName && !$0.hasPrefix(".") }
        for f in manifest.files where !present.contains(f.name) {
            throw .missingFile(path: directory + "/" + f.name, detail: "listed in the manifest of backup \(manifest.backupId) but not in the repository")
        }
        if present.count != manifest.files.count {
            let extra = present.filter { name in !manifest.files.contains { $0.name == name } }
            throw .corrupt(file: directory, offset: nil,
                           detail: "the backup directory holds \(present.count) files but the manifest lists \(manifest.files.count) (unexpected: \(extra.joined(separator: ", ")))")
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        for f in manifest.files {
            let path = directory + "/" + f.name
            let file = try RawFile(path: path, mode: .read)
            let size = try file.size()
            if size != f.bytes {
                if size < f.bytes { throw .truncated(file: path, expected: f.bytes, actual: size) }
                throw .corrupt(file: path, offset: f.bytes, detail: "the file is \(size) bytes but the manifest records \(f.bytes)")
            }
            file.adviseSequential()
            let hash = StreamingHash()
            var off: UInt64 = 0
            while off < size {
                let n = try file.read(into: buffer, count: Int(min(UInt64(1 << 20), size - off)), at: off)
                if n == 0 { throw .truncated(file: path, expected: size, actual: off) }
                hash.update(buffer, n)
                off += UInt64(n)
            }
            if Hash.hex(hash.value) != f.xxh3 {
                throw .corrupt(file: path, offset: nil, detail: "file checksum \(Hash.hex(hash.value)) differs from the manifest's \(f.xxh3)")
            }
        }
    }
}
