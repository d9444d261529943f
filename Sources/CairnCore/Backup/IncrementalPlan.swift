import Foundation

/// What a level-1 backup needs: its base, every page's hash at the base's SCN, and a way to
/// find, once the snapshot is taken, the pages that may have changed since the base.
struct IncrementalPlan {
    let base: BackupRecord
    let baseMap: PageMap
    let cumulative: Bool
    /// Candidate pages, ascending: a superset of the pages changed between the base and the
    /// snapshot. Nil when change tracking cannot tell; then every page is compared.
    let candidates: (DatabaseSnapshot) throws(CairnError) -> [UInt32]?
    /// The exact database state at the snapshot, when this process captured up to it.
    let exactState: () -> UInt64?
}

/// Pages changed since an SCN, found without a capturer in this process: the capture page
/// map persisted at the last log switch (whose per-page change SCNs are exact from its
/// `trackedSince`), plus every page written by the records captured into the online logs
/// after that map, plus every page in the snapshot's WAL (committed, possibly not captured yet).
enum PersistedChanges {
    static func candidates(since base: UInt64, control: ControlFile, layout: RepositoryLayout,
                           snapshot: DatabaseSnapshot) -> [UInt32]? {
        for _ in 0..<3 {
            guard let loaded = try? PageMap.read(layout.pageMapFile), loaded.incarnation == control.incarnation,
                  loaded.map.tracks(since: base) else { return nil }
            var pages = Set(loaded.map.changed(after: base))
            guard let logged = onlineLogPages(after: loaded.scn, control: control) else { continue }
            pages.formUnion(logged)
            pages.formUnion(snapshot.scan.latestFrame.keys)
            return pages.sorted()
        }
        return nil
    }

    /// Pages of the records after `scn` in the online logs of the current incarnation, or nil
    /// when those records do not follow on from `scn` (a log was reused meanwhile).
    static func onlineLogPages(after scn: UInt64, control c: ControlFile) -> Set<UInt32>? {
        var pages = Set<UInt32>()
        var scns: [UInt64] = []
        for g in c.redo.groups {
            for path in c.redo.memberPaths(group: g.number) where !g.staleMembers.contains(path) {
                guard let reader = try? RedoLogReader(path: path), Int(reader.header.incarnation) == c.incarnation else { continue }
                var found: [UInt64] = []
                var mine = Set<UInt32>()
                do throws(CairnError) {
                    while let r = try reader.next(strict: false, pages: { (r: RedoRecord, p: RedoLogReader.Page) throws(CairnError) in
                        if r.scn > scn { mine.insert(p.pgno) }
                    }) {
                        guard r.scn > scn else { continue }
                        // After a gap nothing says which pages changed.
                        if r.kind == .gap { return nil }
                        found.append(r.scn)
                    }
                } catch { continue }
                pages.formUnion(mine)
                scns.append(contentsOf: found)
                break
            }
        }
        scns.sort()
        // The records must run on from the map without a hole (SCNs of one incarnation are consecutive).
        let fresh = c.scn(after: scn, commits: 1)
        for (i, s) in scns.enumerated() where s != (i == 0 ? fresh : scns[i - 1] + 1) { return nil }
        return pages
    }
}
