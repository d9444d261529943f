import Foundation
import CairnFormats

/// The automatic snapshot (`cairn configure DB snapshot daily [--at HH:MM] [--keep N]`): one
/// a day, made at or after `at` (the system's local time) by the agent or `cairn snapshot
/// run-due`, named `daily-YYYYMMDD`; the `keep` newest automatic ones are kept, older ones
/// removed as a new one is made. Named snapshots are never removed by it.
package struct DailySnapshot: Codable, Sendable, Equatable {
    package var at: String
    package var keep: Int

    package init(at: String = "00:00", keep: Int = 1) throws(EngineError) {
        guard Self.minutes(at) != nil else {
            throw .invalidArgument("--at '\(at)' is not a time of day; use HH:MM, e.g. 02:30.")
        }
        guard keep >= 1 else { throw .invalidArgument("--keep \(keep): keep at least 1 automatic snapshot.") }
        self.at = at
        self.keep = keep
    }

    /// Minutes after midnight of "HH:MM".
    static func minutes(_ text: String) -> Int? {
        let p = text.split(separator: ":")
        guard p.count == 2, p[0].count <= 2, p[1].count == 2, let h = Int(p[0]), let m = Int(p[1]), (0..<24).contains(h), (0..<60).contains(m) else { return nil }
        return h * 60 + m
    }

    /// The newest time the snapshot was due at, at or before `now`: today's `at`, or yesterday's.
    package func slot(before now: Date, calendar: Calendar = .current) -> Date {
        let m = Self.minutes(at) ?? 0
        let today = calendar.date(bySettingHour: m / 60, minute: m % 60, second: 0, of: now) ?? now
        return today <= now ? today : calendar.date(byAdding: .day, value: -1, to: today) ?? today
    }

    /// The automatic snapshot's name for the day of `slot`.
    package static func name(for slot: Date, calendar: Calendar = .current) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: slot)
        return String(format: "daily-%04d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    package static let namePrefix = "daily-"

    /// Whether `name` is an automatic snapshot's (`daily-YYYYMMDD`); a name given with
    /// `--name` that merely starts alike is not.
    package static func isAutomatic(_ name: String) -> Bool {
        name.hasPrefix(namePrefix) && name.count == namePrefix.count + 8 && name.dropFirst(namePrefix.count).allSatisfy(\.isASCII) &&
            name.dropFirst(namePrefix.count).allSatisfy(\.isNumber)
    }

    /// The automatic snapshots among `snapshots` beyond the `keep` newest (by day).
    package func obsolete(_ snapshots: [StoredSnapshot]) -> [ObsoleteSnapshot] {
        let automatic = snapshots.filter { Self.isAutomatic($0.name) }.sorted { $0.name > $1.name }
        return automatic.dropFirst(keep).reversed().map {
            ObsoleteSnapshot(name: $0.name, bytes: $0.bytes, takenAt: $0.modified,
                             reason: "automatic snapshot older than the \(keep) newest kept by `snapshot daily --keep \(keep)`")
        }
    }
}
