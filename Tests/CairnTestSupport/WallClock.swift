import Foundation

/// Fixed moments for tests that give the library its "now".
public enum WallClock {
    /// "YYYY-MM-DDTHH:MM:SS" as a clock in `zone` shows it.
    public static func at(_ text: String, _ zone: String = "UTC") -> Date {
        let n = text.split(whereSeparator: { "-T:".contains($0) }).map { Int($0)! }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: zone)!
        return cal.date(from: DateComponents(year: n[0], month: n[1], day: n[2], hour: n[3], minute: n[4], second: n[5]))!
    }
}
