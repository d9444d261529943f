import Foundation
import CairnFormats
import CairnCatalog

/// What `cairn flashback` did (or, previewed, would do).
package struct FlashbackResult: Codable, Sendable {
    /// The point the database went back to, and the SCN it left (flash back to it to undo).
    package var scn: UInt64
    package var from: UInt64
    package var fromIncarnation: Int
    /// Pages rewritten, and the database's size in pages after.
    package var pages: Int
    package var databasePages: UInt32
    /// The incarnation opened (nil in a preview).
    package var incarnation: Int?
    package var preview: Bool
    /// The incarnation the point belongs to (another branch's, when flashing back across).
    package var targetIncarnation: Int?
    /// Of the pages rewritten: those taken back from the live database through the changes
    /// logged since the target, and those read forwards from a backup and the logs.
    package var rewound: Int?
    package var fromBackup: Int?
}

extension Catalog {
    /// Rewinds the live database to `point` by rewriting only the pages changed since, as one
    /// SQLite transaction appended to its WAL (see `WALRewrite`): after a crash at any moment
    /// the database is in its old state or the new one. Refused while another process has the
    /// database open (a running capture included: stop it first). Everything committed is
    /// captured and archived first, so the branch left behind stays reachable; a new
    /// incarnation starts at the point, as a point-in-time restore in place does. With
    /// `incarnation`, the point is on that incarnation's lineage: a branch left by an earlier
    /// flashback or restore (flashing back to where one started undoes it).
    package func flashback(to point: PointInTime, incarnation: Int? = nil, preview: Bool = false) throws(EngineError) -> FlashbackResult {
        let operation = try beginOperation(.exclusive, purpose: "flash the live database back")
        defer { operation.end() }
        guard control.redo.mode == .archivelog else {
            throw .invalidArgument("\(databasePath) is in NOARCHIVELOG mode: what was committed since the point may not be captured, so flashback cannot tell which pages to rewrite. Use `cairn restore --in-place`.")
        }
        try ensureLiveDatabaseFree()
        let lock = try captureLock()
        defer { _ = lock }
        captureLastTransactions()
        let (target, lineage) = try locate(point, incarnation: incarnation)
        // Where the live database is: the newest SCN of the current incarnation (not the
        // highest ever issued, which may be on a branch left by an earlier flashback).
        let latest = control.scn
        let branch = try flashbackBranch(to: target, incarnation: lineage)
        guard target < latest || branch.base != nil else {
            throw .invalidArgument("SCN \(target) is not before the newest captured transaction (SCN \(latest)): there is nothing to flash back.")
        }
        // Every page rewritten is rebuilt once, checked, then written: 64 MiB of them stay cached.
        let pages: PointInTimePages, plan: FlashbackPlan
        if let base = branch.base {
            do throws(EngineError) {
                pages = try PointInTimePages(catalog: self, scn: base, through: target, incarnation: branch.owner, cacheBytes: 64 << 20, protect: false)
                let current = try PointInTimePages(catalog: self, scn: base, through: latest, cacheBytes: 1 << 20, protect: false)
                plan = FlashbackPlan(pages: pages, target: target, latest: latest, base: base, current: current)
            } catch {
                throw .unrecoverable("Flashing back to SCN \(target) of incarnation \(branch.owner) reads both branches from SCN \(base), where they parted, and that cannot be done: \(error.description). Nothing was changed; restore in place instead (`cairn restore \(databasePath) --in-place --incarnation \(branch.owner) --scn \(target)`), which needs only a backup on the way to the point.")
            }
        } else {
            do throws(EngineError) {
                pages = try PointInTimePages(catalog: self, scn: target, through: latest, cacheBytes: 64 << 20, protect: false)
            } catch {
                throw .unrecoverable("Flashback to SCN \(target) reads the logs from a backup before it through SCN \(latest), to know which pages changed since, and that cannot be done: \(error.description). Nothing was changed; restore in place instead (`cairn restore \(databasePath) --in-place --scn \(target)`), which needs only the logs up to the point.")
            }
            plan = FlashbackPlan(pages: pages, target: target, latest: latest)
        }
        var result = FlashbackResult(scn: target, from: latest, fromIncarnation: control.incarnation, pages: plan.rewrite.count,
                                     databasePages: plan.databasePages, incarnation: nil, preview: preview)
        result.targetIncarnation = branch.owner
        if preview { return result }
        guard let before = try LoggedPageMap.at(latest, control: control, pageMapFile: layout.pageMapFile) else {
            throw .unrecoverable("the page map of \(databasePath) at SCN \(latest) cannot be worked out from the capture's map and the online logs; nothing was changed. Take a backup, or restore in place.")
        }
        // The new incarnation is recorded once the rewrite is durable, capture resuming after
        // it. A crash before leaves the old incarnation, whose capture takes the rewrite as one
        // more transaction: the database and its history agree either way. Once no connection
        // can change the live database, its pages are checked, and the pages at the target
        // worked out: on the current lineage, taken back from the live ones through the
        // changes recorded since (`RewoundPages`); across branches, read forwards from the
        // backup through the logs. The target's map is worked out from them before anything
        // is written.
        let rewrite = WALRewrite(databasePath: databasePath, pageSize: pages.pageSize)
        var map: PageMap?
        var rewound: RewoundPages?
        let prepare = { (live: LivePages) throws(EngineError) -> WALRewrite.PageImage in
            try plan.checkLive(live, against: before)
            let image: WALRewrite.PageImage
            if branch.base == nil {
                let back = RewoundPages(pages: pages, target: target, rewrite: plan.rewrite, live: live)
                rewound = back
                image = { (p: UInt32, out: UnsafeMutableRawPointer) throws(EngineError) in try back.read(p, into: out) }
            } else {
                try pages.warm(plan.rewrite, asOf: target)
                image = { (p: UInt32, out: UnsafeMutableRawPointer) throws(EngineError) in try pages.read(p, asOf: target, into: out) }
            }
            map = try plan.mapAtTarget(from: before, image: image)
            return image
        }
        try rewrite.commit(pages: plan.rewrite, databasePages: plan.databasePages, prepare: prepare) { (end: WALPosition) throws(EngineError) in
            guard let map else { throw .unrecoverable("the page map at SCN \(target) was not worked out before the rewrite") }
            result.incarnation = try openIncarnation(at: target, parent: branch.owner, map: map, position: end)
        }
        result.rewound = rewound?.rewound ?? 0
        result.fromBackup = rewound?.forwards ?? plan.rewrite.count
        return result
    }

    /// Where a flashback to `target` (of `incarnation`'s lineage, or the current one's) goes:
    /// the incarnation the point belongs to, and — when the point is not on the current
    /// lineage — the last SCN the two lineages share (`base`).
    func flashbackBranch(to target: UInt64, incarnation: Int?) throws(EngineError) -> (owner: Int, base: UInt64?) {
        var engine = RecoveryEngine(database: self, logger: logger)
        try engine.follow(incarnation: incarnation)
        guard engine.place(target) != nil else {
            throw .invalidArgument("SCN \(target) is not on the lineage of incarnation \(engine.incarnation) (it is on an abandoned branch). Name the incarnation it belongs to with --incarnation; see `cairn list incarnations`.")
        }
        let owner = engine.owner(of: target)
        let ours = control.lineage(of: owner), live = control.lineage(of: control.incarnation)
        var shared = 0
        while shared < ours.count, shared < live.count, ours[shared].number == live[shared].number { shared += 1 }
        let leavesOurs = shared < ours.count ? ours[shared].resetScn : target
        let leavesLive = shared < live.count ? live[shared].resetScn : UInt64.max
        if shared == ours.count && target <= leavesLive { return (owner, nil) }
        return (owner, min(leavesOurs, leavesLive, target))
    }

    /// Records the new incarnation that starts at `scn` with the database in the state `map`
    /// describes (what a point-in-time restore in place records too), branching off `parent`
    /// (the incarnation the point belongs to), capture resuming after `position` of the WAL.
    func openIncarnation(at scn: UInt64, parent: Int, map: PageMap, position: WALPosition) throws(EngineError) -> Int {
        var map = map
        map.resetTracking(at: scn)
        let next = (control.incarnations.map(\.number).max() ?? control.incarnation) + 1
        // The control file is the commit point: the map waits beside the capture's until the
        // new incarnation is recorded (capture adopts it if a crash comes between the two).
        let pending = Capturer.pendingMapFile(layout)
        try map.write(to: pending, scn: scn, incarnation: next, keys: try writingKeys())
        try transact { (c: inout ControlFile) throws(EngineError) in
            c.incarnations.append(.init(number: next, parent: parent, resetScn: scn, startScn: c.highestScn + 1, createdAt: Date()))
            c.incarnation = next
            c.redo.sequence = 0
            c.redo.archivedScn = scn
            c.scn = scn
            c.walCursor = nil
            c.redo.capture = .init(scn: scn, incarnation: next, position: position, stateChecksum: Hash.hex(map.state))
        }
        try FileSystem.rename(pending, layout.pageMapFile)
        return next
    }
}
