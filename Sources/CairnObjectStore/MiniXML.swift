/// An element of an S3 XML response: its name (without namespace prefix), its text and its
/// child elements. Attributes are dropped: S3's responses carry nothing in them we use.
struct S3XMLElement: Sendable, Equatable {
    let name: String
    var text = ""
    var children: [S3XMLElement] = []

    func first(_ name: String) -> S3XMLElement? { children.first { $0.name == name } }
    func all(_ name: String) -> [S3XMLElement] { children.filter { $0.name == name } }
    /// The text of the first child named `name`.
    func value(_ name: String) -> String? { first(name)?.text }
}

/// A small, strict XML reader for S3's responses. Malformed input gives nil, never a crash.
enum MiniXML {
    static let maximumDepth = 32

    static func parse(_ bytes: [UInt8]) -> S3XMLElement? {
        var reader = Reader(bytes: bytes)
        return reader.document()
    }

    static func parse(_ text: String) -> S3XMLElement? { parse(Array(text.utf8)) }

    /// `text` with &, <, >, " and ' escaped, for request bodies.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}

private struct Reader {
    let bytes: [UInt8]
    var position = 0
    var stack: [S3XMLElement] = []
    var root: S3XMLElement?

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() -> S3XMLElement? {
        while position < bytes.count {
            if bytes[position] == UInt8(ascii: "<") {
                guard markup() else { return nil }
            } else {
                guard text() else { return nil }
            }
        }
        return stack.isEmpty ? root : nil
    }

    /// Text up to the next `<`: kept in the open element, only whitespace allowed outside.
    private mutating func text() -> Bool {
        let end = bytes[position...].firstIndex(of: UInt8(ascii: "<")) ?? bytes.count
        let raw = bytes[position..<end]
        position = end
        guard !stack.isEmpty else { return raw.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D } }
        guard let decoded = Self.decodeEntities(raw) else { return false }
        stack[stack.count - 1].text += decoded
        return true
    }

    private mutating func markup() -> Bool {
        if starts(with: "<?") { return skip(past: "?>") }
        if starts(with: "<!--") { return skip(past: "-->") }
        if starts(with: "<![CDATA[") { return cdata() }
        if starts(with: "<!") { return skip(past: ">") }
        guard let close = bytes[position...].firstIndex(of: UInt8(ascii: ">")) else { return false }
        let inner = bytes[(position + 1)..<close]
        position = close + 1
        if inner.first == UInt8(ascii: "/") { return closeElement(Self.name(inner.dropFirst())) }
        let selfClosing = inner.last == UInt8(ascii: "/")
        let name = Self.name(selfClosing ? inner.dropLast() : inner)
        guard !name.isEmpty, root == nil, stack.count < MiniXML.maximumDepth else { return false }
        stack.append(S3XMLElement(name: name))
        return selfClosing ? closeElement(name) : true
    }

    private mutating func closeElement(_ name: String) -> Bool {
        guard let open = stack.popLast(), open.name == name else { return false }
        if stack.isEmpty {
            root = open
        } else {
            stack[stack.count - 1].children.append(open)
        }
        return true
    }

    private mutating func cdata() -> Bool {
        let start = position + 9
        guard let end = find("]]>", from: start), !stack.isEmpty else { return false }
        stack[stack.count - 1].text += String(decoding: bytes[start..<end], as: UTF8.self)
        position = end + 3
        return true
    }

    private func starts(with prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        return bytes.count - position >= p.count && bytes[position..<(position + p.count)].elementsEqual(p)
    }

    private mutating func skip(past terminator: String) -> Bool {
        guard let end = find(terminator, from: position) else { return false }
        position = end + terminator.utf8.count
        return true
    }

    private func find(_ needle: String, from start: Int) -> Int? {
        let n = Array(needle.utf8)
        guard bytes.count >= n.count, start <= bytes.count - n.count else { return nil }
        return (start...(bytes.count - n.count)).first { bytes[$0..<($0 + n.count)].elementsEqual(n) }
    }

    /// The element name before any attribute, without a namespace prefix.
    private static func name(_ tag: ArraySlice<UInt8>) -> String {
        let raw = tag.prefix { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
        let local = raw.lastIndex(of: UInt8(ascii: ":")).map { raw[($0 + 1)...] } ?? raw
        return String(decoding: local, as: UTF8.self)
    }

    private static func decodeEntities(_ raw: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: raw, as: UTF8.self)
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";"), let scalar = entity(rest[rest.index(after: amp)..<semi]) else { return nil }
            out.unicodeScalars.append(scalar)
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    private static func entity(_ name: Substring) -> Unicode.Scalar? {
        switch name {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        default:
            guard name.hasPrefix("#") else { return nil }
            let digits = name.dropFirst()
            let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            return value.flatMap(Unicode.Scalar.init)
        }
    }
}
