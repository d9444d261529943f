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
    /// When the application was last seen running a checkpoint that blocks writers (FULL,
    /// RESTART or TRUNCATE).
    private var lastBlocking: Date?

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

    /// A checkpoint of the application that blocks writers was seen (it counts as a
    /// checkpoint too).
    mutating func seenBlocking(at now: Date = Date()) {
        lastBlocking = now
        seen(at: now)
    }

    /// Whether the application may be about to checkpoint by itself.
    func expected(at now: Date = Date()) -> Bool {
        guard let last else { return false }
        return now.timeIntervalSince(last) < Self.window(interval)
    }

    /// Whether the application may be about to run a checkpoint that blocks writers, which
    /// would wait for capture's read mark if it were behind (see `WALPin.pinCaptured`): for the
    /// longest window (2 min) after the last one seen, whatever their interval. One that does
    /// not wait (busy timeout 0) fails at once against a mark behind, and is too brief to be
    /// seen: only those that succeed are, so the first of a burst may fail.
    func blockingExpected(at now: Date = Date()) -> Bool {
        guard let lastBlocking else { return false }
        return now.timeIntervalSince(lastBlocking) < Self.maximumWindow
    }

    /// When `blockingExpected` turns false (nil: it is false now).
    func blockingExpectedUntil(now: Date = Date()) -> Date? {
        guard let lastBlocking else { return nil }
        let until = lastBlocking.addingTimeInterval(Self.maximumWindow)
        return until > now ? until : nil
    }

    /// How long after a checkpoint another is expected: twice the interval between the last
    /// two, at least 10 s, at most 2 min.
    private static func window(_ interval: TimeInterval) -> TimeInterval {
        min(max(minimumWindow, 2 * interval), maximumWindow)
    }
}
