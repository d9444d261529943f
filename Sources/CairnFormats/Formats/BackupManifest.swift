import Foundation

/// The manifest of one backup: what it holds and how to check every file of it.
/// Written last, as `manifest.json` in a checked document, so a backup without a valid
/// manifest is never mistaken for a complete one.
package struct BackupManifest: Codable, Sendable, Equatable {
    package static let kind = "manifest"
    package static let fileName = "manifest.json"

    package struct File: Codable, Sendable, Equatable {
        package var name: String
        package var bytes: UInt64
        package var xxh3: String
        package var pages: UInt64
        package var firstPage: UInt32
        package var lastPage: UInt32
        /// Where each block of a piece starts (see `BlockIndex`), so a reader wanting a few
        /// pages goes straight to their blocks; nil in pieces written before it existed.
        package var blockIndex: String? = nil

        package init(name: String, bytes: UInt64, xxh3: String, pages: UInt64, firstPage: UInt32, lastPage: UInt32, blockIndex: String? = nil) {
            self.name = name
            self.bytes = bytes
            self.xxh3 = xxh3
            self.pages = pages
            self.firstPage = firstPage
            self.lastPage = lastPage
            self.blockIndex = blockIndex
        }
    }

    package var dbid: String
    package var backupId: UInt64
    package var kind: BackupKind
    package var level: Int
    package var incarnation: Int
    package var scn: UInt64
    package var pageSize: Int
    package var pageCount: UInt32
    /// Database state checksum (sum of the seeded page hashes), hex.
    package var stateChecksum: String
    package var compression: String
    package var compressionLevel: Int?
    /// Most pages in one block (readers size their buffers from it).
    package var blockPages: Int
    package var files: [File]
    package var tag: String?
    package var databaseName: String
    package var startedAt: Date
    package var completedAt: Date
    package var release: String
    /// Level 1: the parent backup (and whether the changes are counted from the last level 0).
    package var baseId: UInt64? = nil
    package var cumulative: Bool? = nil
    /// Archival backups (`--keep-until DATE|forever`).
    package var keepUntil: Date? = nil
    package var keepForever: Bool? = nil
    /// Pages the pieces hold (a level 1 holds the changed pages only); nil means every page.
    package var pagesStored: UInt64? = nil
    /// Level 1: how the changed pages were found: "tracked" (change tracking named the
    /// candidates) or "scanned" (every page compared with the base's page map).
    package var changeSource: String? = nil
    /// The hash of every page at the backup's SCN (`pages.map`, a `PageMap` file), so the next
    /// level 1 can compute its state checksum without reading the whole database.
    package var pageMap: File? = nil
    /// Archived-log backups: one entry per log, each stored as `name` (zstd) in the set.
    package var logs: [LogEntry]? = nil
    /// Permission bits of the database when it was backed up: a restore from the repository
    /// alone gives them to the restored file (nil in older manifests: owner-only).
    package var databaseMode: FileMode? = nil

    package struct LogEntry: Codable, Sendable, Equatable {
        package var incarnation: Int
        package var sequence: UInt64
        package var lowScn: UInt64
        package var highScn: UInt64
        package var lowTime: Date?
        package var highTime: Date?
        package var records: Int
        /// Size and XXH3 of the log itself (as recorded in the control file).
        package var logBytes: UInt64
        package var logXXH3: String
        /// The file in the backup set that holds it.
        package var name: String
        package var key: LogKey { LogKey(incarnation: incarnation, sequence: sequence) }
        package init(incarnation: Int, sequence: UInt64, lowScn: UInt64, highScn: UInt64, lowTime: Date? = nil, highTime: Date? = nil, records: Int, logBytes: UInt64, logXXH3: String, name: String) {
            self.incarnation = incarnation
            self.sequence = sequence
            self.lowScn = lowScn
            self.highScn = highScn
            self.lowTime = lowTime
            self.highTime = highTime
            self.records = records
            self.logBytes = logBytes
            self.logXXH3 = logXXH3
            self.name = name
        }

    }

    package var storedBytes: UInt64 { files.reduce(0) { $0 + $1.bytes } }

    package static func read(directory: String) throws(EngineError) -> BackupManifest {
        let path = directory + "/" + fileName
        guard FileSystem.exists(path) else {
            throw .missingFile(path: path, detail: "the backup's manifest is gone")
        }
        let bytes = try FileSystem.readAll(path)
        let doc = try CheckedDocument.decode(bytes, kind: kind, maxVersion: FormatVersion.manifest, file: path)
        return try doc.decodeBody(BackupManifest.self, file: path)
    }

    package func write(directory: String) throws(EngineError) -> UInt64 {
        let bytes = CheckedDocument.make(self, kind: Self.kind, version: FormatVersion.manifest, usn: 1).encoded()
        let path = directory + "/" + Self.fileName
        let f = try RawFile(path: path, mode: .createNew)
        try f.write(bytes, at: 0)
        try f.sync()
        return UInt64(bytes.count)
    }

    package init(dbid: String, backupId: UInt64, kind: BackupKind, level: Int, incarnation: Int, scn: UInt64, pageSize: Int, pageCount: UInt32, stateChecksum: String, compression: String, compressionLevel: Int? = nil, blockPages: Int, files: [File], tag: String? = nil, databaseName: String, startedAt: Date, completedAt: Date, release: String, baseId: UInt64? = nil, cumulative: Bool? = nil, keepUntil: Date? = nil, keepForever: Bool? = nil, pagesStored: UInt64? = nil, changeSource: String? = nil, pageMap: File? = nil, logs: [LogEntry]? = nil, databaseMode: FileMode? = nil) {
        self.dbid = dbid
        self.backupId = backupId
        self.kind = kind
        self.level = level
        self.incarnation = incarnation
        self.scn = scn
        self.pageSize = pageSize
        self.pageCount = pageCount
        self.stateChecksum = stateChecksum
        self.compression = compression
        self.compressionLevel = compressionLevel
        self.blockPages = blockPages
        self.files = files
        self.tag = tag
        self.databaseName = databaseName
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.release = release
        self.baseId = baseId
        self.cumulative = cumulative
        self.keepUntil = keepUntil
        self.keepForever = keepForever
        self.pagesStored = pagesStored
        self.changeSource = changeSource
        self.pageMap = pageMap
        self.logs = logs
        self.databaseMode = databaseMode
    }
}
