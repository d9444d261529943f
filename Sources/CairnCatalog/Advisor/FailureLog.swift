import Foundation

/// The failures of a database as the control file keeps them (`ControlFile.failures`):
/// merging what a checker found into them, and closing them.
package struct FailureLog: Sendable, Equatable {
    /// Closed failures kept for their history, newest first beyond this many are dropped.
    package static let closedKept = 200

    package var failures: [Failure]
    package var nextId: UInt64

    package init(failures: [Failure], nextId: UInt64) {
        self.failures = failures
        self.nextId = nextId
    }

    package init(_ c: ControlFile) {
        failures = c.failures ?? []
        nextId = c.nextFailureId ?? ((failures.map(\.id).max() ?? 0) + 1)
    }

    package var open: [Failure] { failures.filter { $0.status == .open } }

    /// Writes the log back into `c`.
    package func store(into c: inout ControlFile) {
        c.failures = failures.isEmpty ? nil : failures
        c.nextFailureId = nextId
    }

    /// Merges one complete run of `checker`: a finding not open yet opens a failure (or
    /// updates the open one with the same key); an open failure of the checker that the run no
    /// longer found is closed. Returns the ids of the failures now open for the checker.
    @discardableResult
    package mutating func merge(checker: String, found: [FailureFinding], at now: Date, closedBy: String = "no longer found") -> [UInt64] {
        var ids: [UInt64] = []
        for f in found {
            if let i = failures.firstIndex(where: { $0.status == .open && $0.checker == checker && $0.key == f.key }) {
                failures[i].priority = f.priority
                failures[i].summary = f.summary
                failures[i].affected = f.affected
                failures[i].pages = f.pages
                failures[i].lastSeenAt = now
                ids.append(failures[i].id)
            } else {
                failures.append(Failure(id: nextId, checker: checker, key: f.key, priority: f.priority, summary: f.summary,
                                        affected: f.affected, detectedAt: now, pages: f.pages))
                ids.append(nextId)
                nextId += 1
            }
        }
        let keys = Set(found.map(\.key))
        for i in failures.indices where failures[i].status == .open && failures[i].checker == checker && !keys.contains(failures[i].key) {
            close(at: i, now: now, by: closedBy)
        }
        trim()
        return ids
    }

    /// Closes the open failure `id`; false when there is none.
    @discardableResult
    package mutating func close(id: UInt64, at now: Date, by: String) -> Bool {
        guard let i = failures.firstIndex(where: { $0.id == id && $0.status == .open }) else { return false }
        close(at: i, now: now, by: by)
        return true
    }

    /// Changes the pages and summary of the open failure `id` (part of it was repaired).
    package mutating func update(id: UInt64, pages: [UInt32], summary: String, at now: Date) {
        guard let i = failures.firstIndex(where: { $0.id == id && $0.status == .open }) else { return }
        failures[i].pages = pages
        failures[i].summary = summary
        failures[i].lastSeenAt = now
    }

    private mutating func close(at i: Int, now: Date, by: String) {
        failures[i].status = .closed
        failures[i].closedAt = now
        failures[i].closedBy = by
    }

    /// Keeps every open failure and the newest `closedKept` closed ones.
    private mutating func trim() {
        let closed = failures.filter { $0.status == .closed }.sorted { ($0.closedAt ?? .distantPast) > ($1.closedAt ?? .distantPast) }
        guard closed.count > Self.closedKept else { return }
        let dropped = Set(closed.dropFirst(Self.closedKept).map(\.id))
        failures.removeAll { dropped.contains($0.id) }
    }
}
