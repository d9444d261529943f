import Foundation

/// When a job runs: a cron expression (`minute hour day-of-month month day-of-week`, each a
/// `*`, a number, a range `a-b`, a list `a,b`, or a step `*/n` or `a-b/n`; Sunday is 0 or 7), or
/// `daily at HH:MM`, `hourly`, or `weekly on DAY at HH:MM`. Times are local.
package struct Schedule: Sendable, Equatable, CustomStringConvertible {
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    /// Day of month and day of week both restricted: cron runs on either (not both).
    let eitherDay: Bool
    package let description: String

    /// Parses `text`; the error says what is wrong with it.
    package init(parsing text: String) throws(ScheduleError) {
        let t = text.trimmingCharacters(in: .whitespaces)
        description = t
        let words = t.lowercased().split(separator: " ").map(String.init)
        if words == ["hourly"] {
            (minutes, hours, days, months, weekdays, eitherDay) = ([0], Set(0...23), Set(1...31), Set(1...12), Set(0...6), false)
            return
        }
        if words.count == 3, words[0] == "daily", words[1] == "at" {
            let (h, m) = try Self.time(words[2])
            (minutes, hours, days, months, weekdays, eitherDay) = ([m], [h], Set(1...31), Set(1...12), Set(0...6), false)
            return
        }
        if words.count == 5, words[0] == "weekly", words[1] == "on", words[3] == "at" {
            guard let d = Self.dayNames.firstIndex(where: { words[2].hasPrefix($0) }) else { throw .init("'\(words[2])' is not a day of the week") }
            let (h, m) = try Self.time(words[4])
            (minutes, hours, days, months, weekdays, eitherDay) = ([m], [h], Set(1...31), Set(1...12), [d], false)
            return
        }
        guard words.count == 5 else {
            throw .init("'\(t)' is neither a cron expression (5 fields: minute hour day month weekday) nor 'daily at HH:MM', 'weekly on DAY at HH:MM' or 'hourly'")
        }
        minutes = try Self.field(words[0], 0...59, "minute")
        hours = try Self.field(words[1], 0...23, "hour")
        days = try Self.field(words[2], 1...31, "day of the month")
        months = try Self.field(words[3], 1...12, "month")
        weekdays = Set(try Self.field(words[4], 0...7, "day of the week").map { $0 % 7 })
        eitherDay = words[2] != "*" && words[4] != "*"
    }

    /// The first minute strictly after `date` at which the job is due (nil when the fields
    /// can never match, such as 31 February).
    package func next(after date: Date, calendar: Calendar = .current) -> Date? {
        guard var t = calendar.nextDate(after: date, matching: DateComponents(second: 0), matchingPolicy: .nextTime) else { return nil }
        for _ in 0..<(366 * 24 * 60 * 5) {
            let c = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: t)
            if matches(minute: c.minute!, hour: c.hour!, day: c.day!, month: c.month!, weekday: c.weekday! - 1) { return t }
            guard let n = calendar.date(byAdding: .minute, value: 1, to: t) else { return nil }
            t = n
        }
        return nil
    }

    func matches(minute: Int, hour: Int, day: Int, month: Int, weekday: Int) -> Bool {
        guard minutes.contains(minute), hours.contains(hour), months.contains(month) else { return false }
        return eitherDay ? (days.contains(day) || weekdays.contains(weekday)) : (days.contains(day) && weekdays.contains(weekday))
    }

    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    private static func time(_ text: String) throws(ScheduleError) -> (Int, Int) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0...23).contains(h), (0...59).contains(m) else {
            throw .init("'\(text)' is not a time of day HH:MM")
        }
        return (h, m)
    }

    private static func field(_ text: String, _ range: ClosedRange<Int>, _ name: String) throws(ScheduleError) -> Set<Int> {
        var out: Set<Int> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard (1...2).contains(pieces.count) else { throw .init("'\(part)' is not a valid \(name) field") }
            let step = pieces.count == 2 ? Int(pieces[1]) : 1
            guard let step, step >= 1 else { throw .init("'\(part)' has a step that is not a positive number") }
            var span = range
            if pieces[0] != "*" {
                let bounds = pieces[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
                guard (1...2).contains(bounds.count), bounds.allSatisfy({ $0 != nil }),
                      let lo = bounds.first!, let hi = bounds.last!, range.contains(lo), range.contains(hi), lo <= hi else {
                    throw .init("'\(part)' is not a valid \(name) (\(range.lowerBound) to \(range.upperBound), a range a-b, or */n)")
                }
                span = lo...(pieces.count == 2 && bounds.count == 1 ? range.upperBound : hi)
            }
            out.formUnion(stride(from: span.lowerBound, through: span.upperBound, by: step))
        }
        return out
    }
}

/// Why a schedule cannot be read.
package struct ScheduleError: Error, Sendable, Equatable {
    package let message: String
    init(_ message: String) { self.message = message }
}
