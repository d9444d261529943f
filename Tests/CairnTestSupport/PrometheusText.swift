import Foundation

/// A strict reader of the Prometheus text exposition format (version 0.0.4), for the tests of
/// `/metrics`: every line must be a `# HELP`, a `# TYPE` or a sample of the family last typed.
package enum PrometheusText {
    package struct Sample: Equatable {
        package var name: String
        package var labels: [String: String]
        package var value: Double
    }

    package struct Parsed {
        package var samples: [Sample] = []
        /// Type of each family (`counter`, `gauge`, …).
        package var types: [String: String] = [:]
        package var help: [String: String] = [:]

        package func samples(_ name: String) -> [Sample] { samples.filter { $0.name == name } }

        /// The value of `name` whose labels include `labels`.
        package func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { s in s.name == name && labels.allSatisfy { k, v in s.labels[k] == v } }?.value
        }
    }

    package struct Mistake: Error, CustomStringConvertible {
        package var line: Int
        package var text: String
        package var why: String
        package var description: String { "line \(line): \(why): \(text)" }
    }

    package static func parse(_ text: String) throws(Mistake) -> Parsed {
        var parsed = Parsed()
        var family: String?
        guard text.isEmpty || text.hasSuffix("\n") else { throw Mistake(line: 0, text: "", why: "the text does not end with a line feed") }
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let line = String(line)
            func mistake(_ why: String) -> Mistake { Mistake(line: i + 1, text: line, why: why) }
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard let name = parts.first.map(String.init), isMetricName(name) else { throw mistake("bad metric name") }
                if line.hasPrefix("# TYPE ") {
                    guard parts.count == 2, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[1]) else { throw mistake("bad type") }
                    guard parsed.types[name] == nil else { throw mistake("family typed twice") }
                    parsed.types[name] = String(parts[1])
                    family = name
                } else {
                    parsed.help[name] = parts.count == 2 ? String(parts[1]) : ""
                }
                continue
            }
            guard !line.hasPrefix("#"), !line.isEmpty else { throw mistake("not a sample") }
            guard let sample = sample(line) else { throw mistake("not a sample") }
            guard let family, sample.name == family || (sample.name.hasPrefix(family + "_") && ["histogram", "summary"].contains(parsed.types[family])) else {
                throw mistake("sample outside its family's block")
            }
            parsed.samples.append(sample)
        }
        return parsed
    }

    private static func isMetricName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first.isASCIILetter || first == "_" || first == ":" else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == ":" }
    }

    private static func isLabelName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first.isASCIILetter || first == "_" else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" }
    }

    /// `name{label="value",…} value [timestamp]`.
    private static func sample(_ line: String) -> Sample? {
        var rest = Substring(line)
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        guard isMetricName(name) else { return nil }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            guard let parsed = self.labels(&rest) else { return nil }
            labels = parsed
        }
        guard rest.first == " " else { return nil }
        let fields = rest.dropFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 1 || (fields.count == 2 && Int64(fields[1]) != nil), let value = number(String(fields[0])) else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }

    /// The labels after `{`, up to and including `}`.
    private static func labels(_ rest: inout Substring) -> [String: String]? {
        var labels: [String: String] = [:]
        while rest.first != "}" {
            let name = String(rest.prefix { $0 != "=" })
            guard isLabelName(name), labels[name] == nil else { return nil }
            rest = rest.dropFirst(name.count)
            guard rest.hasPrefix("=\"") else { return nil }
            rest = rest.dropFirst(2)
            guard let value = quoted(&rest) else { return nil }
            labels[name] = value
            if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { return nil }
        }
        rest = rest.dropFirst()
        return labels
    }

    /// A label value up to its closing quote: `\\`, `\"` and `\n` are its only escapes.
    private static func quoted(_ rest: inout Substring) -> String? {
        var value = ""
        while let c = rest.first {
            rest = rest.dropFirst()
            switch c {
            case "\"": return value
            case "\n": return nil
            case "\\":
                guard let e = rest.first, let decoded = ["\\": "\\", "\"": "\"", "n": "\n"][e] else { return nil }
                value += decoded
                rest = rest.dropFirst()
            default: value.append(c)
            }
        }
        return nil
    }

    /// A Go `ParseFloat` number, `NaN`, `+Inf` or `-Inf`.
    private static func number(_ s: String) -> Double? {
        switch s {
        case "NaN": return .nan
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        default:
            guard s.range(of: #"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"#, options: .regularExpression) != nil else { return nil }
            return Double(s)
        }
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) }
    fileprivate var isASCIIDigit: Bool { (0x30...0x39).contains(value) }
}
