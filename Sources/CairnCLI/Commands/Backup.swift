import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take an online backup: a compressed, checksummed backup set (level 0: every page; level 1: the pages changed since the last backup), or an image copy.")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Option(help: "0: every page. 1: only the pages changed since the last level-0 or level-1 backup (a level 0 is taken when there is none).")
    var level: Int = 0

    @Flag(help: "With --level 1: the pages changed since the last level 0 (instead of since the last backup).")
    var cumulative = false

    @Flag(name: .customLong("as-copy"), help: "Write an image copy: a plain SQLite file usable as is.")
    var asCopy = false

    @Option(help: "Label for the backup.")
    var tag: String?

    @Option(name: .customLong("max-piece-size"), help: "Largest piece file, e.g. 32M (default) or 1G.")
    var maxPieceSize: String = "32M"

    @Option(help: "zstd level: 'fast' (the default, zstd's fast level 1), 'fastN' for fast level N (1-7), a level 1-19, or 'none' to store pages uncompressed.")
    var compression: String = "fast"

    @Option(name: .customLong("keep-until"), help: "Archival backup, exempt from retention until DATE (YYYY-MM-DD or ISO 8601) or 'forever'.")
    var keepUntil: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Flag(help: "Back up the archived logs that no archived-log backup set holds yet, into one new set (instead of the database).")
    var archivelog = false

    @Flag(name: .customLong("delete-input"), help: "With --archivelog: once the set is recorded, remove those logs' copies from every archive destination.")
    var deleteInput = false

    func run() throws {
        try reporting { () throws(EngineError) in
            if keepUntil != nil && level != 0 {
                throw .invalidArgument("--keep-until makes an archival backup, which must be a level-0 backup (a consistent snapshot restorable on its own); drop --level \(level).")
            }
            var options = BackupOptions()
            options.monitor = TerminalProgress.monitor()
            options.level = level
            options.cumulative = cumulative
            options.asCopy = asCopy
            options.tag = tag
            if let keepUntil { (options.keepUntil, options.keepForever) = try ArchivalKeep.parse(keepUntil) }
            guard let size = Output.parseSize(maxPieceSize) else {
                throw .invalidArgument("--max-piece-size '\(maxPieceSize)' is not a size; use bytes or a suffix, e.g. 32M or 1G.")
            }
            options.maxPieceSize = size
            let c = compression.lowercased()
            if c == "none" {
                options.compressionLevel = nil
            } else if c == "fast" {
                options.compressionLevel = -1
            } else if c.hasPrefix("fast"), let n = Int32(c.dropFirst(4)), (1...7).contains(n) {
                options.compressionLevel = -n
            } else if let l = Int32(c), (1...19).contains(l) {
                options.compressionLevel = l
            } else {
                throw .invalidArgument("--compression '\(compression)' is not valid; use fast, fast1 to fast7, a zstd level from 1 to 19, or none.")
            }
            if archivelog || deleteInput { return try backupArchivedLogs(options) }
            let p = try db.open(waiting)
            let r = try p.backup(options)
            if json { Output.json(BackupRow(r)); return }
            let base = r.baseId.map { ", \(r.isCumulative ? "cumulative" : "differential") since backup \($0), \(r.pagesStored ?? 0) of \(r.pageCount) pages" } ?? ""
            print("backup \(r.id) complete: \(r.kind == .imageCopy ? "image copy" : "backup set"), level \(r.level)\(base), SCN \(r.scn), \(r.pieces) piece(s), \(Output.bytes(r.bytes)) stored for \(Output.bytes(r.databaseBytes)) of database, verified")
        }
    }
}
