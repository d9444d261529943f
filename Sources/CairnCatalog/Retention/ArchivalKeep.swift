import Foundation
import CairnFormats

/// `--keep-until DATE|forever` of an archival backup.
package enum ArchivalKeep {
    /// Parses `forever`, an ISO 8601 time (2027-01-31T12:00:00Z) or a date (2027-01-31,
    /// meaning its start in UTC). The date must be in the future.
    package static func parse(_ s: String, now: Date = Date()) throws(EngineError) -> (until: Date?, forever: Bool) {
        if s.lowercased() == "forever" { return (nil, true) }
        let full = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        day.timeZone = TimeZone(identifier: "UTC")
        guard let d = full.date(from: s) ?? fractional.date(from: s) ?? (s.count == 10 ? day.date(from: s) : nil) else {
            throw .invalidSetting(.keepUntil, value: "'\(s)'", problem: "not a date: use YYYY-MM-DD, an ISO 8601 time such as 2027-01-31T12:00:00Z, or 'forever'.")
        }
        guard d > now else {
            throw .invalidSetting(.keepUntil, value: s, problem: "not in the future; give a later date, or 'forever'.")
        }
        return (d, false)
    }
}
