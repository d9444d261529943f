import Foundation
import Synchronization
import Logging
import CairnFormats

/// Reads and writes the multiplexed control file.
///
/// Every copy holds the whole document with an update sequence number (USN) and checksum.
/// An update writes each copy atomically (temporary file, fsync, rename, fsync of the
/// directory) under the control-file lock. On open the valid copy with the highest USN wins;
/// stale, missing or damaged copies are reported with a warning and rewritten from it by the
/// next update (never by a mere reader).
package struct ControlFileStore: Sendable {
    package static let kind = "control"
    package let copies: [String]
    package private(set) var usn: UInt64
    package private(set) var content: ControlFile
    /// Warnings produced while opening (stale, missing or corrupt copies, rewritten at the next update).
    package private(set) var warnings: [String] = []
    /// Candidate control files that belong to another database (path, DBID).
    package private(set) var foreignCopies: [(path: String, dbid: String)] = []
    /// What each copy looked like on disk when this store last read or wrote it.
    private var seen: [ControlCopySignature?] = []

    /// Creates the first version of the control file in every location. A control file that
    /// replaces another (`catalog rebuild`) continues its update numbers (`after`), so a
    /// process still holding the old one adopts the new one at its next update.
    package static func create(_ content: ControlFile, after usn: UInt64 = 0) throws(EngineError) -> ControlFileStore {
        var store = ControlFileStore(copies: content.controlCopies, usn: usn, content: content)
        try store.write(content)
        return store
    }

    /// A control file held in memory only (built from a repository alone): it has no copies
    /// and is never written.
    package static func inMemory(_ content: ControlFile) -> ControlFileStore {
        ControlFileStore(copies: [], usn: 0, content: content)
    }

    init(copies: [String], usn: UInt64, content: ControlFile) {
        self.copies = copies
        self.usn = usn
        self.content = content
    }

    /// Opens from the candidate locations (plus every location the winning copy lists).
    /// Throws `notRegistered` when no candidate exists and `controlFileUnusable` when every
    /// existing copy is damaged.
    ///
    /// Opening writes nothing: copies that are missing, stale or damaged are reported in
    /// `warnings`, and the next update (under the control-file lock) rewrites every copy from
    /// the newest. Copies are replaced by atomic renames, so each one read is whole; a copy
    /// that looks stale may just not have been renamed yet by a process updating them all,
    /// so problems are confirmed by reading again while updates are held off.
    package static func open(candidates: [String], repositoryHint: String?, logger: Logger) throws(EngineError) -> ControlFileStore {
        var read = try ControlCopiesRead(candidates: candidates, repositoryHint: repositoryHint)
        if !read.problems.isEmpty, let lock = LockFile.openExisting(read.lockPath) {
            if (try? lock.lock(.shared, policy: LockWaitPolicy(timeout: 10), purpose: "read the control file", log: { _ in })) != nil {
                read = try ControlCopiesRead(candidates: candidates, repositoryHint: repositoryHint)
            }
            lock.close()
        }
        var store = ControlFileStore(copies: read.winner.content.controlCopies, usn: read.winner.usn, content: read.winner.content)
        store.foreignCopies = read.foreign
        Catalog.registerPermissions(store.content, database: store.content.databasePath)
        for (path, problem) in read.problems {
            let msg = "control file copy \(path) is \(problem); the next command that updates the control file rewrites it from \(read.winner.path)"
            logger.warning("\(msg)")
            store.warnings.append(msg)
        }
        return store
    }

    /// Writes a new version to every copy (but those in `leavingAside`, as long as one copy is
    /// written). Succeeds when at least one copy was written; copies that failed are reported
    /// and repaired on the next open.
    package mutating func write(_ newContent: ControlFile, logger: Logger? = nil, leavingAside: Set<String> = []) throws(EngineError) {
        var c = newContent
        c.updatedAt = Date()
        let nextUSN = usn + 1
        let encoded = CheckedDocument.make(c, kind: Self.kind, version: FormatVersion.controlFile, usn: nextUSN).encoded()
        // Every copy is written, fsync'd and renamed on its own thread: concurrent fsyncs
        // share the file system's journal commits instead of waiting for one each.
        let kept = copies.filter { !leavingAside.contains($0) }
        let paths = kept.isEmpty ? copies : kept
        let failures = FailureList()
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            let path = paths[i]
            do throws(EngineError) {
                try FileSystem.makeDirectories(FileSystem.parent(of: path))
                try FileSystem.atomicWrite(encoded, to: path)
            } catch {
                failures.add(i, path, error)
                logger?.warning("could not update control file copy \(path): \(error)")
            }
        }
        let failed = failures.sorted
        if failed.count == paths.count, let first = failed.first {
            throw first.1
        }
        usn = nextUSN
        content = c
        seen = ControlCopySignature.of(copies)
        ControlFileMemo.shared.remember(copies, signatures: seen, usn: usn, content: c)
    }

    /// Read-modify-write under an exclusive lock shared by every Cairn process: when a copy
    /// changed on disk since this store last read or wrote it, the newest copy is read again
    /// first, so a change made meanwhile by another process (a backup while capture runs) is
    /// never overwritten.
    /// `written` runs once every copy is written, still under the lock, with the content
    /// before and after and the new update sequence number. `leavingAside`, asked once
    /// `change` ran, names copies this update leaves as they are (the recovery advisor records
    /// a damaged copy without rewriting it: that is its repair's job).
    package mutating func transact<T>(logger: Logger? = nil, _ change: (inout ControlFile) throws(EngineError) -> T,
                                      leavingAside: () -> Set<String> = { [] },
                                      written: (ControlFile, ControlFile, UInt64) throws(EngineError) -> Void = { _, _, _ in }) throws(EngineError) -> T {
        let lock = try ControlFileLock(path: lockPath)
        defer { lock.release() }
        // Under the lock no other update is under way: a copy whose identity and last change
        // are as this store last saw them holds what this store holds (decoding a control file
        // of many logs every time cost the agent a fifth of its CPU).
        refresh()
        let before = content
        var c = content
        let result = try change(&c)
        try write(c, logger: logger, leavingAside: leavingAside())
        try written(before, content, usn)
        return result
    }

    /// Adopts the newest valid copy when a copy changed on disk since this store last read
    /// or wrote it (one `stat` per copy when nothing changed).
    package mutating func refresh() {
        let now = ControlCopySignature.of(copies)
        if now != seen { adopt(now) }
    }

    /// Adopts what the copies hold now (their signatures `now`, looked at before reading them):
    /// as this process last wrote or read them when it knows (`ControlFileMemo`), otherwise
    /// the newest valid copy, when newer than what this store holds.
    private mutating func adopt(_ now: [ControlCopySignature?]) {
        seen = now
        if let known = ControlFileMemo.shared.recall(copies, signatures: now) {
            if known.usn > usn { (usn, content) = known }
            return
        }
        guard let newest = Self.newestCopy(copies, newerThan: usn) else { return }
        (usn, content) = newest
        ControlFileMemo.shared.remember(copies, signatures: now, usn: usn, content: content)
    }

    /// The lock file beside the repository's copy of the control file.
    var lockPath: String {
        let repoCopy = copies.first { $0.hasSuffix("/control/cairn.ctl") } ?? copies[0]
        return FileSystem.parent(of: repoCopy) + "/control.lock"
    }

    /// The valid copy with the highest update sequence number (above `floor`; nil when none
    /// is; written copies are numbered from 1). Only its body is decoded (the others'
    /// checksums and numbers are read).
    package static func newestCopy(_ paths: [String], newerThan floor: UInt64 = 0) -> (usn: UInt64, content: ControlFile)? {
        let documents = paths.compactMap { p -> (path: String, doc: CheckedDocument)? in
            guard let bytes = try? FileSystem.readAll(p),
                  let doc = try? CheckedDocument.decode(bytes, kind: kind, maxVersion: FormatVersion.controlFile, file: p) else { return nil }
            return (p, doc)
        }
        for (p, doc) in documents.sorted(by: { $0.doc.usn > $1.doc.usn }) where doc.usn > floor {
            if let c = try? doc.decodeBody(ControlFile.self, file: p) { return (doc.usn, c) }
        }
        return nil
    }
}

/// An exclusive `flock` held for the length of one control-file update.
package final class ControlFileLock {
    private var fd: Int32

    package init(path: String) throws(EngineError) {
        try FileSystem.makeDirectories(FileSystem.parent(of: path))
        fd = FilePermissions.openCreating(path, O_RDWR | O_CREAT | O_CLOEXEC)
        if fd < 0 { throw EngineError.fromErrno("open control-file lock", path, errno) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = errno
            close(fd)
            throw EngineError.fromErrno("lock", path, e)
        }
    }

    package func release() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    deinit { release() }
}

/// Failures of the copies written in parallel, in copy order.
private final class FailureList: Sendable {
    private let items = Mutex<[(Int, String, EngineError)]>([])
    func add(_ i: Int, _ path: String, _ e: EngineError) { items.withLock { $0.append((i, path, e)) } }
    var sorted: [(String, EngineError)] { items.withLock { $0.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) } } }
}
