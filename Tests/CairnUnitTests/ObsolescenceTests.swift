@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import Foundation
import Testing

/// The obsolescence calculator as a pure function of a control file and a time.
@Suite struct ObsolescenceTests {
    static let now = Date(timeIntervalSince1970: 2_000_000_000)
    static func daysAgo(_ d: Double) -> Date { now.addingTimeInterval(-d * 86_400) }

    static func backup(_ id: UInt64, scn: UInt64, inc: Int = 1, level: Int = 0, base: UInt64? = nil, daysAgo d: Double = 0,
                       kind: BackupRecord.Kind = .backupSet, keepForever: Bool? = nil, keepUntil: Date? = nil,
                       logs: [LogKey]? = nil) -> BackupRecord {
        let at = daysAgo(d)
        var m = BackupManifest(dbid: "1", backupId: id, kind: kind, level: level, incarnation: inc, scn: scn, pageSize: 4096,
                               pageCount: 10, stateChecksum: "0", compression: "zstd", compressionLevel: -1, blockPages: 1, files: [],
                               tag: nil, databaseName: "app.db", startedAt: at, completedAt: at, release: "test")
        m.baseId = base
        m.keepForever = keepForever
        m.keepUntil = keepUntil
        var r = BackupRecord(manifest: m, bytes: 1000, directory: "backups/" + RepositoryLayout.backupDirectoryName(id))
        r.logs = logs
        return r
    }

    static func log(_ seq: UInt64, _ low: UInt64, _ high: UInt64, inc: Int = 1, status: LogRecord.Status = .archived) -> LogRecord {
        LogRecord(sequence: seq, incarnation: inc, group: 1, lowScn: low, highScn: high, lowTime: nil, highTime: nil, records: Int(high - low + 1),
                  bytes: 10, xxh3: "0", status: status,
                  destinations: [.init(destination: "/archive", state: status == .online ? .pending : .archived)], closedAt: now)
    }

    static func control(_ backups: [BackupRecord], _ logs: [LogRecord], retention: Policy.Retention,
                        incarnations: [ControlFile.Incarnation]? = nil, points: [RestorePoint] = []) -> ControlFile {
        var redo = RedoState(memberDirectories: ["/online"], archiveDestinations: ["/archive"])
        redo.logs = logs
        var c = ControlFile(dbid: "1", databasePath: "/db", repository: "/repo", controlCopies: [], incarnation: incarnations?.last?.number ?? 1,
                            incarnations: incarnations ?? [.init(number: 1, parent: nil, resetScn: 0, startScn: 1, createdAt: now)],
                            scn: logs.map(\.highScn).max() ?? 0, walCursor: nil, nextBackupId: (backups.map(\.id).max() ?? 0) + 1,
                            backups: backups, redo: redo, createdAt: now, updatedAt: now)
        c.policy.retention = retention
        c.restorePoints = points
        return c
    }

    /// Three level 0s at SCNs 10, 20, 30 and a log for each stretch of 10 SCNs.
    static let three = [backup(1, scn: 10, daysAgo: 10), backup(2, scn: 20, daysAgo: 5), backup(3, scn: 30, daysAgo: 1)]
    static let fourLogs = [log(1, 1, 10), log(2, 11, 20), log(3, 21, 30), log(4, 31, 40)]

    func ids(_ r: ObsolescenceReport) -> [UInt64] { r.backups.map(\.id) }
    func seqs(_ r: ObsolescenceReport) -> [UInt64] { r.logs.map(\.sequence) }

    @Test func redundancyTwoMakesTheOldestBackupAndTheLogsBeforeTheSecondObsolete() {
        let r = Obsolescence.compute(Self.control(Self.three, Self.fourLogs, retention: .redundancy(2)), now: Self.now)
        #expect(ids(r) == [1])
        #expect(seqs(r) == [1])
        #expect(r.floorBackupId == 2 && r.floorScn == 20)
        #expect(r.backups[0].reason.contains("redundancy 2"))
        #expect(r.bytes == 1000 + 10)
        let one = Obsolescence.compute(Self.control(Self.three, Self.fourLogs, retention: .redundancy(1)), now: Self.now)
        #expect(ids(one) == [1, 2])
        #expect(seqs(one) == [1, 2])
        let many = Obsolescence.compute(Self.control(Self.three, Self.fourLogs, retention: .redundancy(5)), now: Self.now)
        #expect(many.isEmpty && many.floorBackupId == 1)
    }

    @Test func noRetentionMakesNothingObsolete() {
        let r = Obsolescence.compute(Self.control(Self.three, Self.fourLogs, retention: .none), now: Self.now)
        #expect(r.isEmpty && r.retention == "none" && r.floorBackupId == nil)
        let empty = Obsolescence.compute(Self.control([], Self.fourLogs, retention: .redundancy(1)), now: Self.now)
        #expect(empty.isEmpty)
    }

    @Test func windowKeepsWhatAnyPointInTheWindowNeeds() {
        func run(_ days: Double) -> ObsolescenceReport {
            Obsolescence.compute(Self.control(Self.three, Self.fourLogs, retention: .window(days: days)), now: Self.now)
        }
        // Backups 10, 5 and 1 day old.
        #expect(run(7).isEmpty && run(7).floorBackupId == 1)
        #expect(ids(run(3)) == [1] && seqs(run(3)) == [1])
        #expect(ids(run(0.5)) == [1, 2] && seqs(run(0.5)) == [1, 2])
        // Nothing old enough: the oldest level 0 is the floor.
        #expect(run(30).isEmpty && run(30).floorBackupId == 1)
        #expect(run(3).retention == "window 3 days")
    }

    @Test func archivalBackupsAreExemptWhileKeptAndDoNotCount() {
        let kept = [Self.backup(1, scn: 10, daysAgo: 10, keepForever: true), Self.backup(2, scn: 20, daysAgo: 5), Self.backup(3, scn: 30, daysAgo: 1)]
        let r = Obsolescence.compute(Self.control(kept, Self.fourLogs, retention: .redundancy(1)), now: Self.now)
        #expect(ids(r) == [2])
        #expect(r.floorBackupId == 3)
        // The archival backup is a consistent snapshot: it needs no log.
        #expect(seqs(r) == [1, 2])
        let until = [Self.backup(1, scn: 10, daysAgo: 10, keepUntil: Self.daysAgo(-1)), Self.backup(2, scn: 20), Self.backup(3, scn: 30)]
        #expect(ids(Obsolescence.compute(Self.control(until, [], retention: .redundancy(1)), now: Self.now)) == [2])
        // Once keepUntil has passed, it is obsolete like the others.
        let passed = [Self.backup(1, scn: 10, daysAgo: 10, keepUntil: Self.daysAgo(2)), Self.backup(2, scn: 20), Self.backup(3, scn: 30)]
        #expect(ids(Obsolescence.compute(Self.control(passed, [], retention: .redundancy(1)), now: Self.now)) == [1, 2])
        // Redundancy 2 counts only the backups that are not kept.
        let two = Obsolescence.compute(Self.control(kept + [Self.backup(4, scn: 40)], [], retention: .redundancy(2)), now: Self.now)
        #expect(ids(two) == [2])
    }

    @Test func levelOnesFollowTheirChain() {
        let backups = [Self.backup(1, scn: 10), Self.backup(2, scn: 15, level: 1, base: 1), Self.backup(3, scn: 30),
                       Self.backup(4, scn: 35, level: 1, base: 3), Self.backup(5, scn: 36, level: 1, base: 4),
                       Self.backup(6, scn: 37, level: 1, base: 99)]
        let r = Obsolescence.compute(Self.control(backups, [], retention: .redundancy(1)), now: Self.now)
        #expect(ids(r) == [1, 2, 6])
        #expect(r.backups.first { $0.id == 2 }?.reason.contains("backup 1") == true)
        #expect(r.backups.first { $0.id == 6 }?.reason.contains("broken") == true)
    }

    @Test func onlineUnarchivedAndExpiredRecordsAreNeverObsolete() {
        var expired = Self.backup(1, scn: 5)
        expired.status = .expired
        let logs = [Self.log(1, 1, 10, status: .online), Self.log(2, 11, 20, status: .expired), Self.log(3, 21, 30)]
        let r = Obsolescence.compute(Self.control([expired, Self.backup(2, scn: 10), Self.backup(3, scn: 40)], logs, retention: .redundancy(1)), now: Self.now)
        #expect(ids(r) == [2])
        #expect(seqs(r) == [3])
    }

    @Test func logsOfEarlierIncarnationsAreObsolete() {
        let incs: [ControlFile.Incarnation] = [.init(number: 1, parent: nil, resetScn: 0, startScn: 1, createdAt: Self.now),
                                               .init(number: 2, parent: 1, resetScn: 15, startScn: 41, createdAt: Self.now)]
        let backups = [Self.backup(1, scn: 10), Self.backup(2, scn: 15, inc: 2)]
        let logs = Self.fourLogs + [Self.log(1, 41, 50, inc: 2)]
        let r = Obsolescence.compute(Self.control(backups, logs, retention: .redundancy(1), incarnations: incs), now: Self.now)
        #expect(ids(r) == [1])
        #expect(r.logs.map(\.key) == [1, 2, 3, 4].map { LogKey(incarnation: 1, sequence: $0) })
    }

    @Test func logBackupSetsGoWhenAllTheirLogsAreObsolete() {
        let k = { (s: UInt64) in LogKey(incarnation: 1, sequence: s) }
        let backups = Self.three + [Self.backup(4, scn: 0, kind: .archivedLogs, logs: [k(1)]),
                                    Self.backup(5, scn: 0, kind: .archivedLogs, logs: [k(1), k(3)])]
        let r = Obsolescence.compute(Self.control(backups, Self.fourLogs, retention: .redundancy(2)), now: Self.now)
        #expect(ids(r) == [1, 4])
    }

    @Test func aGuaranteedRestorePointKeepsItsBackupAndLogs() {
        let point = RestorePoint(name: "before-upgrade", scn: 15, incarnation: 1, createdAt: Self.now, guaranteed: true)
        let r = Obsolescence.compute(Self.control(Self.three, Self.fourLogs, retention: .redundancy(1), points: [point]), now: Self.now)
        // Backup 1 (SCN 10) and log 2 (SCNs 11-20) reach SCN 15; backup 2 and log 1 are not needed.
        #expect(ids(r) == [2])
        #expect(seqs(r) == [1])
        let g = RestorePointGuarantee.of(point, in: Self.control(Self.three, Self.fourLogs, retention: .none))
        // Log 2 reaches the point; logs 3 and 4 (after it, to the newest) are what a flashback to it reads.
        #expect(g.backupId == 1 && g.backups == [1] && g.logs == [2, 3, 4].map { LogKey(incarnation: 1, sequence: $0) })
        // Not guaranteed: no protection.
        var plain = point
        plain.guaranteed = false
        #expect(ids(Obsolescence.compute(Self.control(Self.three, Self.fourLogs, retention: .redundancy(1), points: [plain]), now: Self.now)) == [1, 2])
    }

    @Test func recoveryAreaCandidatesPutObsoleteFilesFirstThenCopiesSafeElsewhere() {
        var logs = Self.fourLogs.map { l -> LogRecord in
            var l = l
            l.destinations = [.init(destination: "/repo/archive", state: .archived), .init(destination: "/offsite", state: .archived)]
            return l
        }
        logs[3].destinations[1].state = .failed // log 4 exists only in the area
        var c = Self.control(Self.three, logs, retention: .redundancy(2))
        c.redo.archiveDestinations = ["/repo/archive", "/offsite"]
        let cands = RecoveryArea(root: "/repo").candidates(c, now: Self.now)
        #expect(cands.map(\.what) == [.obsoleteBackup, .obsoleteLogCopy, .logCopySafeElsewhere, .logCopySafeElsewhere])
        #expect(cands.compactMap(\.log).map(\.sequence) == [1, 2, 3])
        #expect(cands.allSatisfy { $0.destination == nil || $0.destination == "/repo/archive" })
        #expect(RecoveryArea.plan(cands, toFree: 1005)?.count == 2)
        #expect(RecoveryArea.plan(cands, toFree: 1_000_000) == nil)
    }
}
