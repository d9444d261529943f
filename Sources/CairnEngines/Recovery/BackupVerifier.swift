import Foundation
import Synchronization
import CairnFormats
import CairnCatalog

/// Checks of a backup's files: the quick transfer check (count, sizes and whole-file
/// checksums against the manifest) run after every write, before a backup is recorded.
package enum BackupVerifier {
    /// Re-reads the directory: the number of data files, each one's size and XXH3 must
    /// match the manifest. Names the first file that differs.
    /// Files named in `reread` were already re-read and checked after they were written;
    /// only their presence and size are checked again.
    package static func checkTransfer(directory: String, manifest: BackupManifest, reread: Set<String> = []) throws(EngineError) {
        let present = FileSystem.list(directory).filter { $0 != BackupManifest.fileName && !$0.hasPrefix(".") }
        let expected = manifest.files + (manifest.pageMap.map { [$0] } ?? [])
        for f in expected where !present.contains(f.name) {
            throw .missingFile(path: directory + "/" + f.name, detail: "listed in the manifest of backup \(manifest.backupId) but not in the repository")
        }
        if present.count != expected.count {
            let extra = present.filter { name in !expected.contains { $0.name == name } }
            throw .corrupt(file: directory, offset: nil,
                           detail: "the backup directory holds \(present.count) files but the manifest lists \(expected.count) (unexpected: \(extra.joined(separator: ", ")))")
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        for f in expected {
            let path = directory + "/" + f.name
            let file = try RawFile(path: path, mode: .read)
            let size = try file.size()
            if size != f.bytes {
                if size < f.bytes { throw .truncated(file: path, expected: f.bytes, actual: size) }
                throw .corrupt(file: path, offset: f.bytes, detail: "the file is \(size) bytes but the manifest records \(f.bytes)")
            }
            if reread.contains(f.name) { continue }
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

/// Re-reads files on a thread of its own as soon as they are finished, checking size and
/// XXH3, so verification overlaps the writing of the next file.
final class TransferVerifier: Sendable {
    private let queue = DispatchQueue(label: "cairn.transfer-verifier")
    private let group = DispatchGroup()
    private let outcome = Mutex(Outcome())

    private struct Outcome {
        var verified: Set<String> = []
        var failure: EngineError?
    }

    func submit(path: String, bytes: UInt64, xxh3: String) {
        group.enter()
        queue.async { [self] in
            defer { group.leave() }
            do throws(EngineError) {
                guard let size = FileSystem.fileSize(path), size == bytes else {
                    throw .truncated(file: path, expected: bytes, actual: FileSystem.fileSize(path) ?? 0)
                }
                let h = Hash.hex(try FileSystem.hashFile(path))
                guard h == xxh3 else { throw .corrupt(file: path, offset: nil, detail: "re-read checksum \(h) differs from the written \(xxh3)") }
                let name = (path as NSString).lastPathComponent
                outcome.withLock { _ = $0.verified.insert(name) }
            } catch {
                outcome.withLock { if $0.failure == nil { $0.failure = error } }
            }
        }
    }

    /// Waits for every submitted file; returns the names verified, or throws the first failure.
    func finish() throws(EngineError) -> Set<String> {
        group.wait()
        let outcome = outcome.withLock { $0 }
        if let failure = outcome.failure { throw failure }
        return outcome.verified
    }
}
