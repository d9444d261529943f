/// An access key for S3. The secret and the session token never appear in `description`,
/// `debugDescription`, `dump` or any error: only the access key id (which is not secret) does.
package struct S3Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package let accessKeyId: String
    package let secretAccessKey: String
    /// Present with temporary credentials (STS); sent as `x-amz-security-token`.
    package let sessionToken: String?

    package init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    package var description: String {
        "S3Credentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"))"
    }

    package var debugDescription: String { description }

    package var customMirror: Mirror {
        Mirror(self, children: ["accessKeyId": accessKeyId, "secretAccessKey": "<redacted>", "sessionToken": sessionToken == nil ? "none" : "<redacted>"])
    }
}
