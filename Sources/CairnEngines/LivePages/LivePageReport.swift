import Foundation

/// What `cairn validate --live` found: every page of the live database (the database file
/// and the WAL's committed frames, as one consistent snapshot) compared with the page map at
/// the snapshot's SCN.
package struct LivePageReport: Codable, Sendable, Equatable {
    package var database: String
    /// The SCN of the snapshot the pages were read at.
    package var scn: UInt64
    package var pageSize: Int
    /// Pages of the database at that SCN, and of the snapshot read (they differ when the file
    /// was cut short or grew).
    package var pageCount: UInt32
    package var pagesChecked: UInt64
    package var bytesRead: UInt64
    package var seconds: Double
    package var damaged: [DamagedPage]
    /// WAL frames whose checksum no longer holds (their pages are among `damaged` unless a
    /// later frame of the same page replaced them).
    package var damagedWALFrames: [UInt32]
    /// SQLite's `integrity_check` messages (`--logical`; nil: not run, empty: sound).
    package var logicalProblems: [String]?
    /// The failure recorded for the damage (see `cairn advise`).
    package var failureId: UInt64?
    /// Set when no capture was running and the database had left the captured history since
    /// (written while nothing captured it, or damaged then: Cairn cannot tell which): why. The
    /// pages were compared with the captured state at `scn`; nothing was recorded as a gap.
    package var diverged: String? = nil

    package var ok: Bool { damaged.isEmpty && damagedWALFrames.isEmpty && (logicalProblems ?? []).isEmpty }
}

/// One page of the live database whose content is not the version captured for it.
package struct DamagedPage: Codable, Sendable, Equatable {
    package var page: UInt32
    /// The b-tree it belongs to ("table orders", "index orders_by_date", "sqlite_schema"),
    /// or what else it is ("freelist", "overflow of table orders", "pointer map"); nil when the
    /// page is in no structure found (its parent is damaged too, or the schema cannot be read).
    package var owner: String?
    /// Where the snapshot read it: "database file" or "WAL frame N".
    package var location: String
    /// Page hashes (XXH3, hex): the captured version's, and the content's found.
    package var expectedHash: String
    package var foundHash: String

    package init(page: UInt32, owner: String? = nil, location: String, expectedHash: String, foundHash: String) {
        self.page = page
        self.owner = owner
        self.location = location
        self.expectedHash = expectedHash
        self.foundHash = foundHash
    }
}
