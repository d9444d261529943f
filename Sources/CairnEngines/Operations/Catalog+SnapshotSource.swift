import Foundation
import CairnFormats
import CairnCatalog

/// The SCN of a snapshot and the WAL cursor to record, or nil when it cannot be told.
typealias SnapshotSCN = (DatabaseSnapshot) throws(EngineError) -> SnapshotPoint?
typealias SnapshotPoint = (scn: UInt64, cursor: ControlFile.WALCursor?)

extension Catalog {
    /// How a backup learns the SCN of its snapshot, and what it can know of the pages
    /// changed before it.
    struct SnapshotSource {
        /// The snapshot's SCN and the WAL cursor to record, or nil when it cannot be told (the
        /// WAL was restarted since the snapshot began; the backup then takes another).
        let scn: SnapshotSCN
        /// This process captures: its page map is exact at the snapshot.
        var capturer: Capturer?
        /// Capture runs elsewhere: the capture page map persisted at its last log switch, and
        /// the online logs read on from it.
        var persistedMap: (map: PageMap, scn: UInt64, incarnation: Int)?
        var logScan: OnlineLogScan?
    }

    /// - ARCHIVELOG, no capture running: this process captures everything before the
    ///   snapshot, then up to exactly its last commit.
    /// - ARCHIVELOG, capture running elsewhere: the SCN the online logs give the snapshot's
    ///   last commit, or the newest captured transaction plus the commits after it in the WAL.
    ///   With `trackChanges`, the persisted capture page map is read too and the logs' pages
    ///   after it collected.
    /// - NOARCHIVELOG: commits counted from the WAL since the last backup.
    func snapshotSource(trackChanges: Bool = false) throws(EngineError) -> SnapshotSource {
        let c = control
        if c.redo.mode == .noarchivelog {
            let base = c.scn, cursor = c.walCursor
            return SnapshotSource(scn: { (snapshot: DatabaseSnapshot) throws(EngineError) in
                let (n, cur) = BackupEngine.countCommits(snapshot.scan, since: cursor)
                return (base + n, cur)
            })
        }
        if let lock = try CaptureLock(path: layout.captureLockFile) {
            let capturer = try Capturer(database: self, logger: logger)
            try capturer.step()
            return SnapshotSource(scn: { (snapshot: DatabaseSnapshot) throws(EngineError) in
                _ = lock
                return try Self.scn(of: snapshot, capturingWith: capturer)
            }, capturer: capturer)
        }
        let persisted = trackChanges ? try? PageMap.read(layout.pageMapFile) : nil
        let logScan = OnlineLogScan(control: control, pagesAfter: persisted?.scn)
        return SnapshotSource(scn: { [self] (snapshot: DatabaseSnapshot) throws(EngineError) in
            // The capture process records what it captures as it goes: when it has not reached
            // the snapshot's WAL generation yet, give it a moment to (an exact answer), then count.
            let deadline = Date().addingTimeInterval(2)
            while true {
                let c = control
                logScan.refresh()
                let answer = Self.scn(of: snapshot, logs: logScan, control: c)
                if case .exact(let scn)? = answer { return (scn, nil) }
                if Date() >= deadline || answer == nil {
                    if case .counted(let scn)? = answer { return (scn, nil) }
                    return nil
                }
                usleep(20_000)
            }
        }, persistedMap: persisted, logScan: logScan)
    }

    /// The snapshot's SCN when this process captures. `capturer` captured everything
    /// committed before the snapshot began; it now captures up to the snapshot's last commit.
    /// A snapshot of an empty WAL comes after everything captured: no frame of its generation
    /// existed, and an older generation could only have been restarted once every frame of it
    /// was captured (the capturer's pins saw to that).
    static func scn(of snapshot: DatabaseSnapshot, capturingWith capturer: Capturer) throws(EngineError) -> SnapshotPoint? {
        let target = snapshot.position
        if target.frame == 0 { return (capturer.scn, nil) }
        if !capturer.position.isCommit(target) { try capturer.step(throughFrame: target.frame) }
        return capturer.position.isCommit(target) ? (capturer.scn, nil) : nil
    }

    /// How the SCN of a snapshot was found from another process's logs.
    enum LoggedSCN: Equatable {
        /// Recorded for the snapshot's last commit, or counted from a captured commit of the
        /// same WAL generation: exact.
        case exact(UInt64)
        /// The newest captured transaction (of an older generation) plus the snapshot's
        /// generation's commits: exact unless something between them was never captured.
        case counted(UInt64)
    }

    /// The snapshot's SCN when another process captures. Nil when the logs cannot tell
    /// (capture already moved to a WAL generation begun after the snapshot).
    static func scn(of snapshot: DatabaseSnapshot, logs: OnlineLogScan, control c: ControlFile) -> LoggedSCN? {
        let target = snapshot.position
        if target.frame > 0, let exact = logs.scn(at: target) { return .exact(exact) }
        guard let tail = logs.tail(c) else { return .exact(c.scn) }
        let sameGeneration = tail.position.salt1 == target.salt1 && tail.position.salt2 == target.salt2
        if sameGeneration {
            guard tail.position.frame <= target.frame else { return nil }
            let commits = UInt64(snapshot.scan.commits.filter { $0.frame > tail.position.frame }.count)
            return .exact(c.scn(after: tail.scn, commits: commits))
        }
        // Capture is in another generation: an older one when the WAL is still in the
        // snapshot's generation (capture has not seen it begin yet); otherwise it cannot be told.
        guard let now = (try? WALIndex(databasePath: snapshot.databasePath))?.read(),
              now.sameGeneration(salt1: target.salt1, salt2: target.salt2) else { return nil }
        return .counted(c.scn(after: tail.scn, commits: UInt64(snapshot.scan.commits.count)))
    }
}

extension WALPosition {
    /// Whether this is the same commit frame of the same WAL generation as `other`.
    func isCommit(_ other: WALPosition) -> Bool {
        salt1 == other.salt1 && salt2 == other.salt2 && frame == other.frame
    }
}
