@testable import CairnObjectStore
import Foundation
import Testing

/// Locations, endpoints, configuration from the environment, secrets kept out of text, and
/// the small XML reader, all without a server.
@Suite struct S3ConfigurationTests {
    static let keys = ["AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY": "s3cr3t/Value+Xyz"]

    @Test func locationsAreParsedAndNormalized() throws {
        let plain = try S3Location(parsing: "s3://my-bucket")
        #expect(plain.bucket == "my-bucket" && plain.prefix == "" && plain.key("a") == "a" && plain.listingPrefix == "")
        let nested = try S3Location(parsing: "s3://my.bucket/cairn/prod/")
        #expect(nested.bucket == "my.bucket" && nested.prefix == "cairn/prod" && nested.key("logs/1") == "cairn/prod/logs/1")
        #expect(nested.description == "s3://my.bucket/cairn/prod" && nested.listingPrefix == "cairn/prod/")
        #expect(try S3Location(parsing: "S3://bkt//x/").prefix == "x")
        #expect(try S3Location(bucket: "bkt", prefix: "/a/b/").prefix == "a/b")
    }

    @Test(arguments: ["", "s3:/bucket", "http://bucket/x", "s3://", "s3:///prefix", "s3://Bucket", "s3://ab", "s3://bucket_1", "s3://-bucket",
                      "s3://bucket/a//b", "s3://bucket/a/../b", "s3://bucket/x?y=1", "s3://bucket/x#f", "s3://a..b"])
    func malformedLocationsAreRefusedClearly(_ text: String) {
        #expect(throws: S3ConfigurationError.self) { try S3Location(parsing: text) }
        do {
            _ = try S3Location(parsing: text)
        } catch {
            #expect(error.description.contains("s3://BUCKET") || error.description.contains("bucket name"))
        }
    }

    @Test func endpointsAreParsed() throws {
        let local = try S3Endpoint(parsing: "http://127.0.0.1:9000/")
        #expect(local.scheme == "http" && local.host == "127.0.0.1" && local.port == 9000 && local.isIPAddressOrLocalhost)
        let six = try S3Endpoint(parsing: "http://[::1]:4566")
        #expect(six.host == "::1" && six.authority == "[::1]:4566" && six.isIPAddressOrLocalhost)
        #expect(try S3Endpoint(parsing: "https://LOCALHOST").isIPAddressOrLocalhost)
        let named = try S3Endpoint(parsing: "https://minio.example.com")
        #expect(!named.isIPAddressOrLocalhost && named.description == "https://minio.example.com")
        #expect(!(try S3Endpoint(parsing: "https://300.1.1.1")).isIPAddressOrLocalhost)
        for bad in ["minio:9000", "ftp://host", "http://", "http://host:0", "http://host:70000", "http://host/path", "http://user@host", "http://[::1"] {
            #expect(throws: S3ConfigurationError.self) { try S3Endpoint(parsing: bad) }
        }
    }

    @Test func configurationComesFromTheEnvironment() throws {
        let aws = try S3Configuration.fromEnvironment(Self.keys.merging(["AWS_DEFAULT_REGION": "eu-west-3"]) { $1 })
        #expect(aws.endpoint.description == "https://s3.eu-west-3.amazonaws.com" && aws.region == "eu-west-3" && aws.addressingStyle == .virtualHosted)
        #expect(aws.credentials.accessKeyId == "AKIAEXAMPLEKEY" && aws.credentials.sessionToken == nil)

        var env = Self.keys
        env["AWS_REGION"] = "us-west-2"
        env["AWS_DEFAULT_REGION"] = "eu-west-3"
        env["AWS_ENDPOINT_URL"] = "https://generic.example.com"
        env["AWS_ENDPOINT_URL_S3"] = "http://localhost:9000"
        env["AWS_SESSION_TOKEN"] = "token-value"
        let local = try S3Configuration.fromEnvironment(env)
        #expect(local.region == "us-west-2" && local.endpoint.description == "http://localhost:9000" && local.addressingStyle == .path)
        #expect(local.credentials.sessionToken == "token-value")

        env["AWS_ENDPOINT_URL_S3"] = ""
        #expect(try S3Configuration.fromEnvironment(env).endpoint.host == "generic.example.com")
        // A custom endpoint without a region gets us-east-1.
        #expect(try S3Configuration.fromEnvironment(Self.keys.merging(["AWS_ENDPOINT_URL": "http://10.0.0.5:9000"]) { $1 }).region == "us-east-1")
    }

    @Test func explicitSettingsWinOverTheEnvironment() throws {
        var env = Self.keys
        env["AWS_REGION"] = "us-west-2"
        env["AWS_SESSION_TOKEN"] = "env-token"
        env["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:9000"
        let overrides = S3Overrides(endpoint: "https://s3.example.net", region: "ap-south-1",
                                    credentials: S3Credentials(accessKeyId: "AKIAOTHER", secretAccessKey: "other"), forcePathStyle: true)
        let config = try S3Configuration.fromEnvironment(env, overrides: overrides)
        #expect(config.endpoint.host == "s3.example.net" && config.region == "ap-south-1" && config.addressingStyle == .path)
        // Explicit credentials are taken whole: the environment's session token is not mixed in.
        #expect(config.credentials == S3Credentials(accessKeyId: "AKIAOTHER", secretAccessKey: "other"))
        #expect(try S3Configuration.fromEnvironment(env.merging(["AWS_ENDPOINT_URL_S3": "https://s3.example.net"]) { $1 }).addressingStyle == .virtualHosted)
    }

    @Test func missingSettingsAreNamed() {
        #expect(throws: S3ConfigurationError.missingRegion) { try S3Configuration.fromEnvironment(Self.keys) }
        for env in [["AWS_REGION": "us-east-1"], ["AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIA"], ["AWS_REGION": "us-east-1", "AWS_SECRET_ACCESS_KEY": "x"]] {
            do {
                _ = try S3Configuration.fromEnvironment(env)
                Issue.record("accepted \(env.keys.sorted())")
            } catch {
                #expect(error.description.contains("AWS_ACCESS_KEY_ID") && error.description.contains("AWS_SECRET_ACCESS_KEY"))
            }
        }
        #expect(throws: S3ConfigurationError.self) { try S3Configuration.fromEnvironment(["AWS_REGION": "x", "AWS_ENDPOINT_URL": "nope"].merging(Self.keys) { $1 }) }
    }

    @Test func secretsNeverAppearInText() throws {
        let credentials = S3Credentials(accessKeyId: "AKIAVISIBLE", secretAccessKey: "TOPSECRETVALUE", sessionToken: "SESSIONTOKENVALUE")
        let config = S3Configuration(region: "us-east-1", credentials: credentials)
        var dumped = ""
        dump(config, to: &dumped)
        for text in [credentials.description, credentials.debugDescription, String(reflecting: credentials), "\(config)", dumped] {
            #expect(text.contains("AKIAVISIBLE"))
            #expect(!text.contains("TOPSECRETVALUE") && !text.contains("SESSIONTOKENVALUE"), "leaked in: \(text)")
        }
    }

    @Test func addressingPutsTheBucketWhereTheStyleSays() throws {
        let credentials = S3Credentials(accessKeyId: "AKIA", secretAccessKey: "x")
        let aws = S3Configuration(region: "us-east-1", credentials: credentials)
        #expect(aws.address(bucket: "bkt", key: "a b/c") == (host: "bkt.s3.us-east-1.amazonaws.com", path: "/a%20b/c"))
        #expect(aws.address(bucket: "bkt", key: nil) == (host: "bkt.s3.us-east-1.amazonaws.com", path: "/"))
        // A dotted bucket under https would not match the certificate: path-style.
        #expect(aws.address(bucket: "my.bkt", key: "k") == (host: "s3.us-east-1.amazonaws.com", path: "/my.bkt/k"))
        let local = S3Configuration(endpoint: try S3Endpoint(parsing: "http://127.0.0.1:9000"), region: "us-east-1", credentials: credentials)
        #expect(local.address(bucket: "bkt", key: "x/y") == (host: "127.0.0.1:9000", path: "/bkt/x/y"))
        #expect(local.address(bucket: "bkt", key: nil) == (host: "127.0.0.1:9000", path: "/bkt"))
    }

    @Test func retryPolicyRetriesOnlyTransientFailures() {
        for (status, code) in [(500, nil), (503, "SlowDown"), (429, nil), (400, "RequestTimeout"), (200, "InternalError"), (409, "ConditionalRequestConflict")] as [(Int, String?)] {
            #expect(RetryPolicy.isRetryable(status: status, code: code), "\(status) \(code ?? "")")
        }
        for (status, code) in [(400, "InvalidArgument"), (403, "AccessDenied"), (403, "SignatureDoesNotMatch"), (404, "NoSuchKey"), (412, nil)] as [(Int, String?)] {
            #expect(!RetryPolicy.isRetryable(status: status, code: code), "\(status) \(code ?? "")")
        }
        var tuning = S3Tuning()
        tuning.baseBackoff = .milliseconds(100)
        tuning.maxBackoff = .seconds(1)
        for attempt in 1...12 {
            let delay = RetryPolicy.backoff(afterAttempt: attempt, tuning: tuning)
            #expect(delay >= .zero && delay <= min(.seconds(1), .milliseconds(100 * (1 << (attempt - 1)))))
        }
    }

    @Test func xmlAnswersAreDecoded() throws {
        let list = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><EncodingType>url</EncodingType>
              <Contents><Key>a%20b/c%2Bd</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;fba9&quot;</ETag><Size>434234</Size></Contents>
              <CommonPrefixes><Prefix>logs%2F</Prefix></CommonPrefixes>
              <IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
            </ListBucketResult>
            """
        let page = try #require(MiniXML.parse(list).flatMap(S3Responses.objectsPage))
        #expect(page.listing.objects.map(\.key) == ["a b/c+d"] && page.listing.objects[0].size == 434_234 && page.listing.objects[0].etag == "\"fba9\"")
        #expect(page.listing.objects[0].lastModified == Date(timeIntervalSince1970: 1_255_369_830))
        #expect(page.listing.commonPrefixes == ["logs/"] && page.nextContinuationToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        let error = S3Responses.errorBody(MiniXML.parse("<Error><Code>NoSuchKey</Code><Message>The key &lt;x&gt; does not exist</Message><RequestId>R1</RequestId></Error>"))
        #expect(error == S3Responses.ErrorBody(code: "NoSuchKey", message: "The key <x> does not exist", requestId: "R1"))
        #expect(MiniXML.parse("<a><![CDATA[x<y]]><b/></a>")?.text == "x<y")
        for broken in ["", "<a>", "<a></b>", "<a>&bogus;</a>", "text<a/>", "<a/><b/>", String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100), "<a><!-- x"] {
            #expect(MiniXML.parse(broken) == nil, "\(broken)")
        }
    }

    @Test func keysMustBeUsable() throws {
        try S3Client.validateKey("a/b c", bucket: "bkt", operation: "PUT")
        #expect(throws: S3Error.invalidKey(bucket: "bkt", key: "", problem: "it is empty")) { try S3Client.validateKey("", bucket: "bkt", operation: "PUT") }
        #expect(throws: S3Error.self) { try S3Client.validateKey(String(repeating: "k", count: 1025), bucket: "bkt", operation: "PUT") }
    }

    @Test func errorsSayWhatHappenedAndWhatToDo() {
        let failure = S3ServiceFailure(operation: "PUT", bucket: "bkt", key: "k/1", status: 403, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match",
                                       requestId: "RID", attempts: 1)
        let text = S3Error.from(failure).description
        #expect(text.contains("s3://bkt/k/1") && text.contains("403") && text.contains("SignatureDoesNotMatch") && text.contains("AWS_SECRET_ACCESS_KEY"))
        let unreachable = S3Error.unreachable(endpoint: "http://127.0.0.1:1", operation: "GET", bucket: "bkt", key: "k", attempts: 6, detail: "connection refused").description
        #expect(unreachable.contains("6 attempts") && unreachable.contains("reachable"))
        #expect(S3Error.alreadyExists(bucket: "bkt", key: "k").description.contains("412"))
    }
}
