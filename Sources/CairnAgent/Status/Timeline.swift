import Foundation

/// A database's recovery window as a picture shows it: what a restore can reach, from the
/// oldest backup kept to now.
package struct Timeline: Sendable, Codable, Equatable {
    package struct Backup: Sendable, Codable, Equatable {
        package var id: UInt64
        package var level: Int
        package var cumulative: Bool
        package var scn: UInt64
        package var time: Date
        package init(id: UInt64, level: Int, cumulative: Bool, scn: UInt64, time: Date) {
            self.id = id
            self.level = level
            self.cumulative = cumulative
            self.scn = scn
            self.time = time
        }
    }

    /// A run of logs without a gap, archived or still online.
    package struct LogSpan: Sendable, Codable, Equatable {
        package var firstScn: UInt64
        package var lastScn: UInt64
        package var start: Date
        package var end: Date
        package var archived: Bool
        package var logs: Int
        package init(firstScn: UInt64, lastScn: UInt64, start: Date, end: Date, archived: Bool, logs: Int) {
            self.firstScn = firstScn
            self.lastScn = lastScn
            self.start = start
            self.end = end
            self.archived = archived
            self.logs = logs
        }
    }

    /// A point a restore cannot cross (transactions lost while capture was stopped).
    package struct Gap: Sendable, Codable, Equatable {
        package var scn: UInt64
        package var time: Date?
        package var detail: String
        package init(scn: UInt64, time: Date?, detail: String) {
            self.scn = scn
            self.time = time
            self.detail = detail
        }
    }

    package struct Mark: Sendable, Codable, Equatable {
        package var name: String
        package var scn: UInt64
        package var time: Date
        package init(name: String, scn: UInt64, time: Date) {
            self.name = name
            self.scn = scn
            self.time = time
        }
    }

    package var backups: [Backup] = []
    package var logSpans: [LogSpan] = []
    package var gaps: [Gap] = []
    package var restorePoints: [Mark] = []
    /// Where each incarnation began (name: "incarnation N").
    package var incarnations: [Mark] = []
    package var windowStart: Date?
    package var now = Date(timeIntervalSince1970: 0)

    package init() {}
}
