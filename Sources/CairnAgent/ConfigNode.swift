import Foundation
import Yams

/// One node of the configuration file as the parser reads it: its value, where it is, and
/// the key path that led to it (for messages). Every accessor throws a `ConfigurationError`
/// naming the line when the value is not of the kind asked for.
struct ConfigNode {
    let node: Node
    let path: String
    let file: String
    let environment: [String: String]

    var line: Int { node.mark?.line ?? 0 }
    var column: Int { node.mark?.column ?? 0 }

    func error(_ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: line, column: column, message: path.isEmpty ? message : "\(path): \(message)")
    }

    /// The keys of a mapping, each checked against `allowed`: an unknown key is an error (a
    /// misspelt setting must not be silently ignored), and so is a key given twice.
    func mapping(allowed: [String]) throws(ConfigurationError) -> [String: ConfigNode] {
        guard case let .mapping(m) = node else { throw error("expected a mapping of settings (key: value)") }
        var out: [String: ConfigNode] = [:]
        for (k, v) in m {
            let child = ConfigNode(node: k, path: path, file: file, environment: environment)
            guard case let .scalar(s) = k else { throw child.error("a key must be a plain name") }
            let key = s.string
            let at = ConfigNode(node: v, path: path.isEmpty ? key : path + "." + key, file: file, environment: environment)
            guard allowed.contains(key) else {
                throw child.error("unknown setting '\(key)' (known here: \(allowed.joined(separator: ", ")))")
            }
            if out[key] != nil { throw child.error("'\(key)' is given twice") }
            out[key] = at
        }
        return out
    }

    func sequence() throws(ConfigurationError) -> [ConfigNode] {
        guard case let .sequence(s) = node else { throw error("expected a list") }
        return s.enumerated().map { i, n in ConfigNode(node: n, path: "\(path)[\(i)]", file: file, environment: environment) }
    }

    /// A scalar with `${NAME}` replaced by the environment variable NAME (an unset one is an
    /// error: a secret left out must not become an empty string).
    func string() throws(ConfigurationError) -> String {
        guard case let .scalar(s) = node else { throw error("expected a single value") }
        return try expand(s.string)
    }

    func int(in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let text = try string()
        guard let n = Int(text), range.contains(n) else { throw error("'\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return n
    }

    func double(in range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        let text = try string()
        guard let n = Double(text), range.contains(n) else { throw error("'\(text)' is not a number from \(range.lowerBound) to \(range.upperBound)") }
        return n
    }

    func bool() throws(ConfigurationError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw error("'\(other)' is not true or false")
        }
    }

    /// A list of strings, or one string taken as a list of one.
    func strings() throws(ConfigurationError) -> [String] {
        if case .scalar = node { return [try string()] }
        var out: [String] = []
        for item in try sequence() { out.append(try item.string()) }
        return out
    }

    /// A size such as 16M, 4096 or 1G, in bytes.
    func bytes() throws(ConfigurationError) -> UInt64 {
        let text = try string().trimmingCharacters(in: .whitespaces)
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = Substring(text.uppercased())
        var scale: UInt64 = 1
        if digits.hasSuffix("B") || digits.hasSuffix("IB") { digits = digits.dropLast(digits.hasSuffix("IB") ? 2 : 1) }
        if let last = digits.last, let u = units[last] { scale = u; digits = digits.dropLast() }
        guard let n = UInt64(digits), n > 0 else { throw error("'\(text)' is not a size (e.g. 16M, 1G or a number of bytes)") }
        return n * scale
    }

    private func expand(_ text: String) throws(ConfigurationError) -> String {
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { throw error("'${' without a closing '}'") }
            let name = String(rest[start.upperBound..<end])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw error("'${\(name)}' is not a variable name") }
            guard let value = environment[name] else { throw error("the environment variable \(name) is not set") }
            out += value
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }
}
