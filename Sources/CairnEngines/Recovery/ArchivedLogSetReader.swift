import Foundation
import CairnFormats
import CairnCatalog

/// Reads the logs stored in an archived-log backup set (`cairn backup --archivelog`). Each log
/// is one file holding a single standard zstd frame (`zstd -d` restores it). Every read checks
/// the stored file's size and XXH3 against the manifest's file entry, decompresses it, and
/// checks the log's size and XXH3 against the manifest's log entry. Not Sendable: its buffers
/// and decompression context serve one thread.
package final class ArchivedLogSetReader {
    /// Read and decompression buffers, allocated once and reused for every file.
    static let chunk = 1 << 20
    private let input: UnsafeMutableRawPointer
    private let output: UnsafeMutableRawPointer
    private let outputCapacity: Int
    private let decompressor = ZstdStreamDecompressor()

    package init() {
        input = .allocate(byteCount: Self.chunk, alignment: 4096)
        outputCapacity = max(Self.chunk, ZstdStreamDecompressor.outputSize)
        output = .allocate(byteCount: outputCapacity, alignment: 4096)
    }

    deinit {
        input.deallocate()
        output.deallocate()
    }

    /// The name a log is stored under in a set.
    package static func storedName(_ key: LogKey) -> String {
        LogRecord.fileName(incarnation: key.incarnation, sequence: key.sequence) + ".zst"
    }

    /// The manifest's file entry for a log entry, or `corrupt` naming the manifest.
    package static func file(for entry: BackupManifest.LogEntry, in m: BackupManifest, directory: String) throws(EngineError) -> BackupManifest.File {
        guard let f = m.files.first(where: { $0.name == entry.name }) else {
            throw .corrupt(file: directory + "/" + BackupManifest.fileName, offset: nil,
                           detail: "log sequence \(entry.sequence) of incarnation \(entry.incarnation) is stored as \(entry.name), which the manifest does not list")
        }
        return f
    }

    /// Verifies one stored log; with `output`, also writes the decompressed log there (a new
    /// file, removed again if any check fails). Errors name the stored file and the log.
    package func check(directory: String, entry: BackupManifest.LogEntry, file f: BackupManifest.File, output outPath: String? = nil) throws(EngineError) {
        let path = directory + "/" + f.name
        do throws(EngineError) {
            let file = try StoredFile(path: path)
            guard let outPath else { return try read(file, entry: entry, file: f, out: nil) }
            let out = try RawFile(path: outPath, mode: .createNew)
            do throws(EngineError) { try read(file, entry: entry, file: f, out: out) } catch {
                FileSystem.removeFile(outPath)
                throw error
            }
        } catch {
            throw Self.naming(error, entry: entry)
        }
    }

    private func read(_ file: StoredFile, entry: BackupManifest.LogEntry, file f: BackupManifest.File, out: RawFile?) throws(EngineError) {
        let path = file.path
        let stored = file.storedSize, size = file.size
        if stored != f.bytes {
            if stored < f.bytes { throw .truncated(file: path, expected: f.bytes, actual: stored) }
            throw .corrupt(file: path, offset: f.bytes, detail: "the file is \(stored) bytes but the manifest records \(f.bytes)")
        }
        file.adviseSequential()
        let storedHash = StreamingHash(), logHash = StreamingHash()
        var produced: UInt64 = 0
        decompressor.begin()
        var off: UInt64 = 0
        while off < size {
            let n = try file.read(into: input, count: Int(min(UInt64(Self.chunk), size - off)), at: off)
            if n == 0 { throw .truncated(file: path, expected: size, actual: off) }
            storedHash.update(input, n)
            try decompressor.decompress(input, n, offset: off, out: output, capacity: outputCapacity, file: path) { (p: UnsafeRawPointer, count: Int) throws(EngineError) in
                guard produced + UInt64(count) <= entry.logBytes else {
                    throw .corrupt(file: path, offset: nil, detail: "decompresses to more than the log's \(entry.logBytes) bytes")
                }
                logHash.update(p, count)
                try out?.write(p, count: count, at: produced)
                produced += UInt64(count)
            }
            off += UInt64(n)
        }
        // An encrypted file was authenticated block by block instead (its XXH3 is of the stored bytes).
        if !file.isEncrypted && Hash.hex(storedHash.value) != f.xxh3 {
            throw .corrupt(file: path, offset: nil, detail: "file checksum \(Hash.hex(storedHash.value)) differs from the manifest's \(f.xxh3)")
        }
        if !decompressor.finished {
            throw .corrupt(file: path, offset: size, detail: "the zstd frame ends early")
        }
        if produced != entry.logBytes {
            throw .corrupt(file: path, offset: nil, detail: "decompresses to \(produced) bytes, but the log has \(entry.logBytes)")
        }
        if Hash.hex(logHash.value) != entry.logXXH3 {
            throw .corrupt(file: path, offset: nil, detail: "the decompressed log's checksum \(Hash.hex(logHash.value)) differs from the recorded \(entry.logXXH3)")
        }
    }

    /// Adds the log to the message of a read error, so it names both the file and the log.
    static func naming(_ error: EngineError, entry: BackupManifest.LogEntry) -> EngineError {
        let log = "log sequence \(entry.sequence) of incarnation \(entry.incarnation)"
        switch error {
        case let .corrupt(file, offset, detail): return .corrupt(file: file, offset: offset, detail: "\(log): \(detail)")
        case let .truncated(file, expected, actual):
            return .corrupt(file: file, offset: actual, detail: "\(log): the stored file is truncated (expected \(expected) bytes, found \(actual))")
        case let .missingFile(path, detail): return .missingFile(path: path, detail: "\(log): \(detail)")
        default: return error
        }
    }

    /// Verifies every log of a set (as `cairn validate` does).
    package func checkAll(directory: String, manifest m: BackupManifest) throws(EngineError) {
        guard m.kind == .archivedLogs, let logs = m.logs else {
            throw .corrupt(file: directory + "/" + BackupManifest.fileName, offset: nil, detail: "not the manifest of an archived-log backup set")
        }
        try BackupVerifier.checkTransfer(directory: directory, manifest: m, reread: Set(m.files.map(\.name)))
        for entry in logs {
            try check(directory: directory, entry: entry, file: Self.file(for: entry, in: m, directory: directory))
        }
    }
}
