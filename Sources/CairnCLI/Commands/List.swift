import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List what Cairn records.", subcommands: [Backups.self, Logs.self, Incarnations.self, Databases.self, Dropped.self])

    struct Backups: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the backups of a database.")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print JSON: an array of backups.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let rows = try db.open().backups.map(BackupRow.init)
                if json { Output.json(rows); return }
                if rows.isEmpty { print("no backups"); return }
                print("ID    KIND         LVL  SCN         PIECES  STORED      DATABASE    COMPLETED             TAG")
                for r in rows {
                    let cols = [r.id.description.padding(toLength: 5, withPad: " ", startingAt: 0),
                                r.kind.padding(toLength: 12, withPad: " ", startingAt: 0),
                                (String(r.level) + (r.level == 1 ? (r.cumulative ? "c" : "d") : "")).padding(toLength: 4, withPad: " ", startingAt: 0),
                                String(r.scn).padding(toLength: 11, withPad: " ", startingAt: 0),
                                String(r.pieces).padding(toLength: 7, withPad: " ", startingAt: 0),
                                Output.bytes(r.bytes).padding(toLength: 11, withPad: " ", startingAt: 0),
                                (r.logs.map { "\($0) logs" } ?? Output.bytes(r.databaseBytes)).padding(toLength: 11, withPad: " ", startingAt: 0),
                                Output.date(r.completedAt).padding(toLength: 21, withPad: " ", startingAt: 0),
                                r.tag ?? ""]
                    print(cols.joined(separator: " "))
                }
            }
        }
    }
}

extension List {
    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the redo logs of a database (closed logs and their archive state).")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print JSON: an array of logs.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let logs = try db.open().control.redo.logs.sorted { ($0.incarnation, $0.sequence) < ($1.incarnation, $1.sequence) }
                if json { Output.json(logs.map(LogRow.init)); return }
                if logs.isEmpty { print("no closed logs"); return }
                print("INC  SEQ       LOW SCN     HIGH SCN    TXNS   BYTES       STATUS    DESTINATIONS")
                for l in logs {
                    let dests = l.destinations.map { "\($0.destination): \($0.state.rawValue)" }.joined(separator: ", ")
                    print([String(l.incarnation).padding(toLength: 4, withPad: " ", startingAt: 0),
                           String(l.sequence).padding(toLength: 9, withPad: " ", startingAt: 0),
                           String(l.lowScn).padding(toLength: 11, withPad: " ", startingAt: 0),
                           String(l.highScn).padding(toLength: 11, withPad: " ", startingAt: 0),
                           String(l.records).padding(toLength: 6, withPad: " ", startingAt: 0),
                           Output.bytes(l.bytes).padding(toLength: 11, withPad: " ", startingAt: 0),
                           l.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0), dests].joined(separator: " "))
                }
            }
        }
    }

    struct Incarnations: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the incarnations of a database.")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print JSON: an array of incarnations.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let p = try db.open()
                let list = p.listIncarnations()
                if json { Output.json(list.map { IncarnationRow($0, current: p.control.incarnation) }); return }
                print("INC  PARENT  RESET SCN   FIRST SCN   CREATED               ")
                for i in list {
                    print([String(i.number).padding(toLength: 4, withPad: " ", startingAt: 0),
                           (i.parent.map(String.init) ?? "-").padding(toLength: 7, withPad: " ", startingAt: 0),
                           String(i.resetScn).padding(toLength: 11, withPad: " ", startingAt: 0),
                           String(i.startScn).padding(toLength: 11, withPad: " ", startingAt: 0),
                           Output.date(i.createdAt), i.number == p.control.incarnation ? "CURRENT" : ""].joined(separator: " "))
                }
            }
        }
    }
}

struct LogRow: Encodable {
    let sequence: UInt64, incarnation: Int, group: Int, lowScn: UInt64, highScn: UInt64
    let lowTime: Date?, highTime: Date?, records: Int, bytes: UInt64, xxh3: String, status: String
    let destinations: [LogRecord.DestinationState]
    /// Archived-log backup sets that hold the log.
    let backupSets: [UInt64]
    init(_ l: LogRecord) {
        sequence = l.sequence; incarnation = l.incarnation; group = l.group; lowScn = l.lowScn; highScn = l.highScn
        lowTime = l.lowTime; highTime = l.highTime; records = l.records; bytes = l.bytes; xxh3 = l.xxh3
        status = l.status.rawValue; destinations = l.destinations; backupSets = l.backupSets ?? []
    }
}

struct IncarnationRow: Encodable {
    let incarnation: Int, parent: Int?, resetScn: UInt64, startScn: UInt64, createdAt: Date, current: Bool
    init(_ i: ControlFile.Incarnation, current: Int) {
        incarnation = i.number; parent = i.parent; resetScn = i.resetScn; startScn = i.startScn; createdAt = i.createdAt
        self.current = i.number == current
    }
}

/// One backup as shown by `list backups --json` and `backup --json`.
struct BackupRow: Encodable {
    let id: UInt64
    let kind: String
    let level: Int
    let scn: UInt64
    let incarnation: Int
    let pieces: Int
    let bytes: UInt64
    let databaseBytes: UInt64
    let compression: String
    let startedAt: Date
    let completedAt: Date
    let tag: String?
    let stateChecksum: String
    let directory: String
    let baseId: UInt64?
    let cumulative: Bool
    let pagesStored: UInt64
    let pageCount: UInt32
    let status: String
    /// Archived-log backup sets: how many logs the set holds (null for database backups).
    let logs: Int?
    let keepUntil: Date?
    let keepForever: Bool

    init(_ r: BackupRecord) {
        id = r.id; kind = r.kind.rawValue; level = r.level; scn = r.scn; incarnation = r.incarnation
        pieces = r.pieces; bytes = r.bytes; databaseBytes = r.databaseBytes; compression = r.compression
        startedAt = r.startedAt; completedAt = r.completedAt; tag = r.tag; stateChecksum = r.stateChecksum
        directory = r.directory
        baseId = r.baseId; cumulative = r.isCumulative; pageCount = r.pageCount
        pagesStored = r.pagesStored ?? UInt64(r.pageCount); status = (r.status ?? .available).rawValue
        logs = r.kind == .archivedLogs ? r.logs?.count ?? 0 : nil
        keepUntil = r.keepUntil; keepForever = r.keepForever ?? false
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, level, scn, incarnation, pieces, bytes, databaseBytes, compression, startedAt, completedAt, tag, stateChecksum, directory
        case baseId, cumulative, pagesStored, pageCount, status, logs
        case keepUntil, keepForever
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id); try c.encode(kind, forKey: .kind); try c.encode(level, forKey: .level)
        try c.encode(scn, forKey: .scn); try c.encode(incarnation, forKey: .incarnation); try c.encode(pieces, forKey: .pieces)
        try c.encode(bytes, forKey: .bytes); try c.encode(databaseBytes, forKey: .databaseBytes)
        try c.encode(compression, forKey: .compression); try c.encode(startedAt, forKey: .startedAt)
        try c.encode(completedAt, forKey: .completedAt); try c.encode(tag, forKey: .tag)
        try c.encode(stateChecksum, forKey: .stateChecksum); try c.encode(directory, forKey: .directory)
        try c.encode(baseId, forKey: .baseId); try c.encode(cumulative, forKey: .cumulative)
        try c.encode(pagesStored, forKey: .pagesStored); try c.encode(pageCount, forKey: .pageCount); try c.encode(status, forKey: .status)
        try c.encode(logs, forKey: .logs)
        try c.encode(keepUntil, forKey: .keepUntil); try c.encode(keepForever, forKey: .keepForever)
    }
}
