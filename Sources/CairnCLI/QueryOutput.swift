import Foundation
import CairnEngines

/// Prints the rows of `cairn query` as they come: a header line then `|`-separated values (as
/// the sqlite3 shell's list mode), CSV with a header line (RFC 4180 quoting), or one JSON array
/// of objects, one per row (several statements: their rows one after the other).
final class QueryOutput {
    enum Format { case table, csv, json }

    let format: Format
    private var columns: [String] = []
    private var rows = 0
    private let encoder = JSONEncoder()

    init(format: Format) {
        self.format = format
        if format == .json { print("[", terminator: "") }
    }

    func handle(_ event: QueryEvent) {
        switch event {
        case let .statement(_, columns):
            self.columns = columns
            if format == .table, !columns.isEmpty { print(columns.joined(separator: "|")) }
            if format == .csv, !columns.isEmpty { print(columns.map(Self.csvField).joined(separator: ",")) }
        case let .row(values):
            rows += 1
            switch format {
            case .table: print(values.map(Self.text).joined(separator: "|"))
            case .csv: print(values.map { Self.csvField(Self.text($0)) }.joined(separator: ","))
            case .json: print((rows > 1 ? ",\n" : "\n") + json(values), terminator: "")
            }
        }
    }

    func finish() {
        if format == .json { print(rows > 0 ? "\n]" : "]") }
    }

    private func json(_ values: [SQLiteValue]) -> String {
        let fields = zip(columns, values).map { name, value in
            let key = (try? encoder.encode(name)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
            let v = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
            return key + ":" + v
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A value as text: numbers and text as they are, NULL as nothing, a blob as X'…'.
    static func text(_ v: SQLiteValue) -> String {
        switch v {
        case .null: return ""
        case let .text(s): return s
        default: return v.sqlLiteral
        }
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
