import Foundation
import Testing
@testable import CairnEngines
@testable import CairnCLI
import CairnTestSupport

/// `log list --json` streams its document (`HistoryJSON`); it must be byte for byte what
/// `Output.json` (Foundation's encoder) makes of the same history.
@Suite struct HistoryJSONTests {
    static func streamed(_ h: History) throws -> String {
        let dir = TempDir()
        let path = dir.file("out.json")
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        #expect(fd >= 0)
        HistoryJSON.write(h, to: fd)
        close(fd)
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    static func encoded(_ h: History) -> String { String(decoding: Output.jsonData(h), as: UTF8.self) + "\n" }

    static func entry(_ scn: UInt64, _ kind: HistoryEntry.Kind, time: Double, tables: [String]?, indexes: [String]?, other: Int?) -> HistoryEntry {
        HistoryEntry(scn: scn, incarnation: 3, kind: kind, time: Date(timeIntervalSince1970: time), timeExact: scn % 2 == 0,
                     pages: Int(scn % 7), databasePages: UInt32(truncatingIfNeeded: 1000 &+ scn), tables: tables, indexes: indexes, otherPages: other)
    }

    @Test func theStreamedDocumentIsWhatTheEncoderMakes() throws {
        let odd = ["plain", "quo\"te", "back\\slash/and slash", "new\nline\ttab\r", "ctl\u{01}\u{1f}\u{7f}", "tä 表 🙂", ""]
        let histories = [
            History(entries: [], note: nil),
            History(entries: [], note: "logs through SCN 9 are no longer kept"),
            History(entries: [
                Self.entry(1, .transaction, time: 1_795_000_000.999, tables: ["items"], indexes: [], other: 0),
                Self.entry(2, .gap, time: 1_795_000_001.5, tables: nil, indexes: nil, other: nil),
                Self.entry(3, .transaction, time: 0, tables: odd, indexes: odd.reversed(), other: 12),
                Self.entry(UInt64(Int64.max), .transaction, time: 2_000_000_000, tables: [], indexes: ["i"], other: nil),
            ], note: "tables not named: \"why\"\n"),
        ]
        for h in histories {
            #expect(try Self.streamed(h) == Self.encoded(h))
        }
    }
}
