import CairnCatalog
import CairnTestSupport
import Foundation
import Testing

/// The PDIC schedule: a set's check day from its id, the first backup of that day, the 7-day
/// rule, and days as the configured time zone has them ("now" fixed through the library).
@Suite struct IntegrityCheckScheduleTests {
    /// 2026-11-30 was a Monday.
    static func date(_ text: String, _ zone: String = "UTC") -> Date { WallClock.at(text, zone) }

    let utc = IntegrityCheckSchedule(timeZone: TimeZone(identifier: "UTC")!)

    @Test(arguments: 0..<10)
    func theCheckDayIsTheIdModFive(id: Int) {
        let expected: [IntegrityCheckSchedule.Weekday] = [.monday, .tuesday, .wednesday, .thursday, .friday]
        #expect(IntegrityCheckSchedule.checkDay(of: UInt64(id)) == expected[id % 5])
    }

    @Test(arguments: 0..<7)
    func aSetIsDueOnItsCheckDayOnlyUntilChecked(dayOffset: Int) {
        let now = Self.date("2026-11-30T09:00:00").addingTimeInterval(Double(dayOffset) * 86_400)
        let completed = Self.date("2026-11-27T09:00:00")
        for id in UInt64(0)..<5 {
            let set = IntegrityCheckSchedule.SetState(id: id, completedAt: completed, lastCheckedAt: Self.date("2026-11-29T09:00:00"))
            let isCheckDay = dayOffset < 5 && Int(id) == dayOffset
            #expect(utc.isDue(set, now: now) == isCheckDay, "set \(id) on day +\(dayOffset)")
            var checked = set
            checked.lastCheckedAt = now.addingTimeInterval(-3600)
            #expect(!utc.isDue(checked, now: now), "set \(id) checked earlier that day")
        }
    }

    @Test func aSetLastCheckedMoreThanSevenDaysAgoIsDueAnyDay() {
        let saturday = Self.date("2026-12-05T12:00:00")
        var set = IntegrityCheckSchedule.SetState(id: 3, completedAt: Self.date("2026-11-01T00:00:00"), lastCheckedAt: Self.date("2026-11-28T11:59:59"))
        #expect(utc.isDue(set, now: saturday.addingTimeInterval(2 * 86_400)))
        set.lastCheckedAt = Self.date("2026-11-28T12:00:01")
        #expect(!utc.isDue(set, now: saturday))
        let never = IntegrityCheckSchedule.SetState(id: 3, completedAt: Self.date("2026-11-20T00:00:00"), lastCheckedAt: nil)
        #expect(utc.isDue(never, now: saturday))
    }

    @Test func daysAreTheConfiguredTimeZones() {
        // Monday 00:30 in Tokyo is still Sunday in UTC.
        let now = Self.date("2026-11-30T00:30:00", "Asia/Tokyo")
        let set = IntegrityCheckSchedule.SetState(id: 5, completedAt: now.addingTimeInterval(-86_400), lastCheckedAt: now.addingTimeInterval(-86_400))
        #expect(IntegrityCheckSchedule(timeZone: TimeZone(identifier: "Asia/Tokyo")!).isDue(set, now: now))
        #expect(!utc.isDue(set, now: now))
        // Checked at 23:30 Sunday UTC = Monday 08:30 in Tokyo: the same Tokyo day as a backup at 09:00.
        var checked = set
        checked.lastCheckedAt = Self.date("2026-11-29T23:30:00")
        #expect(!IntegrityCheckSchedule(timeZone: TimeZone(identifier: "Asia/Tokyo")!).isDue(checked, now: Self.date("2026-11-30T09:00:00", "Asia/Tokyo")))
    }

    @Test func nextDueIsTheNextCheckDayOrTheSevenDayLimit() {
        let tuesday = Self.date("2026-12-01T10:00:00")
        let set = IntegrityCheckSchedule.SetState(id: 0, completedAt: tuesday.addingTimeInterval(-3600), lastCheckedAt: nil)
        #expect(utc.nextDue(set, now: tuesday) == Self.date("2026-12-07T00:00:00"))
        let old = IntegrityCheckSchedule.SetState(id: 0, completedAt: Self.date("2026-11-25T12:00:00"), lastCheckedAt: Self.date("2026-11-25T12:00:00"))
        #expect(utc.nextDue(old, now: tuesday) == Self.date("2026-12-02T12:00:01"))
        let today = IntegrityCheckSchedule.SetState(id: 1, completedAt: tuesday.addingTimeInterval(-3600), lastCheckedAt: nil)
        #expect(utc.nextDue(today, now: tuesday) == tuesday)
    }
}
