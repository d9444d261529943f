import ArgumentParser
import CSystemShim
import Foundation
import Synchronization
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines
import CairnObjectStore
import CairnAgent

@main
struct CairnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Backup, archiving and point-in-time recovery for SQLite.",
        version: FormatVersion.release,
        subcommands: [Init.self, Backup.self, Restore.self, Recover.self, Archive.self, SwitchLog.self, ArchiveLogMode.self, List.self, Status.self, Validate.self, Advise.self, Repair.self, CatalogCommand.self, Report.self, Digest.self, Quickstart.self,
                      Configure.self, Delete.self, Crosscheck.self, RestorePointCommand.self, Log.self, Query.self, Flashback.self, Undrop.self, Agent.self, CaptureMany.self, Clone.self, Snapshot.self,
                      Export.self, Import.self]
    )

    static func main() {
        // Buffers of 1 MiB and more come straight from mmap and go back to the system when
        // freed (glibc would otherwise raise its threshold after the first free and keep
        // such buffers in per-thread heaps, growing the resident size of long restores).
        _ = cairn_set_mmap_threshold(1 << 20)
        LoggingSystem.bootstrap { label in
            // The agent logs as its configuration says (plain or JSON lines).
            if let h = AgentLogging.handler(label: label) { return h }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = ProcessInfo.processInfo.environment["CAIRN_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
            return h
        }
        // s3:// archive destinations, here and in the capture workers (this same executable).
        ObjectStoreSetup.register()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// The database argument and repository option most commands share.
struct DatabaseOptions: ParsableArguments {
    @Argument(help: "Path of the SQLite database.")
    var database: String

    @Option(name: .long, help: "Repository directory (default: DATABASE.cairn beside the database).")
    var repo: String?

    @OptionGroup var objectStore: ObjectStoreOptions
    @OptionGroup var encryption: EncryptionOptions

    func open() throws(EngineError) -> Catalog {
        objectStore.apply()
        ErrorRendering.database = database
        return try Catalog.open(database: database, repository: repo, logger: Logger(label: "cairn"))
    }
}

/// The database the command works on, for the remedies in its error messages.
enum ErrorRendering {
    private static let current = Mutex<String?>(nil)
    static var database: String? {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

extension CommandLine {
    /// Absolute path of this executable (for starting worker processes).
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// Runs `body`, turning Cairn errors into a message on standard error and a nonzero exit.
func reporting(_ body: () throws(EngineError) -> Void) throws {
    do {
        try body()
    } catch {
        try? FileHandle.standardError.write(contentsOf: Data("cairn: error: \(error.description(database: ErrorRendering.database))\n".utf8))
        throw ExitCode(ExitStatus.of(error))
    }
}

enum Output {
    static func json<T: Encodable>(_ value: T) {
        print(String(decoding: jsonData(value), as: UTF8.self))
    }

    /// The JSON every `--json` prints: pretty-printed, keys sorted, ISO 8601 times.
    static func jsonData<T: Encodable>(_ value: T) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return (try? e.encode(value)) ?? Data("null".utf8)
    }

    /// `d` in UTC as ISO 8601 to the second (2026-11-21T14:01:00Z), without a formatter per
    /// call (listings print one per line, 100,000 lines and more).
    static func date(_ d: Date) -> String {
        var t = time_t(d.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let year = Int(parts.tm_year) + 1900
        guard (0...9999).contains(year) else {
            return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", year, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
        }
        // Digits written by hand: `String(format:)` took a third of `log list --json`'s time.
        return String(unsafeUninitializedCapacity: 20) { out in
            func put(_ value: Int, _ width: Int, at start: Int) {
                var v = value
                for i in stride(from: start + width - 1, through: start, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            put(year, 4, at: 0); out[4] = UInt8(ascii: "-")
            put(Int(parts.tm_mon) + 1, 2, at: 5); out[7] = UInt8(ascii: "-")
            put(Int(parts.tm_mday), 2, at: 8); out[10] = UInt8(ascii: "T")
            put(Int(parts.tm_hour), 2, at: 11); out[13] = UInt8(ascii: ":")
            put(Int(parts.tm_min), 2, at: 14); out[16] = UInt8(ascii: ":")
            put(Int(parts.tm_sec), 2, at: 17); out[19] = UInt8(ascii: "Z")
            return 20
        }
    }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }

    /// Parses sizes like 32M, 1G, 4096.
    static func parseSize(_ s: String) -> UInt64? {
        let u = s.uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        let mult: UInt64
        var digits = Substring(u)
        switch u.last {
        case "K": mult = 1 << 10; digits = digits.dropLast()
        case "M": mult = 1 << 20; digits = digits.dropLast()
        case "G": mult = 1 << 30; digits = digits.dropLast()
        default: mult = 1
        }
        guard let n = UInt64(digits), n > 0 else { return nil }
        let (r, o) = n.multipliedReportingOverflow(by: mult)
        return o ? nil : r
    }
}
