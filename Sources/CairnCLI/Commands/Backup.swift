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
    var maxPieceSize = ByteSize(bytes: 32 << 20)

    @Option(help: "zstd level: 'fast' (the default, zstd's fast level 1), 'fastN' for fast level N (1-7), a level 1-19, or 'none' to store pages uncompressed.")
    var compression = CompressionChoice(argument: "fast")!

    @Option(name: .customLong("keep-until"), help: "Archival backup, exempt from retention until DATE (YYYY-MM-DD or ISO 8601) or 'forever'.")
    var keepUntil: String?

    @Flag(name: .customLong("pdic-restore"), help: "The backup sets the periodic integrity check has due today (see `cairn report pdic`) are also restored to a scratch file and checked by SQLite's integrity_check, not only read and verified.")
    var pdicRestore = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Flag(help: "Back up the archived logs that no archived-log backup set holds yet, into one new set (instead of the database).")
    var archivelog = false

    @Flag(name: .customLong("delete-input"), help: "With --archivelog: once the set is recorded, remove those logs' copies from every archive destination.")
    var deleteInput = false

    func validate() throws {
        guard (0...1).contains(level) else {
            throw ValidationError("--level \(level) is not a backup level; use 0 (every page) or 1 (pages changed since the last backup).")
        }
        if level == 1 && asCopy { throw ValidationError("an image copy holds every page; take it at level 0 (drop --level 1 or --as-copy).") }
        if cumulative && level != 1 { throw ValidationError("--cumulative applies to level-1 backups; add --level 1.") }
        if keepUntil != nil && level != 0 {
            throw ValidationError("--keep-until makes an archival backup, which must be a level-0 backup (a consistent snapshot restorable on its own); drop --level \(level).")
        }
    }

    func run() throws {
        try reporting { () throws(EngineError) in
            var options = BackupOptions()
            options.monitor = TerminalProgress.monitor()
            options.level = level
            options.cumulative = cumulative
            options.asCopy = asCopy
            options.tag = tag
            options.integrityCheckRestores = pdicRestore
            if let keepUntil { (options.keepUntil, options.keepForever) = try ArchivalKeep.parse(keepUntil) }
            options.maxPieceSize = maxPieceSize.bytes
            options.compressionLevel = compression.level
            if archivelog || deleteInput { return try backupArchivedLogs(options) }
            let p = try db.open(waiting)
            let r = try p.backup(options)
            if json { Output.json(BackupRow(r)); return }
            let base = r.baseId.map { ", \(r.isCumulative ? "cumulative" : "differential") since backup \($0), \(r.pagesStored ?? 0) of \(r.pageCount) pages" } ?? ""
            print("backup \(r.id) complete: \(r.kind == .imageCopy ? "image copy" : "backup set"), level \(r.level)\(base), SCN \(r.scn), \(r.pieces) piece(s), \(Output.bytes(r.bytes)) stored for \(Output.bytes(r.databaseBytes)) of database, verified")
        }
    }
}
