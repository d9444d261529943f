import CairnAgent
import Foundation
import Synchronization

/// An `AgentStatusSource` that answers a snapshot the test sets.
package final class FixedStatusSource: AgentStatusSource {
    private let current: Mutex<AgentSnapshot>

    package init(_ snapshot: AgentSnapshot) { current = Mutex(snapshot) }

    package func snapshot() async -> AgentSnapshot { current.withLock { $0 } }

    package func set(_ snapshot: AgentSnapshot) { current.withLock { $0 = snapshot } }
}

/// Agent snapshots for the HTTP tests: a realistic one (three databases: healthy, with a gap
/// and a failing remote, failing) and a large synthetic one.
package enum AgentFixtures {
    /// Saturday 29 November 2025, 15:42:10 UTC.
    package static let now = Date(timeIntervalSince1970: 1_764_430_930)

    private static func at(days: Double = 0, hours: Double = 0, minutes: Double = 0) -> Date {
        now.addingTimeInterval(-(days * 86400 + hours * 3600 + minutes * 60))
    }

    /// Three databases as an agent protecting a shop would show them.
    package static func realistic() -> AgentSnapshot {
        var s = AgentSnapshot(startedAt: at(days: 3, hours: 6), takenAt: now, configFile: "/etc/cairn/agent.yml")
        s.databases = [orders(), tenant(), analytics()]
        var shop = RemoteTraffic(remote: "s3://acme-backups/shop")
        shop.requests = ["put": 18_412, "get": 37, "head": 1_204, "list": 96, "multipartPart": 512, "multipartControl": 64, "delete": 221]
        shop.bytesSent = 48_318_201_344
        shop.bytesReceived = 9_120_331
        shop.errors = 3
        var eu = RemoteTraffic(remote: "s3://acme-eu/tenants")
        eu.requests = ["put": 2_210, "head": 301, "list": 12]
        eu.bytesSent = 1_904_112_640
        eu.errors = 41
        s.remoteTraffic = [shop, eu]
        return s
    }

    private static func orders() -> DatabaseSnapshot {
        var d = DatabaseSnapshot(path: "/srv/shop/orders.db", id: "orders", entryLine: 6, state: .capturing)
        d.dbid = 7_311_842_231
        d.repository = "/srv/shop/orders.db.cairn"
        d.incarnation = 1
        d.capturedScn = 1_482_907
        d.archivedScn = 1_482_611
        d.recoverableScn = 1_482_907
        d.captureLagSeconds = 0.4
        d.captureLagBytes = 12_288
        d.lastBackupAt = ["0": at(days: 6, hours: 13, minutes: 42), "1": at(hours: 13, minutes: 40)]
        d.recoveryWindowStart = at(days: 13, hours: 13, minutes: 42)
        d.remotes = [RemoteSnapshot(url: "s3://acme-backups/shop", mode: "archive", logsBehind: 0, backupsBehind: 0, bytesBehind: 0, lagSeconds: 42, lastError: nil)]
        d.recoveryAreaBytes = 3_651_200_000
        d.recoveryAreaLimitBytes = 21_474_836_480
        d.jobRuns = ["backup-level0": 1, "backup-level1": 3, "archivelog": 4_412, "delete-obsolete": 3, "crosscheck": 1]
        d.jobFailures = ["archivelog": 2]
        d.findings = [Finding(priority: .low, summary: "Cumulative level-1 backups would restore faster: 6 incrementals are applied after the newest level 0")]
        d.timeline = weeklyTimeline(scnPerDay: 105_000, restorePoint: Timeline.Mark(name: "before-migration-42", scn: 1_271_300, time: at(days: 2, hours: 5, minutes: 27)))
        d.recentJobs = [
            JobRecord(id: 4_431, kind: "archivelog", scheduledAt: nil, startedAt: at(minutes: 4), endedAt: at(minutes: 3.9), outcome: .succeeded,
                      output: "archived 1 log (SCN 1482412–1482611, 3.9 MiB → 1.1 MiB zstd) to s3://acme-backups/shop"),
            JobRecord(id: 4_402, kind: "backup-level1", scheduledAt: at(hours: 13, minutes: 42), startedAt: at(hours: 13, minutes: 42), endedAt: at(hours: 13, minutes: 40),
                      outcome: .succeeded, output: "level-1 backup #58 at SCN 1427210: 2,418 pages changed since #57 (9.4 MiB), 31 s"),
            JobRecord(id: 4_398, kind: "archivelog", scheduledAt: nil, startedAt: at(hours: 16), endedAt: at(hours: 15.9), attempt: 2, outcome: .failed,
                      output: "PUT s3://acme-backups/shop/logs/0000000412.log: 503 Slow Down (retried 5 times)\n<Error><Code>SlowDown</Code></Error>"),
        ]
        return d
    }

    private static func tenant() -> DatabaseSnapshot {
        var d = DatabaseSnapshot(path: "/srv/tenants/acme.sqlite", id: "tenants-acme", entryLine: 14, state: .capturing)
        d.problems = ["remote s3://acme-eu/tenants is 2 h 10 min behind: PUT failed with 503 Slow Down (41 errors since the agent started)"]
        d.dbid = 2_904_117_650
        d.repository = "/srv/tenants/acme.sqlite.cairn"
        d.incarnation = 2
        d.capturedScn = 96_211
        d.archivedScn = 96_040
        d.recoverableScn = 96_211
        d.captureLagSeconds = 1.8
        d.captureLagBytes = 65_536
        d.lastBackupAt = ["0": at(days: 3, hours: 4, minutes: 37), "1": at(hours: 13, minutes: 35)]
        d.recoveryWindowStart = at(days: 3, hours: 4, minutes: 37)
        d.remotes = [RemoteSnapshot(url: "s3://acme-eu/tenants", mode: "archive", logsBehind: 37, backupsBehind: 1, bytesBehind: 412_090_368, lagSeconds: 7_800,
                                    lastError: "PUT acme-eu/tenants/acme/logs/0000000188.log: 503 Slow Down")]
        d.recoveryAreaBytes = 812_400_000
        d.recoveryAreaLimitBytes = 5_368_709_120
        d.jobRuns = ["backup-level0": 1, "backup-level1": 3, "archivelog": 1_208, "delete-obsolete": 3]
        d.jobFailures = ["archivelog": 41]
        d.findings = [
            Finding(priority: .high, summary: "The logs have a gap at SCN 71,204 (capture was stopped 14 min): a point-in-time restore cannot reach between Nov 21 03:12 and 03:26"),
            Finding(priority: .high, summary: "Remote s3://acme-eu/tenants is 37 logs and 1 backup behind (2 h 10 min): the last copy failed with 503 Slow Down"),
        ]
        d.timeline = tenantTimeline()
        d.recentJobs = [
            JobRecord(id: 1_290, kind: "archivelog", scheduledAt: nil, startedAt: at(minutes: 2), attempt: 4, outcome: .retrying,
                      output: "PUT acme-eu/tenants/acme/logs/0000000188.log: 503 Slow Down; attempt 5 in 2 min"),
            JobRecord(id: 1_201, kind: "backup-level0", scheduledAt: nil, startedAt: at(days: 3, hours: 4, minutes: 40), endedAt: at(days: 3, hours: 4, minutes: 37),
                      outcome: .succeeded, output: "level-0 backup #19 of incarnation 2 at SCN 80,310: 41,209 pages (161 MiB → 38 MiB), 2 min 51 s"),
        ]
        return d
    }

    private static func analytics() -> DatabaseSnapshot {
        var d = DatabaseSnapshot(path: "/srv/analytics/events.db", id: "analytics-events", entryLine: 21, state: .failing)
        d.problems = [
            "capture stopped: writing /srv/analytics/events.db.cairn/redo/0000000912.log failed: no space left on device (ENOSPC); retrying every 60 s",
            "the newest level-0 backup is 12 days old (the RPO allows 7)",
        ]
        d.dbid = 5_530_019_876
        d.repository = "/srv/analytics/events.db.cairn"
        d.incarnation = 1
        d.capturedScn = 8_120_554
        d.archivedScn = 8_120_554
        d.recoverableScn = 8_120_554
        d.captureLagSeconds = 1_250
        d.captureLagBytes = 734_003_200
        d.lastBackupAt = ["0": at(days: 12, hours: 13, minutes: 42)]
        d.recoveryWindowStart = at(days: 12, hours: 13, minutes: 42)
        d.recoveryAreaBytes = 20_937_965_568
        d.recoveryAreaLimitBytes = 21_474_836_480
        d.jobRuns = ["backup-level0": 0, "archivelog": 9_911, "delete-obsolete": 3]
        d.jobFailures = ["backup-level0": 0, "archivelog": 12, "delete-obsolete": 3]
        d.findings = [
            Finding(priority: .critical, summary: "The recovery area is 98% full (19.5 GiB of 20 GiB): capture stopped; delete obsolete backups or raise the limit"),
            Finding(priority: .high, summary: "No level-0 backup for 12 days: restores replay 12 days of logs; schedule a weekly level 0"),
        ]
        var t = Timeline()
        t.now = now
        t.windowStart = at(days: 12, hours: 13, minutes: 42)
        t.backups = [Timeline.Backup(id: 3, level: 0, cumulative: false, scn: 6_010_220, time: at(days: 12, hours: 13, minutes: 42))]
        t.logSpans = [
            Timeline.LogSpan(firstScn: 6_010_221, lastScn: 8_110_000, start: at(days: 12, hours: 13, minutes: 42), end: at(minutes: 25), archived: true, logs: 902),
            Timeline.LogSpan(firstScn: 8_110_001, lastScn: 8_120_554, start: at(minutes: 25), end: at(minutes: 21), archived: false, logs: 2),
        ]
        d.timeline = t
        d.recentJobs = [
            JobRecord(id: 9_990, kind: "delete-obsolete", scheduledAt: at(hours: 12, minutes: 12), startedAt: at(hours: 12, minutes: 12), endedAt: at(hours: 12, minutes: 12),
                      outcome: .failed, output: "nothing is obsolete: redundancy 2 keeps both level-0 backups"),
        ]
        return d
    }

    /// Two weeks of weekly level-0 (Sundays 02:00) and daily level-1 backups, logs archived up
    /// to a few minutes ago and one still online.
    private static func weeklyTimeline(scnPerDay: Double, restorePoint: Timeline.Mark) -> Timeline {
        var t = Timeline()
        t.now = now
        let start = at(days: 13, hours: 13, minutes: 42)
        t.windowStart = start
        t.backups = (0..<14).map { day in
            let time = start.addingTimeInterval(Double(day) * 86400)
            let level = day % 7 == 0 ? 0 : 1
            return Timeline.Backup(id: UInt64(45 + day), level: level, cumulative: day == 3 || day == 10, scn: UInt64(Double(day) * scnPerDay) + 12_000, time: time)
        }
        t.logSpans = [
            Timeline.LogSpan(firstScn: 12_001, lastScn: 1_482_611, start: start, end: at(minutes: 4), archived: true, logs: 4_410),
            Timeline.LogSpan(firstScn: 1_482_612, lastScn: 1_482_907, start: at(minutes: 4), end: now, archived: false, logs: 1),
        ]
        t.restorePoints = [restorePoint]
        return t
    }

    private static func tenantTimeline() -> Timeline {
        var t = Timeline()
        t.now = now
        let first = at(days: 9, hours: 13, minutes: 42)
        t.windowStart = at(days: 3, hours: 4, minutes: 37)
        t.backups = [
            Timeline.Backup(id: 11, level: 0, cumulative: false, scn: 40_100, time: first),
            Timeline.Backup(id: 14, level: 1, cumulative: false, scn: 52_000, time: at(days: 7, hours: 13, minutes: 40)),
            Timeline.Backup(id: 16, level: 1, cumulative: true, scn: 66_000, time: at(days: 5, hours: 13, minutes: 40)),
            Timeline.Backup(id: 19, level: 0, cumulative: false, scn: 80_310, time: at(days: 3, hours: 4, minutes: 37)),
            Timeline.Backup(id: 20, level: 1, cumulative: false, scn: 86_000, time: at(days: 2, hours: 13, minutes: 35)),
            Timeline.Backup(id: 21, level: 1, cumulative: false, scn: 91_000, time: at(days: 1, hours: 13, minutes: 35)),
            Timeline.Backup(id: 22, level: 1, cumulative: false, scn: 95_500, time: at(hours: 13, minutes: 35)),
        ]
        let gapTime = at(days: 8, hours: 12, minutes: 30)
        t.logSpans = [
            Timeline.LogSpan(firstScn: 40_101, lastScn: 71_203, start: first, end: gapTime, archived: true, logs: 310),
            Timeline.LogSpan(firstScn: 71_204, lastScn: 80_300, start: gapTime.addingTimeInterval(840), end: at(days: 3, hours: 4, minutes: 50), archived: true, logs: 402),
            Timeline.LogSpan(firstScn: 80_311, lastScn: 96_040, start: at(days: 3, hours: 4, minutes: 37), end: at(hours: 2, minutes: 10), archived: true, logs: 501),
            Timeline.LogSpan(firstScn: 96_041, lastScn: 96_211, start: at(hours: 2, minutes: 10), end: now, archived: false, logs: 37),
        ]
        t.gaps = [Timeline.Gap(scn: 71_204, time: gapTime, detail: "capture was stopped for 14 min; transactions in between were not captured")]
        t.incarnations = [Timeline.Mark(name: "incarnation 1", scn: 1, time: first), Timeline.Mark(name: "incarnation 2", scn: 80_300, time: at(days: 3, hours: 4, minutes: 45))]
        return t
    }

    /// `count` databases with every kind of series (remotes, jobs, findings, backups).
    package static func many(_ count: Int) -> AgentSnapshot {
        var s = AgentSnapshot(startedAt: at(days: 1), takenAt: now, configFile: "/etc/cairn/agent.yml")
        s.databases = (0..<count).map { i in
            var d = DatabaseSnapshot(path: "/srv/tenants/tenant-\(i).db", id: "tenant-\(i)", entryLine: 5, state: i % 50 == 7 ? .failing : .capturing)
            d.dbid = UInt64(1_000_000 + i)
            d.incarnation = 1
            d.capturedScn = UInt64(10_000 + i * 17)
            d.archivedScn = UInt64(9_000 + i * 17)
            d.captureLagSeconds = Double(i % 13) / 4
            d.captureLagBytes = UInt64(i % 7) * 4096
            d.lastBackupAt = ["0": at(days: Double(i % 7)), "1": at(hours: Double(i % 24))]
            d.recoveryWindowStart = at(days: 7 + Double(i % 7))
            d.remotes = [RemoteSnapshot(url: "s3://tenants/\(i)", mode: "archive", logsBehind: i % 3, backupsBehind: 0, bytesBehind: UInt64(i % 3) << 20,
                                        lagSeconds: Double(i % 3) * 30, lastError: nil)]
            d.recoveryAreaBytes = UInt64(i) << 24
            d.recoveryAreaLimitBytes = 1 << 34
            d.jobRuns = ["backup-level0": 1, "backup-level1": UInt64(i % 5), "archivelog": UInt64(i * 3), "delete-obsolete": 1]
            d.jobFailures = ["archivelog": UInt64(i % 2)]
            if i % 50 == 7 {
                d.problems = ["capture stopped: disk full"]
                d.findings = [Finding(priority: .critical, summary: "capture stopped")]
            }
            return d
        }
        s.remoteTraffic = (0..<count).map { i in
            var r = RemoteTraffic(remote: "s3://tenants/\(i)")
            r.requests = ["put": UInt64(i * 10), "head": UInt64(i)]
            r.bytesSent = UInt64(i) << 20
            return r
        }
        return s
    }
}
