/// A location, endpoint or credential setting that cannot be used. Each description says what
/// is wrong and how to fix it; none ever contains a secret.
package enum S3ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The text is not an `s3://BUCKET[/PREFIX]` URL.
    case malformedLocation(String, problem: String)
    /// The bucket name breaks S3's naming rules.
    case invalidBucketName(String, problem: String)
    /// The endpoint is not an `http(s)://HOST[:PORT]` URL.
    case malformedEndpoint(String, problem: String)
    case missingCredentials(problem: String)
    /// No region was given and no endpoint either, so there is no AWS endpoint to choose.
    case missingRegion
    /// A tuning variable has a value that cannot be used.
    case invalidSetting(name: String, value: String, problem: String)

    package var description: String {
        switch self {
        case let .malformedLocation(text, problem):
            return "'\(text)' is not a usable S3 location: \(problem). Write it as s3://BUCKET or s3://BUCKET/PREFIX (for example s3://my-backups/cairn/prod)."
        case let .invalidBucketName(name, problem):
            return "'\(name)' is not a valid S3 bucket name: \(problem). Bucket names have 3 to 63 lowercase letters, digits, dots or hyphens and start and end with a letter or digit."
        case let .malformedEndpoint(text, problem):
            return "'\(text)' is not a usable S3 endpoint: \(problem). Give it as http(s)://HOST[:PORT], for example https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)."
        case let .missingCredentials(problem):
            return "No usable S3 credentials: \(problem). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or give them explicitly."
        case .missingRegion:
            return "No S3 region is set. Set AWS_REGION (or AWS_DEFAULT_REGION) to the bucket's region, for example us-east-1, or give an endpoint with AWS_ENDPOINT_URL_S3."
        case let .invalidSetting(name, value, problem):
            return "\(name)=\(value) cannot be used: \(problem). Fix or unset it."
        }
    }
}
