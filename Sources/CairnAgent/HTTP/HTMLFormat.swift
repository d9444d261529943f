import Foundation

/// How the status pages write numbers, sizes, durations and times (UTC).
enum HTMLFormat {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `1234567` as `1,234,567`.
    static func count<T: BinaryInteger>(_ n: T) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// Bytes in binary units: `512 B`, `1.5 MiB`, `120 GiB`.
    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(n) B" }
        return (value < 100 ? String(format: "%.1f", value) : String(format: "%.0f", value)) + " " + units[unit]
    }

    /// A duration in its two largest units: `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "—" }
        let s = Int(seconds.rounded())
        if s < 60 { return seconds < 10 && seconds != seconds.rounded() ? String(format: "%.1f s", seconds) : "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        if s < 86400 { return s % 3600 / 60 == 0 ? "\(s / 3600) h" : "\(s / 3600) h \(s % 3600 / 60) min" }
        return s % 86400 / 3600 == 0 ? "\(s / 86400) d" : "\(s / 86400) d \(s % 86400 / 3600) h"
    }

    /// How long before `now` `date` was: `12 min ago` (`in 3 s` when after `now`).
    static func age(_ date: Date, now: Date) -> String {
        let d = now.timeIntervalSince(date)
        return d >= 0 ? duration(d) + " ago" : "in " + duration(-d)
    }

    /// `2025-11-29 14:03 UTC` (`withSeconds`: `2025-11-29 14:03:27 UTC`).
    static func utc(_ date: Date, withSeconds: Bool = false) -> String {
        let t = fields(date)
        let day = "\(t.year)-\(two(t.month))-\(two(t.day))"
        return day + " \(two(t.hour)):\(two(t.minute))" + (withSeconds ? ":\(two(t.second))" : "") + " UTC"
    }

    /// `Nov 29` (an axis label of whole days).
    static func day(_ date: Date) -> String {
        let t = fields(date)
        return "\(months[t.month - 1]) \(t.day)"
    }

    /// `14:03`, or `Nov 29 14:03` with `withDay`.
    static func time(_ date: Date, withDay: Bool) -> String {
        let t = fields(date)
        return (withDay ? "\(months[t.month - 1]) \(t.day) " : "") + "\(two(t.hour)):\(two(t.minute))"
    }

    /// The UTC calendar fields of `date`.
    static func fields(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        return (Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
