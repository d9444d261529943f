import Foundation

/// The timestamps of S3's protocol: SigV4's `20150830T123600Z`, ISO 8601 in XML bodies and
/// RFC 1123 in `Last-Modified`, written and read by hand: no formatter shared between threads,
/// and no ICU (a DateFormatter per HEAD loaded several MiB of locale data into every upload).
enum AmzDate {
    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T" + pad(secondOfDay / 3600, 2) + pad(secondOfDay / 60 % 60, 2) + pad(secondOfDay % 60, 2) + "Z"
    }

    /// `2009-10-12T17:50:30.000Z` (fractional seconds optional; `Z` or an offset `±HH:MM`), or nil.
    static func parseISO8601(_ text: String) -> Date? {
        var s = Scanner(text)
        guard let year = s.number(4), s.take("-"), let month = s.number(2), s.take("-"), let day = s.number(2), s.take("T") || s.take("t"),
              let hour = s.number(2), s.take(":"), let minute = s.number(2), s.take(":"), let second = s.number(2) else { return nil }
        var fraction = 0.0
        if s.take(".") {
            var scale = 0.1
            guard let first = s.digit() else { return nil }
            fraction = Double(first) * scale
            while let d = s.digit() {
                scale /= 10
                fraction += Double(d) * scale
            }
        }
        var offset: Int64 = 0
        if !(s.take("Z") || s.take("z")) {
            guard let sign = s.sign(), let hours = s.number(2), s.take(":"), let minutes = s.number(2) else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard s.atEnd, let seconds = epochSeconds(year, month, day, hour, minute, second) else { return nil }
        return Date(timeIntervalSince1970: Double(seconds - offset) + fraction)
    }

    /// `Wed, 12 Oct 2009 17:50:00 GMT`, or nil.
    static func parseHTTPDate(_ text: String) -> Date? {
        var s = Scanner(text)
        guard s.word() != nil, s.take(","), s.take(" "), let day = s.number(1...2), s.take(" "),
              let name = s.word(), let month = months.firstIndex(of: name), s.take(" "),
              let year = s.number(4), s.take(" "), let hour = s.number(2), s.take(":"), let minute = s.number(2), s.take(":"),
              let second = s.number(2), s.take(" "), let zone = s.word(), zone == "GMT" || zone == "UTC", s.atEnd,
              let seconds = epochSeconds(year, Int64(month + 1), day, hour, minute, second) else { return nil }
        return Date(timeIntervalSince1970: Double(seconds))
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Seconds since 1970-01-01T00:00:00Z of a UTC date and time, or nil when a field is out of range.
    private static func epochSeconds(_ year: Int64, _ month: Int64, _ day: Int64, _ hour: Int64, _ minute: Int64, _ second: Int64) -> Int64? {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        return days(fromCivil: year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (the inverse of `civil`).
    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Reads ASCII fields off the front of a timestamp.
    private struct Scanner {
        var rest: Substring.UTF8View

        init(_ text: String) { rest = Substring(text).utf8 }

        var atEnd: Bool { rest.isEmpty }

        mutating func take(_ c: Character) -> Bool {
            guard let a = c.asciiValue, rest.first == a else { return false }
            rest = rest.dropFirst()
            return true
        }

        mutating func digit() -> Int64? {
            guard let c = rest.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { return nil }
            rest = rest.dropFirst()
            return Int64(c - UInt8(ascii: "0"))
        }

        /// Exactly `width` digits.
        mutating func number(_ width: Int) -> Int64? { number(width...width) }

        mutating func number(_ widths: ClosedRange<Int>) -> Int64? {
            var value: Int64 = 0, count = 0
            while count < widths.upperBound, let d = digit() {
                value = value * 10 + d
                count += 1
            }
            return widths.contains(count) ? value : nil
        }

        /// +1 or -1 for a leading '+' or '-'.
        mutating func sign() -> Int64? {
            if take("+") { return 1 }
            if take("-") { return -1 }
            return nil
        }

        /// A run of ASCII letters.
        mutating func word() -> String? {
            let letters = rest.prefix { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
            guard !letters.isEmpty else { return nil }
            rest = rest.dropFirst(letters.count)
            return String(decoding: letters, as: UTF8.self)
        }
    }

    /// Year, month, day of the proleptic Gregorian calendar for days since 1970-01-01.
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
