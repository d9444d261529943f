import Foundation
import CairnFormats

/// What a deletion removed (`cairn delete obsolete|expired`, recovery-area reclaim).
package struct DeletionReport: Sendable, Codable, Equatable {
    package struct LogCopy: Sendable, Codable, Equatable {
        package var incarnation: Int
        package var sequence: UInt64
        package var destination: String
        package init(incarnation: Int, sequence: UInt64, destination: String) {
            self.incarnation = incarnation
            self.sequence = sequence
            self.destination = destination
        }

    }
    package var backups: [UInt64] = []
    package var logCopies: [LogCopy] = []
    /// Automatic snapshots removed (by name).
    package var snapshots: [String] = []
    /// Log records dropped: no copy left anywhere and no log backup set holding them.
    package var logsDropped: [LogKey] = []
    /// Bytes freed (as recorded).
    package var bytes: UInt64 = 0
    /// What could not be deleted, and why (kept as it was).
    package var failures: [String] = []

    package init() {}

    package var isEmpty: Bool { backups.isEmpty && logCopies.isEmpty && logsDropped.isEmpty && snapshots.isEmpty }

    mutating func merge(_ o: DeletionReport) {
        backups += o.backups; logCopies += o.logCopies; logsDropped += o.logsDropped; snapshots += o.snapshots
        bytes += o.bytes; failures += o.failures
    }
}

/// A set of backups and archived-log copies to delete.
package struct DeletionPlan {
    package var backups: [UInt64] = []
    /// Per log, the destinations whose copy goes; logs listed with no destination are only
    /// dropped from the record when nothing holds them any more.
    package var logCopies: [LogKey: [String]] = [:]
    /// Automatic snapshots to remove (by name); they are self-contained, nothing records them.
    package var snapshots: [String] = []

    package var isEmpty: Bool { backups.isEmpty && logCopies.isEmpty && snapshots.isEmpty }

    package init() {}

    package init(_ candidates: [RecoveryArea.Candidate]) {
        for c in candidates {
            if let id = c.backupId { backups.append(id) }
            if let k = c.log, let d = c.destination { logCopies[k, default: []].append(d) }
            if let name = c.snapshot { snapshots.append(name) }
        }
    }

    package init(_ r: ObsolescenceReport) {
        backups = r.backups.map(\.id)
        for l in r.logs { logCopies[l.key] = l.copies }
        snapshots = r.snapshots.map(\.name)
    }
}

extension ControlFile {
    /// Drops the record of each log in `keys` that has no copy left: no ARCHIVED destination
    /// and no AVAILABLE archived-log backup set holding it. Logs not yet archived are kept.
    package mutating func dropUnheldLogs(_ keys: Set<LogKey>) -> [LogKey] {
        let held = RecoveryArea.logsInAvailableSets(self)
        var dropped: [LogKey] = []
        redo.logs.removeAll { l in
            guard keys.contains(l.key), l.status != .online, !held.contains(l.key),
                  !l.destinations.contains(where: { $0.state == .archived }) else { return false }
            dropped.append(l.key)
            return true
        }
        return dropped
    }
}
