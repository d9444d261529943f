/// A CREATE statement as `sqlite_schema.sql` holds it (SQLite normalizes its start:
/// "CREATE TABLE name…", "CREATE [UNIQUE] INDEX name ON table…", "CREATE TRIGGER name …
/// ON table …", with no schema name and no IF NOT EXISTS), with the names in it replaced.
struct SchemaStatement {
    private(set) var sql: String

    init(_ sql: String) { self.sql = sql }

    /// Replaces the object's own name (the name after CREATE TABLE / INDEX / TRIGGER / VIEW).
    mutating func rename(to name: String) -> Bool {
        let s = Array(sql.unicodeScalars)
        var i = 0
        guard word(s, &i)?.uppercased() == "CREATE" else { return false }
        var kind = word(s, &i)?.uppercased()
        if kind == "UNIQUE" || kind == "VIRTUAL" { kind = word(s, &i)?.uppercased() }
        guard ["TABLE", "INDEX", "TRIGGER", "VIEW"].contains(kind ?? "") else { return false }
        return replaceName(s, at: &i, with: name)
    }

    /// Replaces the table an index or trigger is on (the name after its first ON keyword).
    mutating func retarget(to table: String) -> Bool {
        let s = Array(sql.unicodeScalars)
        var i = 0
        while i < s.count {
            skipSpace(s, &i)
            let start = i
            guard let token = nameToken(s, &i) else { i += 1; continue }
            if token.uppercased() == "ON" && isNameChar(s[start]) {
                return replaceName(s, at: &i, with: table)
            }
        }
        return false
    }

    /// Replaces the name token that starts after `i` (and whitespace).
    private mutating func replaceName(_ s: [Unicode.Scalar], at i: inout Int, with name: String) -> Bool {
        skipSpace(s, &i)
        let start = i
        guard nameToken(s, &i) != nil else { return false }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s[..<start])
        out.append(contentsOf: SQLName.quoted(name).unicodeScalars)
        out.append(contentsOf: s[i...])
        sql = String(out)
        return true
    }

    private func skipSpace(_ s: [Unicode.Scalar], _ i: inout Int) {
        while i < s.count, s[i].properties.isWhitespace { i += 1 }
    }

    /// A bare word (letters, digits, _ and $) after whitespace.
    private func word(_ s: [Unicode.Scalar], _ i: inout Int) -> String? {
        skipSpace(s, &i)
        let start = i
        while i < s.count, isNameChar(s[i]) { i += 1 }
        return i > start ? String(String.UnicodeScalarView(s[start..<i])) : nil
    }

    private func isNameChar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c == "$" || c.properties.isAlphabetic || ("0"..."9").contains(c) || c.value > 127
    }

    /// A name at `i`: quoted ("…", […], `…`, '…', doubled quotes inside) or bare; its text.
    private func nameToken(_ s: [Unicode.Scalar], _ i: inout Int) -> String? {
        guard i < s.count else { return nil }
        let close: Unicode.Scalar? = switch s[i] {
        case "\"": "\""
        case "`": "`"
        case "'": "'"
        case "[": "]"
        default: nil
        }
        guard let close else { return word(s, &i) }
        var text = String.UnicodeScalarView()
        i += 1
        while i < s.count {
            if s[i] == close {
                if close != "]", i + 1 < s.count, s[i + 1] == close {
                    text.append(close)
                    i += 2
                    continue
                }
                i += 1
                return String(text)
            }
            text.append(s[i])
            i += 1
        }
        return nil
    }
}
