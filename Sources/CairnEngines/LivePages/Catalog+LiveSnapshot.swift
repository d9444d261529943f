import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// A snapshot of the live database and the page map its pages must match.
    struct LiveSnapshot {
        let snapshot: DatabaseSnapshot
        let scn: UInt64
        let map: PageMap
        /// No capture ran and the database had left the captured history (written meanwhile,
        /// or damaged: Cairn cannot tell which): why. The map is then the captured state's.
        var diverged: String?
    }

    /// A consistent snapshot of the live database and the page map at its SCN: the hash every
    /// page of it must have. The map comes from capture: this process's when no capture runs
    /// (it captures up to the snapshot first; a database that changed while nothing captured
    /// it is compared with the captured state, and no gap is recorded), otherwise the capture
    /// page map persisted at the last log switch brought forward with the online logs. Waits up
    /// to `wait` for a capture running elsewhere to record the snapshot's last commit.
    func liveSnapshot(wait: TimeInterval = 30) throws(EngineError) -> LiveSnapshot {
        guard control.redo.mode == .archivelog else {
            throw .invalidArgument("\(databasePath) is in NOARCHIVELOG mode: no page map is kept for its live pages, so they cannot be validated or repaired one by one. Turn capture on (`cairn archivelog \(databasePath) on`, then `cairn archive \(databasePath) --follow` or the agent), or check the database with SQLite's integrity_check.")
        }
        let deadline = Date().addingTimeInterval(wait)
        // A count from an older generation is taken only after capture had 2 s to record the
        // snapshot's state exactly (it may have just started, not yet seen what it missed).
        let countedAfter = Date().addingTimeInterval(2)
        while true {
            // (Probed first: taking the lock waits 0.2 s before it gives up on a holder.)
            if !CaptureLock.isHeld(path: layout.captureLockFile), let lock = try CaptureLock(path: layout.captureLockFile) {
                defer { _ = lock }
                return try capturedHere()
            }
            let logs = OnlineLogScan(control: control)
            let snapshot = try DatabaseSnapshot(databasePath: databasePath, lenient: true)
            do throws(EngineError) {
                if let scn = loggedSCN(of: snapshot, logs: logs, countedOK: Date() >= countedAfter),
                   let map = try LoggedPageMap.at(scn, control: control, pageMapFile: layout.pageMapFile) {
                    return LiveSnapshot(snapshot: snapshot, scn: scn, map: map)
                }
            } catch {
                snapshot.close()
                throw error
            }
            snapshot.close()
            guard Date() < deadline else {
                throw .unrecoverable("the capture of \(databasePath) has not recorded the database's newest transactions within \(Int(wait)) s, so the page map they must match is not known. Check capture with `cairn status \(databasePath)` and try again.")
            }
            usleep(50_000)
        }
    }

    /// The snapshot's SCN from another process's logs once they tell it exactly, or, with
    /// `countedOK`, as counted from the newest captured one; nil while capture has not got there.
    private func loggedSCN(of snapshot: DatabaseSnapshot, logs: OnlineLogScan, countedOK: Bool) -> UInt64? {
        let c = control
        logs.refresh()
        switch Self.scn(of: snapshot, logs: logs, control: c) {
        case .exact(let scn)?: return scn
        case .counted(let scn)? where countedOK: return scn
        default: return nil
        }
    }

    /// This process captures (the capture lock held): everything committed, then up to the
    /// snapshot's last commit.
    private func capturedHere() throws(EngineError) -> LiveSnapshot {
        let capturer = try Capturer(database: self, logger: logger)
        capturer.reportsDivergence = true
        do throws(EngineError) {
            try capturer.step()
        } catch {
            guard let why = capturer.diverged else { throw error }
            let snapshot = try DatabaseSnapshot(databasePath: databasePath, lenient: true)
            return LiveSnapshot(snapshot: snapshot, scn: capturer.scn, map: capturer.map.copy(), diverged: why)
        }
        let snapshot = try DatabaseSnapshot(databasePath: databasePath, lenient: true)
        do throws(EngineError) {
            guard let point = try Self.scn(of: snapshot, capturingWith: capturer) else {
                throw EngineError.walChanged(path: databasePath, detail: "the WAL was restarted while the snapshot was taken; try again")
            }
            return LiveSnapshot(snapshot: snapshot, scn: point.scn, map: capturer.map.copy())
        } catch {
            snapshot.close()
            throw error
        }
    }
}
