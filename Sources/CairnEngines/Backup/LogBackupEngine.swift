import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Writes an archived-log backup set: each log read from a verified copy (an archive
/// destination, else its online member), checked against its recorded size and XXH3 while it
/// is read, and stored as one standard zstd frame; then the manifest. Everything is made
/// durable, re-read and decompressed again, and checked before the set becomes visible.
struct LogBackupEngine {
    let layout: RepositoryLayout
    let dbid: UInt64
    let logger: Logger
    /// Encrypts the set's files when encryption is on.
    var keys: UnlockedKeyring? = nil

    struct Result {
        let manifest: BackupManifest
        let directory: String
    }

    /// Backs up `logs` (closed, archived logs) as the backup `owner` claimed.
    func run(owner: PartialBackupOwner, logs: [LogRecord], redo: RedoState, databaseName: String, options: BackupOptions) throws(EngineError) -> Result {
        let id = owner.id
        try FileSystem.makeDirectories(layout.backupsDirectory)
        let started = Date()
        let partial = owner.partialDirectory
        try owner.makeDirectory()
        do throws(EngineError) {
            let level = options.compressionLevel ?? 1
            let writer = LogSetWriter(level: level, keys: keys)
            let progress = ProgressMeter(label: "log backup", totalBytes: logs.reduce(0) { $0 + $1.bytes }, monitor: options.monitor)
            var files: [BackupManifest.File] = []
            var entries: [BackupManifest.LogEntry] = []
            var pageSize = 0
            for log in logs {
                let name = ArchivedLogSetReader.storedName(log.key)
                let (file, header) = try store(log, as: partial + "/" + name, redo: redo, writer: writer)
                pageSize = Int(header.pageSize)
                files.append(file)
                entries.append(.init(incarnation: log.incarnation, sequence: log.sequence, lowScn: log.lowScn, highScn: log.highScn,
                                     lowTime: log.lowTime, highTime: log.highTime, records: log.records,
                                     logBytes: log.bytes, logXXH3: log.xxh3, name: name))
                try progress.advance(log.bytes)
            }
            let newest = logs.max { $0.highScn < $1.highScn }
            var manifest = BackupManifest(
                dbid: String(dbid), backupId: id, kind: .archivedLogs, level: 0, incarnation: newest?.incarnation ?? 1,
                scn: newest?.highScn ?? 0, pageSize: pageSize, pageCount: 0, stateChecksum: "", compression: "zstd",
                compressionLevel: Int(level), blockPages: 0, files: files, tag: options.tag, databaseName: databaseName,
                startedAt: started, completedAt: Date(), release: FormatVersion.release)
            manifest.logs = entries
            _ = try manifest.write(directory: partial)
            try FileSystem.fsyncDirectory(partial)
            // Durable; now read every stored file back from the disk and decompress it.
            try ArchivedLogSetReader().checkAll(directory: partial, manifest: manifest)
            let final = layout.backupDirectory(id)
            try FileSystem.renameNoReplace(partial, final)
            try FileSystem.fsyncDirectory(layout.backupsDirectory)
            progress.finish()
            return Result(manifest: manifest, directory: final)
        } catch {
            FileSystem.removeTree(partial)
            throw error
        }
    }

    /// Where a closed log can be read: its archived copies, then the online members that
    /// still hold it (identified by the header).
    static func sources(of log: LogRecord, redo: RedoState) -> [String] {
        var paths: [String] = []
        for d in log.destinations where d.state == .archived {
            let dest = Archiver.destination(d.destination)
            if dest.exists(log.fileName), let p = try? dest.localCopy(of: log.fileName) { paths.append(p) }
        }
        for p in redo.memberPaths(group: log.group) {
            if let r = try? RedoLogReader(path: p), r.header.sequence == log.sequence, Int(r.header.incarnation) == log.incarnation {
                paths.append(p)
            }
        }
        return paths
    }

    /// Stores one log from the first copy that matches its record.
    private func store(_ log: LogRecord, as target: String, redo: RedoState, writer: LogSetWriter) throws(EngineError) -> (BackupManifest.File, RedoLogFormat.Header) {
        var problems: [String] = []
        var firstError: EngineError?
        for source in Self.sources(of: log, redo: redo) {
            do throws(EngineError) {
                return try writer.store(log, from: source, to: target, dbid: dbid)
            } catch {
                FileSystem.removeFile(target)
                // A failure to write the backup (disk full, I/O) is not the source's fault.
                if !writer.sourceFailed { throw error }
                logger.warning("archived log sequence \(log.sequence): the copy \(source) cannot be used: \(error.description)")
                problems.append("\(source): \(error.description)")
                if firstError == nil { firstError = error }
            }
        }
        let what = "log sequence \(log.sequence) of incarnation \(log.incarnation)"
        if let firstError, case let .corrupt(file, offset, _) = firstError {
            throw .corrupt(file: file, offset: offset, detail: "no copy of \(what) matches its recorded size and checksum (\(problems.joined(separator: "; "))); nothing was backed up. Bring a good copy back into an archive destination, or run `cairn crosscheck` so the log is marked expired, then back up again")
        }
        let looked = log.destinations.map { $0.destination + "/" + log.fileName } + redo.memberPaths(group: log.group)
        throw .missingFile(path: looked.first ?? log.fileName,
                           detail: "no readable copy of \(what) was found (looked in \(looked.joined(separator: ", "))\(problems.isEmpty ? "" : "; " + problems.joined(separator: "; "))); nothing was backed up. Bring a copy back into an archive destination, or run `cairn crosscheck` so the log is marked expired, then back up again")
    }
}

/// Streams logs through one reused zstd context and fixed buffers into stored files.
final class LogSetWriter {
    static let chunk = 1 << 20
    private let compressor: ZstdStreamCompressor
    private let input: UnsafeMutableRawPointer
    private let output: UnsafeMutableRawPointer
    private let outputCapacity: Int
    /// Whether the last failure of `store` came from the source copy (not from the output).
    private(set) var sourceFailed = false

    /// Encrypts the stored files (compressed first) when given.
    private let keys: UnlockedKeyring?

    init(level: Int32, keys: UnlockedKeyring? = nil) {
        self.keys = keys
        compressor = ZstdStreamCompressor(level: level)
        input = .allocate(byteCount: Self.chunk, alignment: 4096)
        outputCapacity = max(Self.chunk, ZstdStreamCompressor.outputSize)
        output = .allocate(byteCount: outputCapacity, alignment: 4096)
    }

    deinit {
        input.deallocate()
        output.deallocate()
    }

    /// Reads `source`, checking its header, size and XXH3 against `log` as it goes, and
    /// writes it compressed to `target` (fsync'd). Returns the stored file's entry.
    func store(_ log: LogRecord, from source: String, to target: String, dbid: UInt64) throws(EngineError) -> (BackupManifest.File, RedoLogFormat.Header) {
        sourceFailed = true
        let src = try RawFile(path: source, mode: .read)
        let size = try src.size()
        guard size == log.bytes else {
            if size < log.bytes { throw .truncated(file: source, expected: log.bytes, actual: size) }
            throw .corrupt(file: source, offset: log.bytes, detail: "the file is \(size) bytes but the log was recorded with \(log.bytes)")
        }
        guard size >= UInt64(RedoLogFormat.headerSize) else { throw .truncated(file: source, expected: UInt64(RedoLogFormat.headerSize), actual: size) }
        src.adviseSequential()
        sourceFailed = false
        let out = try StoredFileWriter(path: target, keys: keys)
        let logHash = StreamingHash()
        try compressor.begin(contentSize: size, file: target)
        var header: RedoLogFormat.Header?
        var off: UInt64 = 0
        while off < size {
            let want = Int(min(UInt64(Self.chunk), size - off))
            sourceFailed = true
            let n = try src.read(into: input, count: want, at: off)
            if n != want { throw .truncated(file: source, expected: size, actual: off + UInt64(n)) }
            if header == nil {
                let h = try RedoLogFormat.decodeHeader(input, available: n, file: source)
                guard h.dbid == dbid, Int(h.incarnation) == log.incarnation, h.sequence == log.sequence else {
                    throw .corrupt(file: source, offset: 0, detail: "the header names DBID \(h.dbid), incarnation \(h.incarnation), sequence \(h.sequence), not log sequence \(log.sequence) of incarnation \(log.incarnation) of DBID \(dbid)")
                }
                header = h
            }
            logHash.update(input, n)
            sourceFailed = false
            off += UInt64(n)
            try compressor.compress(input, n, end: off == size, out: output, capacity: outputCapacity, file: target) { (p: UnsafeRawPointer, count: Int) throws(EngineError) in
                try out.append(p, count)
            }
        }
        if Hash.hex(logHash.value) != log.xxh3 {
            sourceFailed = true
            throw .corrupt(file: source, offset: nil, detail: "checksum \(Hash.hex(logHash.value)) differs from the recorded \(log.xxh3)")
        }
        guard let header else { throw .truncated(file: source, expected: UInt64(RedoLogFormat.headerSize), actual: 0) }
        try out.finish()
        return (.init(name: (target as NSString).lastPathComponent, bytes: out.storedSize, xxh3: Hash.hex(out.storedHash), pages: 0, firstPage: 0, lastPage: 0),
                header)
    }
}
