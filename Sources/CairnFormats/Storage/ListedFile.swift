import Foundation

/// One file a destination holds, as its listing gives it.
package struct ListedFile: Sendable, Equatable {
    package let name: String
    package let bytes: UInt64
    /// When the destination last wrote it, if it says.
    package let modifiedAt: Date?

    package init(name: String, bytes: UInt64, modifiedAt: Date? = nil) {
        self.name = name
        self.bytes = bytes
        self.modifiedAt = modifiedAt
    }
}
