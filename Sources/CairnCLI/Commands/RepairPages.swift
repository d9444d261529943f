import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct RepairPages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pages",
        abstract: "Rebuild damaged pages of the live database and write them in while the application runs.",
        discussion: """
            Each page is rebuilt as of the current SCN from the online logs alone when they hold it, otherwise from \\
            the newest backup holding it (an older one when that one is damaged) and the logs after it, checked against \\
            the version capture recorded, and written only over the damaged content `cairn validate --live` sees, under \\
            SQLite's write lock. Transactions committed after the last backup are kept; the application keeps its \\
            connections. Needs ARCHIVELOG mode.
            """)

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Option(name: .customLong("page"), parsing: .singleValue, help: "Page number(s) to repair: N or N,M,... (repeatable).")
    var pageLists: [String] = []

    @Flag(help: "Repair every damaged page a full live validation finds.")
    var damaged = false

    @Flag(help: "Say what would be rebuilt and from what, without writing anything.")
    var preview = false

    @Flag(help: "Repair even when no capture ran and the database left the captured history: you know nothing wrote to it since capture stopped, so what differs is damage.")
    var force = false

    @Flag(help: "Print JSON.")
    var json = false

    var pages: [UInt32] {
        get throws {
            try pageLists.flatMap { $0.split(separator: ",") }.map { s in
                guard let n = UInt32(s.trimmingCharacters(in: .whitespaces)), n > 0 else { throw ValidationError("--page takes page numbers (1 and up), not '\(s)'") }
                return n
            }
        }
    }

    func validate() throws {
        guard damaged != !pageLists.isEmpty else { throw ValidationError("give either --page N[,M...] or --damaged") }
        _ = try pages
    }

    func run() throws {
        let selection: PageSelection = damaged ? .damaged : .pages(try pages)
        try reporting { () throws(EngineError) in
            let p = try db.open(waiting)
            let r = try p.repairPages(selection, preview: preview, force: force, monitor: TerminalProgress.monitor())
            if json { Output.json(r); return }
            if r.pages.isEmpty { print("no damaged page in \(r.database) at SCN \(r.scn): nothing to repair"); return }
            for page in r.pages {
                if preview {
                    print("page \(page.page): would be rebuilt from \(page.source)")
                } else if page.written.isEmpty {
                    print("page \(page.page): left as it is: \(page.skipped ?? "")")
                } else {
                    print("page \(page.page): repaired from \(page.source), written to \(page.written.joined(separator: " and "))")
                }
            }
            let closed = r.failureClosed.map { "; failure \($0) closed" } ?? ""
            print(preview ? "\(r.pages.count) page(s) can be repaired as of SCN \(r.scn); nothing was written"
                          : "\(r.repaired) of \(r.pages.count) page(s) repaired as of SCN \(r.scn) in \(String(format: "%.2f", r.seconds)) s\(closed)")
        }
    }
}
