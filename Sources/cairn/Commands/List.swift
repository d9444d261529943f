import ArgumentParser
import CairnCore
import Foundation

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List what Cairn records.", subcommands: [Backups.self])

    struct Backups: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the backups of a database.")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print JSON: an array of backups.")
        var json = false

        func run() throws {
            try reporting { () throws(CairnError) in
                let rows = try db.open().backups.map(BackupRow.init)
                if json { Output.json(rows); return }
                if rows.isEmpty { print("no backups"); return }
                print("ID    KIND        LVL  SCN         PIECES  STORED      DATABASE    COMPLETED             TAG")
                for r in rows {
                    let cols = [r.id.description.padding(toLength: 5, withPad: " ", startingAt: 0),
                                r.kind.padding(toLength: 11, withPad: " ", startingAt: 0),
                                String(r.level).padding(toLength: 4, withPad: " ", startingAt: 0),
                                String(r.scn).padding(toLength: 11, withPad: " ", startingAt: 0),
                                String(r.pieces).padding(toLength: 7, withPad: " ", startingAt: 0),
                                Output.bytes(r.bytes).padding(toLength: 11, withPad: " ", startingAt: 0),
                                Output.bytes(r.databaseBytes).padding(toLength: 11, withPad: " ", startingAt: 0),
                                Output.date(r.completedAt).padding(toLength: 21, withPad: " ", startingAt: 0),
                                r.tag ?? ""]
                    print(cols.joined(separator: " "))
                }
            }
        }
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

    init(_ r: BackupRecord) {
        id = r.id; kind = r.kind.rawValue; level = r.level; scn = r.scn; incarnation = r.incarnation
        pieces = r.pieces; bytes = r.bytes; databaseBytes = r.databaseBytes; compression = r.compression
        startedAt = r.startedAt; completedAt = r.completedAt; tag = r.tag; stateChecksum = r.stateChecksum
        directory = r.directory
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, level, scn, incarnation, pieces, bytes, databaseBytes, compression, startedAt, completedAt, tag, stateChecksum, directory
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id); try c.encode(kind, forKey: .kind); try c.encode(level, forKey: .level)
        try c.encode(scn, forKey: .scn); try c.encode(incarnation, forKey: .incarnation); try c.encode(pieces, forKey: .pieces)
        try c.encode(bytes, forKey: .bytes); try c.encode(databaseBytes, forKey: .databaseBytes)
        try c.encode(compression, forKey: .compression); try c.encode(startedAt, forKey: .startedAt)
        try c.encode(completedAt, forKey: .completedAt); try c.encode(tag, forKey: .tag)
        try c.encode(stateChecksum, forKey: .stateChecksum); try c.encode(directory, forKey: .directory)
    }
}
