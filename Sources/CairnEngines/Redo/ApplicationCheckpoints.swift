import Foundation

/// What capture has seen of the application's own checkpoints, to stay out of their way.
///
/// SQLite lets one checkpoint run at a time, and one that finds another running fails at once
/// with SQLITE_BUSY, whatever its busy timeout. So while the application keeps the WAL small
/// by itself, Cairn's own checkpoint waits: for a while after each checkpoint of the
/// application (twice the interval seen between two of them, at least 10 s, at most 2 min),
/// and, once capture starts following a database, for the first 10 s, which gives an
/// application that checkpoints every so many transactions the time to show it does.
struct ApplicationCheckpoints {
    /// When the application was last seen checkpointing (or capture began following).
    private var last: Date?
    /// The time between the application's last two checkpoints.
    private var interval: TimeInterval = 0

    static let minimumWindow: TimeInterval = 10
    static let maximumWindow: TimeInterval = 120

    /// Capture begins following the database now.
    mutating func begin(at now: Date = Date()) {
        if last == nil { last = now }
    }

    /// A checkpoint of the application was seen. Sightings of one checkpoint a moment apart
    /// (it copies frames over several steps) do not count as an interval.
    mutating func seen(at now: Date = Date()) {
        if let last, now.timeIntervalSince(last) >= 0.5 { interval = now.timeIntervalSince(last) }
        last = now
    }

    /// Whether the application may be about to checkpoint by itself.
    func expected(at now: Date = Date()) -> Bool {
        guard let last else { return false }
        let window = min(max(Self.minimumWindow, 2 * interval), Self.maximumWindow)
        return now.timeIntervalSince(last) < window
    }
}
