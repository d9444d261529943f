import Foundation
import CairnFormats

/// A named SCN to return to (`cairn restore-point DB create NAME [--guarantee]`). A
/// guaranteed point keeps every backup and log needed to reach it, whatever retention says.
package struct RestorePoint: Codable, Sendable, Equatable {
    package var name: String
    package var scn: UInt64
    package var incarnation: Int
    package var createdAt: Date
    package var guaranteed: Bool

    package init(name: String, scn: UInt64, incarnation: Int, createdAt: Date, guaranteed: Bool) {
        self.name = name
        self.scn = scn
        self.incarnation = incarnation
        self.createdAt = createdAt
        self.guaranteed = guaranteed
    }
}
