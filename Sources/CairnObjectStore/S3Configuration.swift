/// How requests address a bucket: `https://BUCKET.HOST/KEY` or `https://HOST/BUCKET/KEY`.
package enum S3AddressingStyle: String, Sendable, Equatable {
    case virtualHosted
    case path
}

/// Everything needed to talk to one S3-compatible service. Its description shows no secret.
package struct S3Configuration: Sendable, Equatable, CustomStringConvertible {
    package var endpoint: S3Endpoint
    package var region: String
    package var credentials: S3Credentials
    package var addressingStyle: S3AddressingStyle
    package var tuning: S3Tuning

    /// `endpoint` nil: AWS's endpoint for `region`. Path-style addressing when asked
    /// (`forcePathStyle`) or when the endpoint's host is an IP address or `localhost`.
    package init(endpoint: S3Endpoint? = nil, region: String, credentials: S3Credentials, forcePathStyle: Bool = false, tuning: S3Tuning = .standard) {
        let endpoint = endpoint ?? .aws(region: region)
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.addressingStyle = forcePathStyle || endpoint.isIPAddressOrLocalhost ? .path : .virtualHosted
        self.tuning = tuning
    }

    package var description: String {
        "S3Configuration(endpoint: \(endpoint), region: \(region), addressing: \(addressingStyle.rawValue), credentials: \(credentials))"
    }
}

/// Settings given explicitly (command-line options, a configuration file): each one set here
/// wins over the environment.
package struct S3Overrides: Sendable, Equatable {
    package var endpoint: String?
    package var region: String?
    /// Explicit credentials replace the environment's as a whole (key, secret and token together).
    package var credentials: S3Credentials?
    package var forcePathStyle: Bool?
    package var tuning: S3Tuning?

    package init(endpoint: String? = nil, region: String? = nil, credentials: S3Credentials? = nil, forcePathStyle: Bool? = nil, tuning: S3Tuning? = nil) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.forcePathStyle = forcePathStyle
        self.tuning = tuning
    }
}

extension S3Configuration {
    /// The configuration from the standard AWS variables in `environment` (pass
    /// `ProcessInfo.processInfo.environment`), with `overrides` taking precedence:
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; AWS_REGION, then
    /// AWS_DEFAULT_REGION; AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL. Empty values count as unset.
    /// AWS_MAX_ATTEMPTS bounds the attempts per request (default 6); CAIRN_S3_REQUEST_TIMEOUT
    /// (seconds, default 120) how long one may take.
    /// Without a region, a custom endpoint gets us-east-1 and AWS's endpoint is an error.
    package static func fromEnvironment(_ environment: [String: String], overrides: S3Overrides = S3Overrides()) throws(S3ConfigurationError) -> S3Configuration {
        func value(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0]?.trimmingSpaces }.first { !$0.isEmpty }
        }
        let endpointText = overrides.endpoint?.trimmingSpaces.nonEmpty ?? value("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
        var endpoint: S3Endpoint?
        if let endpointText { endpoint = try S3Endpoint(parsing: endpointText) }
        guard let region = overrides.region?.trimmingSpaces.nonEmpty ?? value("AWS_REGION", "AWS_DEFAULT_REGION") ?? (endpoint == nil ? nil : "us-east-1") else {
            throw .missingRegion
        }
        let credentials: S3Credentials
        if let explicit = overrides.credentials {
            credentials = explicit
        } else {
            credentials = try credentialsFromEnvironment(value)
        }
        try validate(credentials)
        var tuning = overrides.tuning ?? .standard
        // AWS_MAX_ATTEMPTS, as the AWS CLI and SDKs read it: attempts per request, the first included.
        if overrides.tuning == nil, let text = value("AWS_MAX_ATTEMPTS") {
            guard let n = Int(text), (1...20).contains(n) else { throw .invalidSetting(name: "AWS_MAX_ATTEMPTS", value: text, problem: "not a whole number from 1 to 20") }
            tuning.maxAttempts = n
        }
        // CAIRN_S3_REQUEST_TIMEOUT: seconds a request may take before it is given up (and retried).
        if overrides.tuning == nil, let text = value("CAIRN_S3_REQUEST_TIMEOUT") {
            guard let seconds = Double(text), seconds >= 0.1, seconds <= 3600 else {
                throw .invalidSetting(name: "CAIRN_S3_REQUEST_TIMEOUT", value: text, problem: "not a number of seconds from 0.1 to 3600")
            }
            tuning.requestTimeout = .milliseconds(Int64(seconds * 1000))
            tuning.readIdleTimeout = min(tuning.readIdleTimeout, tuning.requestTimeout)
            tuning.connectTimeout = min(tuning.connectTimeout, tuning.requestTimeout)
        }
        return S3Configuration(endpoint: endpoint, region: region, credentials: credentials,
                               forcePathStyle: overrides.forcePathStyle ?? false, tuning: tuning)
    }

    private static func credentialsFromEnvironment(_ value: (String...) -> String?) throws(S3ConfigurationError) -> S3Credentials {
        let key = value("AWS_ACCESS_KEY_ID"), secret = value("AWS_SECRET_ACCESS_KEY")
        switch (key, secret) {
        case let (key?, secret?): return S3Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN"))
        case (nil, nil): throw .missingCredentials(problem: "neither AWS_ACCESS_KEY_ID nor AWS_SECRET_ACCESS_KEY is set")
        case (nil, _): throw .missingCredentials(problem: "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (_, nil): throw .missingCredentials(problem: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
    }

    private static func validate(_ credentials: S3Credentials) throws(S3ConfigurationError) {
        if credentials.accessKeyId.trimmingSpaces.isEmpty { throw .missingCredentials(problem: "the access key id is empty") }
        if credentials.secretAccessKey.isEmpty { throw .missingCredentials(problem: "the secret access key is empty") }
        if credentials.accessKeyId.contains(where: { $0 == "/" || $0 == "," || $0 == " " }) {
            throw .missingCredentials(problem: "the access key id '\(credentials.accessKeyId)' has a '/', ',' or space")
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
