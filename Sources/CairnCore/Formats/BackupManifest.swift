import Foundation

/// The manifest of one backup: what it holds and how to check every file of it.
/// Written last, as `manifest.json` in a checked document, so a backup without a valid
/// manifest is never mistaken for a complete one.
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let kind = "manifest"
    public static let fileName = "manifest.json"

    public struct File: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: UInt64
        public var xxh3: String
        public var pages: UInt64
        public var firstPage: UInt32
        public var lastPage: UInt32
    }

    public var dbid: String
    public var backupId: UInt64
    public var kind: BackupRecord.Kind
    public var level: Int
    public var incarnation: Int
    public var scn: UInt64
    public var pageSize: Int
    public var pageCount: UInt32
    /// Database state checksum (sum of the seeded page hashes), hex.
    public var stateChecksum: String
    public var compression: String
    public var compressionLevel: Int?
    /// Most pages in one block (readers size their buffers from it).
    public var blockPages: Int
    public var files: [File]
    public var tag: String?
    public var databaseName: String
    public var startedAt: Date
    public var completedAt: Date
    public var release: String
    /// Level 1: the parent backup (and whether the changes are counted from the last level 0).
    public var baseId: UInt64? = nil
    public var cumulative: Bool? = nil
    /// Archival backups (`--keep-until DATE|forever`).
    public var keepUntil: Date? = nil
    public var keepForever: Bool? = nil
    /// Pages the pieces hold (a level 1 holds the changed pages only); nil means every page.
    public var pagesStored: UInt64? = nil
    /// Level 1: how the changed pages were found: "tracked" (change tracking named the
    /// candidates) or "scanned" (every page compared with the base's page map).
    public var changeSource: String? = nil
    /// The hash of every page at the backup's SCN (`pages.map`, a `PageMap` file), so the next
    /// level 1 can compute its state checksum without reading the whole database.
    public var pageMap: File? = nil
    /// Archived-log backups: one entry per log, each stored as `name` (zstd) in the set.
    public var logs: [LogEntry]? = nil
    /// Permission bits of the database when it was backed up: a restore from the repository
    /// alone gives them to the restored file (nil in older manifests: owner-only).
    public var databaseMode: FileMode? = nil

    public struct LogEntry: Codable, Sendable, Equatable {
        public var incarnation: Int
        public var sequence: UInt64
        public var lowScn: UInt64
        public var highScn: UInt64
        public var lowTime: Date?
        public var highTime: Date?
        public var records: Int
        /// Size and XXH3 of the log itself (as recorded in the control file).
        public var logBytes: UInt64
        public var logXXH3: String
        /// The file in the backup set that holds it.
        public var name: String
        public var key: LogKey { LogKey(incarnation: incarnation, sequence: sequence) }
    }

    public var storedBytes: UInt64 { files.reduce(0) { $0 + $1.bytes } }

    public static func read(directory: String) throws(CairnError) -> BackupManifest {
        let path = directory + "/" + fileName
        guard FileSystem.exists(path) else {
            throw .missingFile(path: path, detail: "the backup's manifest is gone")
        }
        let bytes = try FileSystem.readAll(path)
        let doc = try CheckedDocument.decode(bytes, kind: kind, maxVersion: FormatVersion.manifest, file: path)
        return try doc.decodeBody(BackupManifest.self, file: path)
    }

    public func write(directory: String) throws(CairnError) -> UInt64 {
        let bytes = CheckedDocument.make(self, kind: Self.kind, version: FormatVersion.manifest, usn: 1).encoded()
        let path = directory + "/" + Self.fileName
        let f = try RawFile(path: path, mode: .createNew)
        try f.write(bytes, at: 0)
        try f.sync()
        return UInt64(bytes.count)
    }
}
