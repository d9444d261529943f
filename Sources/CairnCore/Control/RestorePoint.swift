import Foundation

/// A named SCN to return to (`cairn restore-point DB create NAME [--guarantee]`). A
/// guaranteed point keeps every backup and log needed to reach it, whatever retention says.
public struct RestorePoint: Codable, Sendable, Equatable {
    public var name: String
    public var scn: UInt64
    public var incarnation: Int
    public var createdAt: Date
    public var guaranteed: Bool

    public init(name: String, scn: UInt64, incarnation: Int, createdAt: Date, guaranteed: Bool) {
        self.name = name
        self.scn = scn
        self.incarnation = incarnation
        self.createdAt = createdAt
        self.guaranteed = guaranteed
    }
}
