import Foundation

/// The S3 service's base URL: `http(s)://HOST[:PORT]`, with no path.
package struct S3Endpoint: Sendable, Hashable, CustomStringConvertible {
    package let scheme: String
    /// The host name or IP address (an IPv6 address without its brackets).
    package let host: String
    package let port: Int?

    package init(parsing text: String) throws(S3ConfigurationError) {
        let trimmed = text.trimmingSpaces
        guard let schemeEnd = trimmed.range(of: "://") else {
            throw .malformedEndpoint(text, problem: "it has no scheme (http:// or https://)")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw .malformedEndpoint(text, problem: "the scheme '\(scheme)' is neither http nor https") }
        var authority = trimmed[schemeEnd.upperBound...]
        while authority.hasSuffix("/") { authority = authority.dropLast() }
        if authority.contains("/") || authority.contains("?") || authority.contains("#") {
            throw .malformedEndpoint(text, problem: "it has a path, query or fragment; give only the scheme, host and port")
        }
        if authority.contains("@") { throw .malformedEndpoint(text, problem: "it has user information (user@); give credentials separately") }
        let (host, port) = try Self.splitAuthority(authority, text: text)
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
    }

    /// The AWS endpoint of a region: https://s3.REGION.amazonaws.com.
    package static func aws(region: String) -> S3Endpoint {
        S3Endpoint(scheme: "https", host: "s3.\(region).amazonaws.com", port: nil)
    }

    private init(scheme: String, host: String, port: Int?) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// True for an IPv4 or IPv6 address or `localhost`: such hosts cannot carry a bucket as a
    /// subdomain, so requests to them use path-style addressing.
    package var isIPAddressOrLocalhost: Bool {
        host == "localhost" || host.contains(":") || Self.isIPv4(host)
    }

    /// The host as written in a URL or Host header (IPv6 in brackets), with the port if any.
    package var authority: String { hostAuthority(host) }

    /// `name` (a host, or bucket.host) with this endpoint's port.
    func hostAuthority(_ name: String) -> String {
        let bracketed = name.contains(":") ? "[\(name)]" : name
        return port.map { "\(bracketed):\($0)" } ?? bracketed
    }

    package var description: String { "\(scheme)://\(authority)" }

    private static func splitAuthority(_ authority: Substring, text: String) throws(S3ConfigurationError) -> (String, Int?) {
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .malformedEndpoint(text, problem: "an IPv6 address has no closing ]") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .malformedEndpoint(text, problem: "unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw .malformedEndpoint(text, problem: "the host is missing") }
        guard let portText else { return (String(host), nil) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw .malformedEndpoint(text, problem: "the port '\(portText)' is not a number from 1 to 65535")
        }
        return (String(host), port)
    }

    private static func isIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && (Int(part) ?? 256) <= 255
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line ends.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
