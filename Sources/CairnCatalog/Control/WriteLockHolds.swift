import Foundation
import CairnFormats

/// How long Cairn has held SQLite's write lock: the longest hold recorded for a database,
/// which `cairn status --json` reports. Cairn takes the write lock only for moments (its own
/// checkpoint when writers never pause; a backup's snapshot when the WAL index keeps
/// changing) and must keep them to a few milliseconds, whatever the database size.
package struct WriteLockHolds: Codable, Sendable, Equatable {
    /// The longest hold, in milliseconds, what held it, and when.
    package var longestMs: Double
    package var operation: String
    package var at: Date
    /// How many holds were recorded, and their total length in milliseconds.
    package var count: Int
    package var totalMs: Double

    static func file(_ layout: RepositoryLayout) -> String { layout.captureDirectory + "/write-lock.json" }

    /// The holds recorded for the repository, if any.
    package static func read(_ layout: RepositoryLayout) -> WriteLockHolds? {
        guard let bytes = try? FileSystem.readAll(file(layout)) else { return nil }
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return try? d.decode(WriteLockHolds.self, from: Data(bytes))
    }

    /// Records one hold (after the lock was released). Best effort: statistics never fail
    /// the operation that produced them.
    package static func record(layout: RepositoryLayout, operation: String, seconds: TimeInterval) {
        let ms = seconds * 1000
        lock.withLock {
            var h = read(layout) ?? WriteLockHolds(longestMs: 0, operation: operation, at: Date(), count: 0, totalMs: 0)
            h.count += 1
            h.totalMs += ms
            if ms > h.longestMs {
                h.longestMs = ms
                h.operation = operation
                h.at = Date()
            }
            let e = JSONEncoder()
            e.dateEncodingStrategy = .iso8601
            e.outputFormatting = [.sortedKeys]
            guard let data = try? e.encode(h) else { return }
            try? FileSystem.makeDirectories(layout.captureDirectory)
            try? FileSystem.atomicWrite(Array(data), to: file(layout))
        }
    }

    private static let lock = NSLock()
}
