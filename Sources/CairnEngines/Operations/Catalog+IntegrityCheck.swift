import Foundation
import CairnFormats
import CairnCatalog

/// The periodic integrity check (PDIC) of backup sets (see `IntegrityCheckSchedule`): which
/// sets a backup taken now checks, checking them, and the schedule as a report.
extension Catalog {
    /// The schedule in the configured time zone (the system's when none is set).
    package var integrityCheckSchedule: IntegrityCheckSchedule {
        IntegrityCheckSchedule(timeZone: control.policy.integrityCheckTimeZone.flatMap(TimeZone.init(identifier:)) ?? .current)
    }

    /// Sets the time zone whose days the check goes by (an IANA name; nil: the system's).
    package func setIntegrityCheckTimeZone(_ name: String?) throws(EngineError) {
        if let name, TimeZone(identifier: name) == nil {
            throw .invalidArgument("'\(name)' is not a time zone Cairn knows; give an IANA name such as Europe/Berlin or UTC, or `system`.")
        }
        let op = try beginOperation(.writing, purpose: "change the integrity check's time zone")
        defer { op.end() }
        try transact { (c: inout ControlFile) throws(EngineError) in c.policy.integrityCheckTimeZone = name }
    }

    /// One set's standing in the schedule.
    package struct IntegrityCheckStatus: Codable, Sendable, Equatable {
        package let id: UInt64
        package let weekday: String
        package let lastCheckedAt: Date?
        package let nextDue: Date
        /// "ok", "failed: …", or "never checked".
        package let result: String
        package let restored: Bool
    }

    /// The sets the periodic check covers: every available backup, database backups and
    /// archived-log backup sets alike.
    private var checkedSets: [BackupRecord] { control.backups.filter(\.isAvailable) }

    /// Every available backup set of the database, with its check day, last check and next due time.
    package func integrityCheckReport(now: Date = Date()) -> [IntegrityCheckStatus] {
        let schedule = integrityCheckSchedule
        return checkedSets.map { b in
            let outcome = b.integrityCheck
            return IntegrityCheckStatus(id: b.id, weekday: IntegrityCheckSchedule.checkDay(of: b.id).name,
                                        lastCheckedAt: outcome?.checkedAt, nextDue: schedule.nextDue(Self.scheduleState(b), now: now),
                                        result: outcome.map { $0.ok ? "ok" : "failed: \($0.problem ?? "")" } ?? "never checked",
                                        restored: outcome?.restored ?? false)
        }
    }

    /// The sets a backup taken at `now` checks.
    package func integrityChecksDue(now: Date = Date()) -> [BackupRecord] {
        let schedule = integrityCheckSchedule
        return checkedSets.filter { schedule.isDue(Self.scheduleState($0), now: now) }
    }

    /// Checks every set due at `now` end to end (each piece read and verified as a restore
    /// would; with `restore`, also restored to a scratch file in the repository and checked by
    /// SQLite's `integrity_check`) and records each outcome. A failed check is recorded, not
    /// thrown: the backup that ran it succeeded.
    @discardableResult
    package func runDueIntegrityChecks(now: Date = Date(), restore: Bool = false, excluding: UInt64? = nil,
                                       monitor: OperationMonitor = OperationMonitor()) -> [(id: UInt64, outcome: IntegrityCheckOutcome)] {
        var done: [(UInt64, IntegrityCheckOutcome)] = []
        for set in integrityChecksDue(now: now) where set.id != excluding {
            let outcome = checkEndToEnd(set, at: now, restore: restore, monitor: monitor)
            do throws(EngineError) {
                try transact { (c: inout ControlFile) throws(EngineError) in
                    if let i = c.backups.firstIndex(where: { $0.id == set.id }) { c.backups[i].integrityCheck = outcome }
                }
                done.append((set.id, outcome))
                if outcome.ok {
                    logger.info("periodic integrity check of backup \(set.id): ok")
                } else {
                    logger.error("periodic integrity check of backup \(set.id) failed: \(outcome.problem ?? "")")
                }
            } catch {
                logger.error("periodic integrity check of backup \(set.id): the outcome could not be recorded: \(error.description)")
            }
        }
        return done
    }

    private func checkEndToEnd(_ set: BackupRecord, at now: Date, restore: Bool, monitor: OperationMonitor) -> IntegrityCheckOutcome {
        do throws(EngineError) {
            if set.kind == .archivedLogs {
                // Every stored log read and checked; there is no database to restore.
                let operation = try beginReadingStoredFiles(purpose: "check an archived-log backup set")
                defer { operation.end() }
                try validateArchivedLogSet(set)
                return IntegrityCheckOutcome(checkedAt: now, ok: true, restored: false, problem: nil)
            }
            _ = try validateRestore(backup: set.id, monitor: monitor)
            if restore {
                let scratch = layout.root + "/tmp-pdic-\(set.id)-\(getpid()).db"
                defer { FileSystem.removeTree(scratch) }
                _ = try self.restore(to: scratch, backup: set.id, force: true, monitor: monitor)
                let problems = try IntegrityCheck.problems(in: scratch, limit: IntegrityCheck.quoted)
                if !problems.isEmpty {
                    return IntegrityCheckOutcome(checkedAt: now, ok: false, restored: true,
                                                 problem: "SQLite's integrity_check of the restored set: " + problems.joined(separator: "; "))
                }
            }
            return IntegrityCheckOutcome(checkedAt: now, ok: true, restored: restore, problem: nil)
        } catch {
            return IntegrityCheckOutcome(checkedAt: now, ok: false, restored: false, problem: error.description)
        }
    }

    static func scheduleState(_ b: BackupRecord) -> IntegrityCheckSchedule.SetState {
        IntegrityCheckSchedule.SetState(id: b.id, completedAt: b.completedAt, lastCheckedAt: b.integrityCheck?.checkedAt)
    }
}
