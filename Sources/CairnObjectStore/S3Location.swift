/// Where a repository lives in object storage: a bucket and an optional key prefix, written
/// `s3://BUCKET/PREFIX`. The prefix never starts or ends with a slash ("" when there is none).
package struct S3Location: Sendable, Hashable, CustomStringConvertible {
    package let bucket: String
    package let prefix: String

    package init(bucket: String, prefix: String = "") throws(S3ConfigurationError) {
        try Self.validateBucket(bucket)
        self.bucket = bucket
        self.prefix = try Self.normalizedPrefix(prefix, whole: "s3://\(bucket)/\(prefix)")
    }

    /// Parses `s3://BUCKET`, `s3://BUCKET/` or `s3://BUCKET/PREFIX[/]`.
    package init(parsing text: String) throws(S3ConfigurationError) {
        let scheme = "s3://"
        guard text.lowercased().hasPrefix(scheme) else {
            throw .malformedLocation(text, problem: "it does not start with s3://")
        }
        let rest = text.dropFirst(scheme.count)
        if rest.contains("?") || rest.contains("#") {
            throw .malformedLocation(text, problem: "it has a query or fragment (? or #)")
        }
        let bucket = String(rest.prefix { $0 != "/" })
        guard !bucket.isEmpty else { throw .malformedLocation(text, problem: "the bucket name is missing") }
        try self.init(bucket: bucket, prefix: String(rest.dropFirst(bucket.count)))
    }

    /// The full key of `name` under the prefix.
    package func key(_ name: String) -> String {
        prefix.isEmpty ? name : prefix + "/" + name
    }

    /// The prefix as used to list everything under it ("" or "PREFIX/").
    package var listingPrefix: String { prefix.isEmpty ? "" : prefix + "/" }

    package var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    static func validateBucket(_ name: String) throws(S3ConfigurationError) {
        guard (3...63).contains(name.count) else { throw .invalidBucketName(name, problem: "it has \(name.count) characters") }
        let allowed = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
        guard allowed else { throw .invalidBucketName(name, problem: "it has a character other than a-z, 0-9, '.' and '-'") }
        guard let first = name.unicodeScalars.first, let last = name.unicodeScalars.last,
              first != "." && first != "-" && last != "." && last != "-" else {
            throw .invalidBucketName(name, problem: "it starts or ends with '.' or '-'")
        }
        if name.contains("..") { throw .invalidBucketName(name, problem: "it has two dots in a row") }
    }

    private static func normalizedPrefix(_ raw: String, whole: String) throws(S3ConfigurationError) -> String {
        var prefix = Substring(raw)
        while prefix.hasPrefix("/") { prefix = prefix.dropFirst() }
        while prefix.hasSuffix("/") { prefix = prefix.dropLast() }
        if prefix.isEmpty { return "" }
        for segment in prefix.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { throw .malformedLocation(whole, problem: "the prefix has an empty segment (//)") }
            if segment == "." || segment == ".." { throw .malformedLocation(whole, problem: "the prefix has a '\(segment)' segment") }
        }
        if prefix.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .malformedLocation(whole, problem: "the prefix has a control character")
        }
        return String(prefix)
    }
}
