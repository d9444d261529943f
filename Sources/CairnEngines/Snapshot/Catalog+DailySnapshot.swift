import Foundation
import CairnFormats
import CairnCatalog

/// What `cairn snapshot run-due` (or the agent) did.
package struct DailySnapshotRun: Sendable, Codable {
    /// The snapshot made, nil when none was due.
    package var made: SnapshotInfo?
    /// Older automatic snapshots removed (beyond `keep`).
    package var dropped: [String]
    /// When the next one is due; nil when no daily snapshot is configured.
    package var nextDue: Date?
}

extension Catalog {
    /// Turns the daily snapshot on (`schedule`) or off (nil).
    package func configureDailySnapshot(_ schedule: DailySnapshot?) throws(EngineError) {
        try transact { (c: inout ControlFile) throws(EngineError) in c.policy.dailySnapshot = schedule }
    }

    /// The automatic snapshot due now (its name), nil when none is configured or today's is made.
    package func dailySnapshotDue(now: Date = Date()) -> String? {
        guard let schedule = control.policy.dailySnapshot else { return nil }
        let name = DailySnapshot.name(for: schedule.slot(before: now))
        return FileSystem.exists(snapshotsDirectory + "/" + name + Self.snapshotExtension) ? nil : name
    }

    /// Makes the day's automatic snapshot when it is due, then keeps only the `keep` newest
    /// automatic ones (named snapshots stay until dropped).
    package func runDueSnapshot(now: Date = Date(), monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> DailySnapshotRun {
        guard let schedule = control.policy.dailySnapshot else {
            return DailySnapshotRun(made: nil, dropped: [], nextDue: nil)
        }
        var run = DailySnapshotRun(made: nil, dropped: [], nextDue: nil)
        if let name = dailySnapshotDue(now: now) {
            run.made = try createSnapshot(name: name, target: nil, monitor: monitor)
        }
        for old in schedule.obsolete(recoveryArea.snapshots) {
            try dropSnapshot(old.name)
            run.dropped.append(old.name)
        }
        run.nextDue = Calendar.current.date(byAdding: .day, value: 1, to: schedule.slot(before: now))
        return run
    }
}
