import Foundation

/// The periodic data integrity check (PDIC) of backup sets, spread over the working week: each
/// set's check day is its id mod 5 (0 Monday … 4 Friday). The first backup taken on a set's
/// check day also checks that set, and any backup checks a set whose last check (or, never
/// checked, whose completion) is more than `maxAge` ago. Days are those of `timeZone`; "now" is
/// always given, so that tests fix it.
package struct IntegrityCheckSchedule: Sendable, Equatable {
    package var timeZone: TimeZone
    package static let maxAge: TimeInterval = 7 * 86_400

    package init(timeZone: TimeZone) { self.timeZone = timeZone }

    /// A day of the working week.
    package enum Weekday: Int, Sendable, CaseIterable, Codable {
        case monday = 2, tuesday, wednesday, thursday, friday

        package var name: String {
            switch self {
            case .monday: "Monday"
            case .tuesday: "Tuesday"
            case .wednesday: "Wednesday"
            case .thursday: "Thursday"
            case .friday: "Friday"
            }
        }
    }

    /// The day of the week on which set `id` is checked.
    package static func checkDay(of id: UInt64) -> Weekday {
        Weekday(rawValue: Weekday.monday.rawValue + Int(id % 5))!
    }

    /// What a set needs known to be scheduled.
    package struct SetState: Sendable, Equatable {
        package var id: UInt64
        package var completedAt: Date
        package var lastCheckedAt: Date?

        package init(id: UInt64, completedAt: Date, lastCheckedAt: Date?) {
            self.id = id
            self.completedAt = completedAt
            self.lastCheckedAt = lastCheckedAt
        }
    }

    private var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        return c
    }

    /// Whether a backup taken at `now` checks `set`: it is the set's check day and the set was
    /// not checked yet that day, or its last check (or completion) is more than `maxAge` ago.
    package func isDue(_ set: SetState, now: Date) -> Bool {
        if overdue(set, now: now) { return true }
        let cal = calendar
        guard cal.component(.weekday, from: now) == Self.checkDay(of: set.id).rawValue else { return false }
        guard let last = set.lastCheckedAt else { return true }
        return !cal.isDate(last, inSameDayAs: now)
    }

    /// Whether the set's last check (or, never checked, its completion) is more than `maxAge` ago.
    package func overdue(_ set: SetState, now: Date) -> Bool {
        now.timeIntervalSince(set.lastCheckedAt ?? set.completedAt) > Self.maxAge
    }

    /// When the set is next due: now when it is due now; otherwise the earlier of the start of
    /// its next check day (not checked on it yet) and the moment its last check becomes older
    /// than `maxAge`.
    package func nextDue(_ set: SetState, now: Date) -> Date {
        if isDue(set, now: now) { return now }
        let cal = calendar
        let ageLimit = (set.lastCheckedAt ?? set.completedAt).addingTimeInterval(Self.maxAge)
        var day = cal.startOfDay(for: now)
        for _ in 0..<8 {
            guard let next = cal.date(byAdding: .day, value: 1, to: day) else { break }
            day = next
            if cal.component(.weekday, from: day) == Self.checkDay(of: set.id).rawValue { break }
        }
        return min(day, ageLimit.addingTimeInterval(1))
    }
}
