import Foundation
import CairnFormats
import CairnCatalog

/// "online-logs": a member of an online log group is stale (a write to it failed, so capture
/// stopped writing it), missing, or of another size than the closed log it holds.
struct OnlineLogsChecker: FailureChecker {
    var name: String { "online-logs" }

    func findings(_ ctx: AdvisorContext) -> [FailureFinding] {
        let c = ctx.control
        var out: [FailureFinding] = []
        for g in c.redo.groups where g.status != .unused {
            let paths = c.redo.memberPaths(group: g.number)
            let record = Self.closedLog(c, g)
            let bad = paths.compactMap { p in Self.problem(p, g, record).map { (p, $0) } }
                .filter { p, _ in !(g.status == .current && ctx.captureRunning && Self.appears(p)) }
            let intact = paths.count - bad.count
            let unarchived = g.status == .current || g.status == .active
            for (p, what) in bad {
                let rest = intact == 0 ? "; no intact member of the group is left" + (unarchived ? " and its log is not archived yet" : " (its log is archived)")
                    : "; \(intact) other member(s) carry the log"
                out.append(FailureFinding(key: p, priority: intact == 0 && unarchived ? .critical : .high,
                                          summary: "online log member \(p) of group \(g.number) (log sequence \(g.sequence.map(String.init) ?? "?")) is \(what)\(rest)",
                                          affected: p))
            }
        }
        return out
    }

    /// A running capture creates the members of a log just after it recorded the switch to
    /// it: a member of the current log missing now may be about to appear.
    static func appears(_ p: String) -> Bool {
        let deadline = Date().addingTimeInterval(1)
        while Date() < deadline {
            if FileSystem.exists(p) { return true }
            usleep(10_000)
        }
        return FileSystem.exists(p)
    }

    /// The closed log a group holds (nil for the current log).
    static func closedLog(_ c: ControlFile, _ g: RedoState.LogGroup) -> LogRecord? {
        guard g.status != .current, let seq = g.sequence else { return nil }
        return c.redo.logs.first { $0.incarnation == (g.incarnation ?? c.incarnation) && $0.sequence == seq }
    }

    /// What is wrong with member `p` of `g` (nil: nothing seen from its size).
    static func problem(_ p: String, _ g: RedoState.LogGroup, _ record: LogRecord?) -> String? {
        if g.staleMembers.contains(p) { return "stale: a write to it failed, so capture stopped writing it" }
        guard let size = FileSystem.fileSize(p) else { return "missing" }
        if let r = record, size != r.bytes { return "damaged: it is \(size) bytes, the log it holds is \(r.bytes)" }
        return nil
    }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db, path = f.key, c = ctx.control
        let manual = [
            "Check the directory \(FileSystem.parent(of: path)) (mounted, writable, not full).",
            "`cairn repair \(db) --failure \(f.id)` copies the log from an intact member of its group; a member is also written afresh when its group is reused after a log switch (`cairn switch-log \(db)`).",
        ]
        guard let g = c.redo.groups.first(where: { c.redo.memberPaths(group: $0.number).contains(path) }), let seq = g.sequence else {
            return .manualOnly(manual, because: "\(path) is no longer a member of an online log group in use")
        }
        if g.status == .current && ctx.captureRunning {
            return .manualOnly(manual, because: "group \(g.number) holds the current log, which the running capture writes; run `cairn switch-log \(db)`, and once the log is closed, `cairn repair \(db) --failure \(f.id)`")
        }
        let record = Self.closedLog(c, g)
        let incarnation = g.incarnation ?? c.incarnation
        let sources = c.redo.memberPaths(group: g.number).filter { p in
            guard p != path, Self.problem(p, g, record) == nil, let r = try? RedoLogReader(path: p) else { return false }
            return r.header.sequence == seq && Int(r.header.incarnation) == incarnation
        }
        guard let source = sources.max(by: { (FileSystem.fileSize($0) ?? 0) < (FileSystem.fileSize($1) ?? 0) }) else {
            return .manualOnly(manual, because: "no intact member of group \(g.number) holds log sequence \(seq) to copy from" + (record?.status == .archived ? " (the log is archived, so nothing is lost; the group is written afresh when reused)" : ""))
        }
        let catalog = ctx.catalog, number = g.number, xxh3 = record?.xxh3
        let checked = record == nil ? "its header" : "its header, size and checksum"
        return RepairOptions(manual: manual, automatic: AutomaticRepair(
            action: "rebuild online log member",
            description: "copy log sequence \(seq) of group \(number) from \(source) (checked by \(checked)) to \(path)") { () throws(EngineError) -> String in
                try catalog.rebuildOnlineMember(path, group: number, sequence: seq, incarnation: incarnation, from: source, xxh3: xxh3)
                return "rebuilt online log member \(path) from \(source)"
            })
    }
}

extension Catalog {
    /// Copies `source` over member `path` of group `number` while the group still holds log
    /// `sequence` (checked under the control-file lock, so capture cannot reuse the group
    /// meanwhile; the current log also needs the capture lock), checks the copy, and takes
    /// the member off the stale list.
    func rebuildOnlineMember(_ path: String, group number: Int, sequence: UInt64, incarnation: Int,
                             from source: String, xxh3: String?) throws(EngineError) {
        let lock: CaptureLock? = control.redo.groups.first { $0.number == number }?.status == .current ? try captureLock() : nil
        defer { _ = lock }
        try transact { (c: inout ControlFile) throws(EngineError) in
            guard let gi = c.redo.groups.firstIndex(where: { $0.number == number }), c.redo.groups[gi].sequence == sequence,
                  (c.redo.groups[gi].incarnation ?? c.incarnation) == incarnation else {
                throw .unrecoverable("Online log group \(number) no longer holds log sequence \(sequence) (capture reused it meanwhile, which writes every member afresh); run `cairn advise \(databasePath)` again.")
            }
            if c.redo.groups[gi].status == .current && lock == nil { throw .captureRunning(pid: CaptureLock.holder(path: layout.captureLockFile), lockFile: layout.captureLockFile) }
            let hash = try FileSystem.hashFile(source)
            if let xxh3, Hash.hex(hash) != xxh3 {
                throw .corrupt(file: source, offset: nil, detail: "its checksum \(Hash.hex(hash)) differs from the recorded \(xxh3) of log sequence \(sequence)")
            }
            try Self.copyReplacing(source, to: path)
            let copied = try FileSystem.hashFile(path)
            if copied != hash { throw .verificationFailed(file: path, detail: "the copy's checksum \(Hash.hex(copied)) differs from its source's \(Hash.hex(hash))") }
            c.redo.groups[gi].staleMembers.removeAll { $0 == path }
        }
    }

    /// Writes a durable copy of `source` at `target` (replacing what is there) through a
    /// temporary file in the same directory and a rename.
    static func copyReplacing(_ source: String, to target: String) throws(EngineError) {
        let dir = FileSystem.parent(of: target)
        try FileSystem.makeDirectories(dir)
        let temp = dir + "/." + (target as NSString).lastPathComponent + ".repair-\(getpid())"
        FileSystem.removeFile(temp)
        do throws(EngineError) {
            try FileSystem.copyDurably(from: source, to: temp)
            try FileSystem.rename(temp, target)
            try FileSystem.fsyncDirectory(dir)
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }
}
