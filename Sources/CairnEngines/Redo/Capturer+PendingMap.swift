import Foundation
import CairnFormats
import CairnCatalog

extension Capturer {
    /// Where the page map of an incarnation being opened in place (flashback) waits until the
    /// control file records the incarnation.
    static func pendingMapFile(_ layout: RepositoryLayout) -> String { layout.pageMapFile + ".next" }

    /// A pending map that belongs to the capture point (its incarnation was recorded, and a
    /// crash came before the map took its place) takes its place now; one that does not (the
    /// incarnation was never recorded) is removed.
    static func adoptPendingMap(_ layout: RepositoryLayout, point: RedoState.CapturePoint) {
        let pending = pendingMapFile(layout)
        guard FileSystem.exists(pending) else { return }
        if let p = try? PageMap.read(pending), p.scn == point.scn, p.incarnation == point.incarnation {
            if (try? PageMap.read(layout.pageMapFile)).map({ $0.incarnation != point.incarnation }) ?? true {
                try? FileSystem.rename(pending, layout.pageMapFile)
                return
            }
        }
        FileSystem.removeFile(pending)
    }
}
