import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// A consistent snapshot of the live database and the page map at its SCN: the hash every
    /// page of it must have. The map comes from capture: this process's when no capture runs
    /// (it captures up to the snapshot first), otherwise the capture page map persisted at the
    /// last log switch brought forward with the online logs. Waits up to `wait` for a capture
    /// running elsewhere to record the snapshot's last commit.
    func liveSnapshot(lenient: Bool = true, wait: TimeInterval = 30) throws(EngineError) -> (snapshot: DatabaseSnapshot, scn: UInt64, map: PageMap) {
        guard control.redo.mode == .archivelog else {
            throw .invalidArgument("\(databasePath) is in NOARCHIVELOG mode: no page map is kept for its live pages, so they cannot be validated or repaired one by one. Turn capture on (`cairn archivelog \(databasePath) on`, then `cairn archive \(databasePath) --follow` or the agent), or check the database with `cairn validate \(databasePath) --live --logical`.")
        }
        let deadline = Date().addingTimeInterval(wait)
        while true {
            let source = try snapshotSource()
            let snapshot = try DatabaseSnapshot(databasePath: databasePath, lenient: lenient)
            do throws(EngineError) {
                if let point = try source.scn(snapshot) {
                    if let capturer = source.capturer { return (snapshot, point.scn, capturer.map.copy()) }
                    if let map = try LoggedPageMap.at(point.scn, control: control, pageMapFile: layout.pageMapFile) {
                        return (snapshot, point.scn, map)
                    }
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
}
