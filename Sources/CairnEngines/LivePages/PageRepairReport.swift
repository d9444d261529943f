import Foundation

/// Which pages `cairn repair pages` repairs.
package enum PageSelection: Sendable, Equatable {
    /// These pages (each must be damaged).
    case pages([UInt32])
    /// Every damaged page a full validation finds.
    case damaged
}

/// What `cairn repair pages` did (or, previewed, would do).
package struct PageRepairReport: Codable, Sendable, Equatable {
    package var database: String
    /// The SCN the pages were rebuilt as of.
    package var scn: UInt64
    package var preview: Bool
    package var pages: [RepairedPage]
    package var seconds: Double
    /// The live-pages failure closed by the repair, when it fixed all of it.
    package var failureClosed: UInt64?

    package var repaired: Int { pages.filter { !$0.written.isEmpty }.count }
}

package struct RepairedPage: Codable, Sendable, Equatable {
    package var page: UInt32
    /// "online logs", or "backup N and the logs after it".
    package var source: String
    /// Where the page was written ("database file", "WAL frame N"); empty when previewed or skipped.
    package var written: [String]
    /// Why it was left as it is.
    package var skipped: String?
    package var expectedHash: String
    package var damagedHash: String
}
