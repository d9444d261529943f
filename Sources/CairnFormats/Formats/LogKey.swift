/// Identifies one log sequence of one incarnation; ordered by incarnation, then sequence.
package struct LogKey: Codable, Sendable, Hashable, Comparable {
    package var incarnation: Int
    package var sequence: UInt64
    package init(incarnation: Int, sequence: UInt64) { self.incarnation = incarnation; self.sequence = sequence }
    package static func < (a: LogKey, b: LogKey) -> Bool { (a.incarnation, a.sequence) < (b.incarnation, b.sequence) }
}
