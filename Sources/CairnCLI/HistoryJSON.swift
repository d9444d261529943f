import Foundation
import CairnEngines

/// `log list --json` written as it goes: the same document `Output.json` makes of a `History`
/// (pretty-printed, keys sorted, ISO 8601 times), without building it in memory first — a
/// history of 100,000 transactions is 28 MiB of JSON. Entries that carry rows (`--rows`) are
/// encoded by `JSONEncoder` instead, whole.
struct HistoryJSON {
    private var out: [UInt8] = []
    private let fd: Int32

    /// Prints `h` as `Output.json` would.
    static func print(_ h: History) {
        if h.entries.contains(where: { $0.rows != nil }) { return Output.json(h) }
        write(h, to: STDOUT_FILENO)
    }

    /// Writes the document to `fd`, in pieces of about 64 KiB.
    static func write(_ h: History, to fd: Int32) {
        var w = HistoryJSON(fd: fd)
        w.out.reserveCapacity(1 << 16)
        w.text("{\n  \"entries\" : [")
        for (i, e) in h.entries.enumerated() {
            w.text(i == 0 ? "\n" : ",\n")
            w.entry(e)
            if w.out.count >= 1 << 16 { w.flush() }
        }
        w.text(h.entries.isEmpty ? "\n\n  ]" : "\n  ]")
        if let note = h.note {
            w.text(",\n  \"note\" : ")
            w.string(note)
        }
        w.text("\n}\n")
        w.flush()
    }

    private mutating func entry(_ e: HistoryEntry) {
        text("    {\n")
        var first = true
        func key(_ k: String) {
            text(first ? "      \"" : ",\n      \"")
            first = false
            text(k)
            text("\" : ")
        }
        key("databasePages"); number(UInt64(e.databasePages))
        key("incarnation"); text(String(e.incarnation))
        if let indexes = e.indexes { key("indexes"); strings(indexes) }
        key("kind"); string(e.kind.rawValue)
        if let other = e.otherPages { key("otherPages"); text(String(other)) }
        key("pages"); text(String(e.pages))
        key("scn"); number(e.scn)
        if let tables = e.tables { key("tables"); strings(tables) }
        key("time"); string(Output.date(e.time))
        key("timeExact"); text(e.timeExact ? "true" : "false")
        text("\n    }")
    }

    private mutating func strings(_ list: [String]) {
        if list.isEmpty { text("[\n\n      ]"); return }
        text("[\n")
        for (i, s) in list.enumerated() {
            text(i == 0 ? "        " : ",\n        ")
            string(s)
        }
        text("\n      ]")
    }

    private init(fd: Int32) { self.fd = fd }

    private mutating func number(_ n: UInt64) { text(String(n)) }

    private mutating func text(_ s: String) { out.append(contentsOf: s.utf8) }

    /// A JSON string: quotes, backslashes and control characters escaped (slashes are not).
    private mutating func string(_ s: String) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): text("\\\"")
            case UInt8(ascii: "\\"): text("\\\\")
            case 0x0A: text("\\n")
            case 0x0D: text("\\r")
            case 0x09: text("\\t")
            case 0x08: text("\\b")
            case 0x0C: text("\\f")
            case 0..<0x20: text(String(format: "\\u%04x", b))
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private mutating func flush() {
        out.withUnsafeBytes { buf in
            var at = 0
            while at < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + at, buf.count - at)
                if n <= 0 { if errno == EINTR { continue }; return }
                at += n
            }
        }
        out.removeAll(keepingCapacity: true)
    }
}
