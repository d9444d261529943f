import Foundation
import CairnFormats
import CairnCatalog

/// "archived-logs": an archived log that recovery needs is missing or damaged at a
/// destination (judged by existence and size, as a crosscheck does; contents are hashed by
/// `validate` and restore), or everywhere, or the sequence of an incarnation has a hole.
/// Logs the retention policy no longer needs are not looked at.
struct ArchivedLogsChecker: FailureChecker {
    var name: String { "archived-logs" }

    /// What needs a log: complete recovery (it lies after the newest backup a recovery can
    /// start from), or only point-in-time recovery within the recovery window.
    enum Need: String {
        case complete, window
        var priority: Failure.Priority { self == .complete ? .critical : .high }
        var consequence: String {
            self == .complete ? "complete recovery stops before it" : "point-in-time recovery within the recovery window cannot pass it"
        }
    }

    static func need(_ ctx: AdvisorContext, scn: UInt64, incarnation: Int) -> Need? {
        guard let here = ctx.lineage.position(scn: scn, incarnation: incarnation) else { return nil }
        if let b = ctx.newestRestorable, let start = ctx.lineage.position(scn: b.scn, incarnation: b.incarnation), start < here {
            return .complete
        }
        return ctx.inRecoveryWindow(scn: scn, incarnation: incarnation) ? .window : nil
    }

    func findings(_ ctx: AdvisorContext) -> [FailureFinding] {
        let c = ctx.control
        let obsolete = Set(ctx.obsolescence.logs.map(\.key))
        let inSets = RecoveryArea.logsInAvailableSets(c)
        var out: [FailureFinding] = []
        for l in c.redo.logs where l.status != .online && !obsolete.contains(l.key) {
            guard let need = Self.need(ctx, scn: l.highScn, incarnation: l.incarnation) else { continue }
            let bad = l.destinations.compactMap { d in Self.copyProblem(l, d).map { (d.destination, $0) } }
            let good = l.destinations.contains { $0.state == .archived && Self.copyProblem(l, $0) == nil }
            let held = good || inSets.contains(l.key) || Self.onlineMember(c, l) != nil
            let what = "archived log sequence \(l.sequence) of incarnation \(l.incarnation) (SCN \(l.lowScn)–\(l.highScn))"
            if !held {
                let details = bad.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
                out.append(FailureFinding(key: "log:\(l.incarnation)-\(l.sequence):\(need.rawValue)", priority: need.priority,
                                          summary: "\(what) is missing or damaged everywhere it was kept\(details.isEmpty ? "" : " (\(details))"): \(need.consequence)",
                                          affected: l.fileName))
                continue
            }
            for (d, problem) in bad {
                out.append(FailureFinding(key: "copy:\(l.incarnation)-\(l.sequence):\(d)", priority: .high,
                                          summary: "the copy of \(what) in \(d) is \(problem); another copy carries it", affected: d + "/" + l.fileName))
            }
        }
        return out + holes(ctx)
    }

    /// What is wrong with the copy of `l` at `d` (nil: present with its size, or not meant to be there).
    static func copyProblem(_ l: LogRecord, _ d: LogRecord.DestinationState) -> String? {
        switch d.state {
        case .expired: return "gone or damaged (found by a crosscheck\(d.error.map { ": " + $0 } ?? ""))"
        case .archived:
            guard ArchiveDestinations.isLocal(d.destination) else { return nil }
            guard let size = Archiver.destination(d.destination).size(of: l.fileName) else { return "missing" }
            return size == l.bytes ? nil : "damaged: \(size) bytes, the log is \(l.bytes)"
        default: return nil
        }
    }

    /// An online member that still holds `l` (its group not reused, of the log's size).
    static func onlineMember(_ c: ControlFile, _ l: LogRecord) -> String? {
        guard let g = c.redo.groups.first(where: { $0.number == l.group }), g.sequence == l.sequence,
              (g.incarnation ?? c.incarnation) == l.incarnation, g.status != .current else { return nil }
        return c.redo.memberPaths(group: g.number).first { !g.staleMembers.contains($0) && FileSystem.fileSize($0) == l.bytes }
    }

    /// Sequences missing between two recorded logs of an incarnation, whose SCNs are missing too.
    private func holes(_ ctx: AdvisorContext) -> [FailureFinding] {
        let c = ctx.control
        var out: [FailureFinding] = []
        for inc in ctx.lineage.chain.map(\.number) {
            let logs = c.redo.logs.filter { $0.incarnation == inc }.sorted { $0.sequence < $1.sequence }
            for (a, b) in zip(logs, logs.dropFirst()) where b.sequence > a.sequence + 1 && b.lowScn > a.highScn + 1 {
                guard let need = Self.need(ctx, scn: a.highScn + 1, incarnation: inc) else { continue }
                let seqs = a.sequence + 1 == b.sequence - 1 ? "sequence \(a.sequence + 1)" : "sequences \(a.sequence + 1)–\(b.sequence - 1)"
                out.append(FailureFinding(key: "hole:\(inc)-\(a.sequence + 1)-\(b.sequence - 1):\(need.rawValue)", priority: need.priority,
                                          summary: "log \(seqs) of incarnation \(inc) (SCN \(a.highScn + 1)–\(b.lowScn - 1)) is not recorded: \(need.consequence)",
                                          affected: "incarnation \(inc), \(seqs)"))
            }
        }
        return out
    }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db
        if f.key.hasPrefix("copy:") { return copyOptions(f, ctx) }
        let complete = f.key.hasSuffix(":" + Need.complete.rawValue)
        let manual = [
            "If a copy of the log exists elsewhere (another machine, a copy of the repository), put it back into an archive destination and run `cairn crosscheck \(db)`.",
            complete ? "Otherwise take a level-0 backup with `cairn backup \(db)`: complete recovery then starts after the log."
                : "Otherwise the points in time it covers cannot be reached; they leave the recovery window as retention moves on.",
        ]
        guard complete else {
            return .manualOnly(manual, because: "no copy is left to restore it from, and a new backup does not bring back the points in time it covers")
        }
        return RepairActions.options(manual, RepairActions.level0Backup(ctx, because: "so that complete recovery starts after the missing log"))
    }

    private func copyOptions(_ f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db, c = ctx.control
        let parts = f.key.dropFirst("copy:".count).split(separator: ":", maxSplits: 1).map(String.init)
        let ids = parts.first?.split(separator: "-").compactMap { UInt64($0) } ?? []
        let manual = [
            "Check the destination (mounted, readable) and run `cairn crosscheck \(db)` to record what is there.",
            "`cairn repair \(db) --failure \(f.id)` copies the log there again from a copy that verifies.",
        ]
        guard parts.count == 2, ids.count == 2,
              let l = c.redo.logs.first(where: { $0.incarnation == Int(ids[0]) && $0.sequence == ids[1] }) else {
            return .manualOnly(manual, because: "the log is no longer recorded")
        }
        let target = parts[1]
        let sources = l.destinations.filter { $0.destination != target && $0.state == .archived && Self.copyProblem(l, $0) == nil }.map(\.destination)
            + (Self.onlineMember(c, l).map { [$0] } ?? [])
        guard !sources.isEmpty else {
            return .manualOnly(manual, because: "no other destination or online member holds the log to copy it from")
        }
        let catalog = ctx.catalog, key = l.key
        return RepairOptions(manual: manual, automatic: AutomaticRepair(
            action: "copy archived log",
            description: "copy log sequence \(l.sequence) of incarnation \(l.incarnation) to \(target) from \(sources.joined(separator: " or ")) (the first whose size and checksum verify)") { () throws(EngineError) -> String in
                try catalog.restoreArchivedCopy(key, to: target, from: sources)
            })
    }
}

extension Catalog {
    /// Copies log `key` to destination `target` from the first of `sources` (archive
    /// destinations, or online member paths) that verifies, checks the copy, and records it.
    func restoreArchivedCopy(_ key: LogKey, to target: String, from sources: [String]) throws(EngineError) -> String {
        guard let l = control.redo.logs.first(where: { $0.key == key }) else {
            throw .unrecoverable("Log sequence \(key.sequence) of incarnation \(key.incarnation) is no longer recorded; run `cairn advise \(databasePath)` again.")
        }
        var tried: [String] = []
        for s in sources {
            do throws(EngineError) {
                let path = try verifiedSource(l, s)
                try reserveRecoveryArea(bytes: l.bytes, for: target)
                let dest = Archiver.destination(target)
                try dest.put(localPath: path, as: l.fileName)
                try dest.verify(l.fileName, bytes: l.bytes, xxh3: l.xxh3)
                try transact { (c: inout ControlFile) throws(EngineError) in
                    guard let li = c.redo.logs.firstIndex(where: { $0.key == key }),
                          let di = c.redo.logs[li].destinations.firstIndex(where: { $0.destination == target }) else { return }
                    c.redo.logs[li].destinations[di].state = .archived
                    c.redo.logs[li].destinations[di].error = nil
                    c.redo.logs[li].destinations[di].archivedAt = Date()
                    Archiver.settle(&c, logIndex: li)
                }
                return "copied log sequence \(l.sequence) of incarnation \(l.incarnation) to \(target) from \(s)"
            } catch {
                tried.append("\(s): \(error.description)")
            }
        }
        throw .missingLog(sequence: l.sequence, incarnation: l.incarnation, looked: tried, recoveredTo: 0)
    }

    /// A local path holding `l` from source `s` (a destination or an online member), checked
    /// by size and checksum.
    private func verifiedSource(_ l: LogRecord, _ s: String) throws(EngineError) -> String {
        if control.redo.archiveDestinations.contains(s) || l.destinations.contains(where: { $0.destination == s }) {
            let d = Archiver.destination(s)
            try d.verify(l.fileName, bytes: l.bytes, xxh3: l.xxh3)
            return try d.localCopy(of: l.fileName)
        }
        guard FileSystem.fileSize(s) == l.bytes else { throw .truncated(file: s, expected: l.bytes, actual: FileSystem.fileSize(s) ?? 0) }
        let h = Hash.hex(try FileSystem.hashFile(s))
        guard h == l.xxh3 else { throw .corrupt(file: s, offset: nil, detail: "checksum \(h) differs from the recorded \(l.xxh3)") }
        return s
    }
}
