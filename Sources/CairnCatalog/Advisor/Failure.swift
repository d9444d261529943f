import Foundation

/// A failure the recovery advisor or a check found, kept in the control file with its history:
/// open while it is found, closed (when, by what) once a repair fixed it or a checker no longer
/// finds it. Priorities mean what the documents mean by them:
/// - critical: the database or its recoverability is hurt now (damaged pages, no usable control
///   copy, capture stopped in ARCHIVELOG mode, a gap or missing log in the recovery window);
/// - high: recoverability will be hurt if nothing is done (a stale control copy or log member,
///   a destination unreachable or full, no backup within the retention policy, a failed PDIC);
/// - low: worth knowing (an EXPIRED backup, a gap before the newest level 0).
package struct Failure: Codable, Sendable, Equatable, Identifiable {
    package enum Priority: String, Codable, Sendable, CaseIterable, Comparable {
        case critical, high, low
        /// critical < high < low: sorting puts the worst first.
        package static func < (a: Priority, b: Priority) -> Bool { a.rank < b.rank }
        var rank: Int { Self.allCases.firstIndex(of: self)! }
    }

    package enum Status: String, Codable, Sendable { case open, closed }

    package var id: UInt64
    /// The checker that finds it (see `FailureChecker`), e.g. "live-pages", "control-copies".
    package var checker: String
    /// What it is about within its checker (a page, a copy's path, a log's sequence): a failure
    /// found again with the same checker and key is the same failure.
    package var key: String
    package var priority: Priority
    package var status: Status
    /// One sentence: what is wrong.
    package var summary: String
    /// What it affects (a file, a page, a destination).
    package var affected: String
    package var detectedAt: Date
    /// Last time a checker found it open.
    package var lastSeenAt: Date
    package var closedAt: Date? = nil
    /// What closed it: "repair 12 (automatic)", "no longer found by advise", …
    package var closedBy: String? = nil
    /// Damaged pages of the live database (live-pages failures).
    package var pages: [UInt32]? = nil

    package init(id: UInt64, checker: String, key: String, priority: Priority, summary: String, affected: String,
                 detectedAt: Date, pages: [UInt32]? = nil) {
        self.id = id
        self.checker = checker
        self.key = key
        self.priority = priority
        self.status = .open
        self.summary = summary
        self.affected = affected
        self.detectedAt = detectedAt
        self.lastSeenAt = detectedAt
        self.pages = pages
    }
}

/// What a checker found in one run: the failures it reports now, by key.
package struct FailureFinding: Sendable, Equatable {
    package var key: String
    package var priority: Failure.Priority
    package var summary: String
    package var affected: String
    package var pages: [UInt32]? = nil

    package init(key: String, priority: Failure.Priority, summary: String, affected: String, pages: [UInt32]? = nil) {
        self.key = key
        self.priority = priority
        self.summary = summary
        self.affected = affected
        self.pages = pages
    }
}
