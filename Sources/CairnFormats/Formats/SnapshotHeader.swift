import Foundation

/// The first 512 bytes of a snapshot file (`NAME.csnap`): plain text a person reads with
/// `head -c 512`, one `key: value` line each, padded with spaces to a last newline. The first line says what
/// the file is; `format` and `release` come next and are checked before anything else (a
/// newer format may be verified differently); `check` is the XXH3 of every byte before its
/// line. The regions name where the rest lies:
///
///     keyring   the repository's keyring (data keys wrapped under the master key), when encrypted
///     piece     one backup piece (`BackupPieceFormat`) holding every page, encrypted as a
///               stored file when the repository is
///     manifest  the backup manifest of that piece (JSON), with its XXH3
package struct SnapshotHeader: Sendable, Equatable, Codable {
    package struct Region: Sendable, Equatable, Codable {
        package var offset: UInt64
        package var length: UInt64
        package init(offset: UInt64, length: UInt64) { self.offset = offset; self.length = length }
    }

    package static let size = 512
    package static let title = "Cairn snapshot"

    package var format = FormatVersion.snapshot
    /// The writing Cairn release, MAJOR.MINOR.PATCH.
    package var release = FormatVersion.release
    package var name: String
    package var database: String
    package var dbid: String
    package var scn: UInt64
    /// When the transaction at `scn` committed (when known), else when the snapshot was taken.
    package var time: Date
    package var incarnation: Int
    package var pageSize: Int
    package var pages: UInt32
    /// The master key id the keyring's data keys are wrapped under; nil: not encrypted.
    package var masterKeyID: String?
    package var keyring = Region(offset: 0, length: 0)
    package var piece = Region(offset: 0, length: 0)
    package var manifest = Region(offset: 0, length: 0)
    package var manifestXXH3 = ""

    package init(name: String, database: String, dbid: String, scn: UInt64, time: Date, incarnation: Int, pageSize: Int, pages: UInt32) {
        self.name = name
        self.database = database
        self.dbid = dbid
        self.scn = scn
        self.time = time
        self.incarnation = incarnation
        self.pageSize = pageSize
        self.pages = pages
    }

    /// The 512 header bytes; throws when the text does not fit.
    package func encoded() throws(EngineError) -> [UInt8] {
        var text = Self.title + "\n"
        text += "format: \(format)\nrelease: \(release)\nname: \(name)\n"
        text += "database: \(String(database.prefix(60)))\ndbid: \(dbid)\nscn: \(scn)\n"
        text += "time: \(Self.timeText(time))\nincarnation: \(incarnation)\n"
        text += "pages: \(pages) of \(pageSize) bytes\n"
        text += "encryption: " + (masterKeyID.map { "AES-256-GCM, master key \($0)" } ?? "none") + "\n"
        text += "keyring: \(keyring.offset) \(keyring.length)\npiece: \(piece.offset) \(piece.length)\n"
        text += "manifest: \(manifest.offset) \(manifest.length) \(manifestXXH3)\n"
        var bytes = Array(text.utf8)
        bytes += Array("check: \(Hash.hex(Hash.xxh3(bytes)))\n".utf8)
        guard bytes.count < Self.size else {
            throw .invalidArgument("the snapshot header needs \(bytes.count) bytes, more than \(Self.size); use a shorter name")
        }
        // Padded with spaces to one newline at the end: `head -c 512` shows the lines and one blank one.
        return bytes + [UInt8](repeating: UInt8(ascii: " "), count: Self.size - bytes.count - 1) + [UInt8(ascii: "\n")]
    }

    /// Reads a header: what the file is, then its format and release (refused when newer than
    /// this release reads), then its checksum and fields.
    package static func decode(_ bytes: [UInt8], file: String) throws(EngineError) -> SnapshotHeader {
        let text = String(decoding: bytes.prefix(size), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard lines.first == title else {
            throw .corrupt(file: file, offset: 0, detail: "not a Cairn snapshot (its first line is not \"\(title)\")")
        }
        lines.removeFirst()
        let fields = Dictionary(lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }, uniquingKeysWith: { a, _ in a })
        try checkVersions(fields, file: file)
        guard let checkLine = text.range(of: "\ncheck: "), let checkEnd = text[checkLine.upperBound...].firstIndex(of: "\n") else {
            throw .corrupt(file: file, offset: 0, detail: "the snapshot header has no check line")
        }
        let covered = Array(text[..<checkLine.lowerBound].utf8) + [UInt8(ascii: "\n")]
        guard Hash.hex(Hash.xxh3(covered)) == String(text[checkLine.upperBound..<checkEnd]) else {
            throw .corrupt(file: file, offset: 0, detail: "the snapshot header's checksum does not match its text: the header was changed or damaged")
        }
        return try parse(fields, file: file)
    }

    /// A format or a release newer than this one's is refused, naming both.
    static func checkVersions(_ fields: [String: String], file: String) throws(EngineError) {
        guard let formatText = fields["format"], let format = Int(formatText), let release = fields["release"],
              let written = ReleaseNumber(release) else {
            throw .corrupt(file: file, offset: 0, detail: "the snapshot header has no readable format and release lines")
        }
        let running = ReleaseNumber(FormatVersion.release)!
        if written > running || format > FormatVersion.snapshot {
            throw .newerRelease(file: file, written: release, running: FormatVersion.release, format: format, reads: FormatVersion.snapshot)
        }
    }

    private static func parse(_ f: [String: String], file: String) throws(EngineError) -> SnapshotHeader {
        func field(_ key: String) throws(EngineError) -> String {
            guard let v = f[key], !v.isEmpty else { throw .corrupt(file: file, offset: 0, detail: "the snapshot header has no \(key) line") }
            return v
        }
        func region(_ key: String) throws(EngineError) -> (Region, [String]) {
            let parts = try field(key).split(separator: " ").map(String.init)
            guard parts.count >= 2, let o = UInt64(parts[0]), let l = UInt64(parts[1]) else {
                throw .corrupt(file: file, offset: 0, detail: "the snapshot header's \(key) line is not OFFSET LENGTH")
            }
            return (Region(offset: o, length: l), Array(parts.dropFirst(2)))
        }
        let pagesParts = try field("pages").split(separator: " ")
        guard let scn = UInt64(try field("scn")), let incarnation = Int(try field("incarnation")), let time = parseTime(try field("time")),
              pagesParts.count == 4, let pages = UInt32(pagesParts[0]), let pageSize = Int(pagesParts[2]), UInt64(try field("dbid")) != nil else {
            throw .corrupt(file: file, offset: 0, detail: "the snapshot header's scn, incarnation, time, pages or dbid line is not readable")
        }
        var h = SnapshotHeader(name: try field("name"), database: try field("database"), dbid: try field("dbid"), scn: scn, time: time,
                               incarnation: incarnation, pageSize: pageSize, pages: pages)
        h.format = Int(f["format"]!)!
        h.release = f["release"]!
        let encryption = try field("encryption")
        h.masterKeyID = encryption == "none" ? nil : encryption.components(separatedBy: "master key ").last
        h.keyring = try region("keyring").0
        h.piece = try region("piece").0
        let (manifest, rest) = try region("manifest")
        guard let xxh3 = rest.first else { throw .corrupt(file: file, offset: 0, detail: "the snapshot header's manifest line has no checksum") }
        h.manifest = manifest
        h.manifestXXH3 = xxh3
        return h
    }

    static func timeText(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }

    static func parseTime(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: s) ?? ISO8601DateFormatter().date(from: s)
    }
}

/// A release number, MAJOR.MINOR.PATCH, compared part by part.
package struct ReleaseNumber: Comparable, Sendable {
    let parts: [Int]

    package init?(_ text: String) {
        let p = text.split(separator: ".").map { Int($0) }
        guard p.count == 3, p.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        parts = p.map { $0! }
    }

    package static func < (a: ReleaseNumber, b: ReleaseNumber) -> Bool { a.parts.lexicographicallyPrecedes(b.parts) }
}
