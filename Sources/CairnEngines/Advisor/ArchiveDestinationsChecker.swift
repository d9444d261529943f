import Foundation
import CairnFormats
import CairnCatalog

/// "archive-destinations": an archive destination cannot be written (a directory that is not
/// one, gone, or not writable; for object storage, the error its last copy got) or is full
/// (less free space than the next log needs, or its last copy ran out of space). Repairs are
/// manual: the storage is the operator's.
struct ArchiveDestinationsChecker: FailureChecker {
    var name: String { "archive-destinations" }

    func findings(_ ctx: AdvisorContext) -> [FailureFinding] {
        let c = ctx.control
        var out: [FailureFinding] = []
        for d in c.redo.archiveDestinations {
            let failed = Self.lastFailure(c, d)
            if let e = failed, Self.isNoSpace(e) {
                out.append(full(d, "its last copy failed: \(e)"))
                continue
            }
            if ArchiveDestinations.isLocal(d) {
                if let why = Self.unreachable(local: d, c) {
                    out.append(unreachable(d, why))
                } else if let e = failed {
                    out.append(unreachable(d, "its last copy failed: \(e)"))
                } else if let free = Self.freeBytes(near: d), free < c.redo.logSizeBytes {
                    out.append(full(d, "\(ByteCount.text(free)) free, less than a log (up to \(ByteCount.text(c.redo.logSizeBytes)))"))
                }
            } else if let e = failed {
                out.append(unreachable(d, "its last copy failed: \(e)"))
            }
        }
        return out
    }

    private func unreachable(_ d: String, _ why: String) -> FailureFinding {
        FailureFinding(key: "unreachable:" + d, priority: .high,
                       summary: "archive destination \(d) cannot be written (\(why)): logs are not archived there", affected: d)
    }

    private func full(_ d: String, _ why: String) -> FailureFinding {
        FailureFinding(key: "full:" + d, priority: .high,
                       summary: "archive destination \(d) is full (\(why)): logs are not archived there", affected: d)
    }

    /// The error of the newest failed copy to `d` (not the recovery area's limit, which the
    /// "recovery-area" checker reports).
    static func lastFailure(_ c: ControlFile, _ d: String) -> String? {
        c.redo.logs.sorted { ($0.incarnation, $0.sequence) > ($1.incarnation, $1.sequence) }.lazy
            .compactMap { l in l.destinations.first { $0.destination == d && $0.state == .failed }?.error }
            .first { !RecoveryArea.isFullMessage($0) }
    }

    static func isNoSpace(_ error: String) -> Bool {
        error.contains("No space left") || error.contains("ENOSPC") || error.contains("errno \(ENOSPC)")
    }

    /// Why the directory `d` cannot be written, or nil.
    static func unreachable(local d: String, _ c: ControlFile) -> String? {
        if FileSystem.exists(d) {
            guard FileSystem.isDirectory(d) else { return "\(d) is not a directory" }
            return access(d, W_OK | X_OK) == 0 ? nil : "\(d) is not writable"
        }
        let recorded = c.redo.logs.filter { l in l.destinations.contains { $0.destination == d && $0.state == .archived } }.count
        if recorded > 0 { return "the directory is gone, with the \(recorded) archived log(s) recorded there" }
        var parent = FileSystem.parent(of: d)
        while !FileSystem.exists(parent) && parent != "/" { parent = FileSystem.parent(of: parent) }
        guard FileSystem.isDirectory(parent) else { return "it cannot be created: \(parent) is not a directory" }
        return access(parent, W_OK | X_OK) == 0 ? nil : "it cannot be created: \(parent) is not writable"
    }

    /// Free bytes on the file system holding `d` (or its nearest existing parent).
    static func freeBytes(near d: String) -> UInt64? {
        var p = d
        while !FileSystem.exists(p) && p != "/" { p = FileSystem.parent(of: p) }
        var st = statvfs()
        guard statvfs(p, &st) == 0 else { return nil }
        return UInt64(st.f_bavail) * UInt64(st.f_frsize)
    }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db, d = f.affected
        let fix = f.key.hasPrefix("full:")
            ? "Free space on the file system of \(d) (or grow it); Cairn never deletes what recovery needs to make room outside the recovery area."
            : ArchiveDestinations.isLocal(d)
            ? "Make \(d) a writable directory again (mount its file system, fix its permissions, or move away what is in its place)."
            : "Check the credentials, the bucket and the network path to \(d) (`cairn status \(db)` shows the remote's last error)."
        return .manualOnly([
            fix,
            "Then run `cairn archive \(db) --once` (or let the running capture retry) to archive the logs waiting for it, and `cairn advise \(db)` to check.",
        ], because: "the storage of an archive destination is outside what Cairn manages")
    }
}
