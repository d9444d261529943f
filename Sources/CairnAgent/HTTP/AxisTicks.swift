import Foundation

/// The time axis of a timeline: ticks at round UTC instants (every minute … every month),
/// at most `maxTicks` of them, and their labels.
struct AxisTicks {
    let dates: [Date]
    let step: TimeInterval

    private static let steps: [TimeInterval] = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400]

    init(start: Date, end: Date, maxTicks: Int) {
        let span = max(60, end.timeIntervalSince(start))
        let step = Self.steps.first { span / $0 <= Double(maxTicks) } ?? Self.steps[Self.steps.count - 1]
        var t = (start.timeIntervalSince1970 / step).rounded(.up) * step
        var dates: [Date] = []
        while t <= end.timeIntervalSince1970 && dates.count <= maxTicks {
            dates.append(Date(timeIntervalSince1970: t))
            t += step
        }
        self.dates = dates
        self.step = step
    }

    /// `Nov 29` for whole days; `14:00` otherwise, with the day at the first tick and at midnight.
    func label(_ date: Date, first: Bool) -> String {
        if step >= 86400 { return HTMLFormat.day(date) }
        let f = HTMLFormat.fields(date)
        return HTMLFormat.time(date, withDay: first || (f.hour == 0 && f.minute == 0))
    }
}
