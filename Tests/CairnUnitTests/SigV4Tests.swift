@testable import CairnObjectStore
import Foundation
import Testing

/// SigV4 against AWS's published vectors: the aws-sig-v4-test-suite (service "service",
/// us-east-1, 2015-08-30 12:36:00 UTC, the documentation's example key) and the worked
/// examples of the S3 API reference ("Signature Calculations for the Authorization Header:
/// Transferring Payload in a Single Chunk").
@Suite struct SigV4Tests {
    static let suiteSigner = SigV4Signer(credentials: S3Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                                         region: "us-east-1", service: "service")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let suiteToken =
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    struct Vector: CustomStringConvertible, Sendable {
        let name: String
        let method: String
        var path = "/"
        var query: [QueryItem] = []
        var headers: [(name: String, value: String)] = []
        var body = ""
        /// The suite's .creq and .sts (nil where only the signature is checked).
        var creq: String?
        var sts: String?
        let authz: String
        var description: String { name }
    }

    static let base: [(name: String, value: String)] = [(name: "Host", value: "example.amazonaws.com"), (name: "X-Amz-Date", value: "20150830T123600Z")]

    static let vectors: [Vector] = [
        Vector(name: "get-vanilla", method: "GET", headers: base,
               creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
               sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        Vector(name: "get-vanilla-query-order-key-case", method: "GET", query: [QueryItem("Param2", "value2"), QueryItem("Param1", "value1")], headers: base,
               creq: "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
               sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        Vector(name: "get-vanilla-query-order-key", method: "GET", query: [QueryItem("Param1", "value2"), QueryItem("Param1", "Value1")], headers: base,
               creq: "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
        Vector(name: "get-vanilla-query-unreserved", method: "GET",
               query: [QueryItem("-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")], headers: base,
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
        Vector(name: "get-vanilla-utf8-query", method: "GET", query: [QueryItem("\u{1234}", "bar")], headers: base,
               creq: "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        Vector(name: "get-unreserved", method: "GET", path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", headers: base,
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        Vector(name: "get-header-value-trim", method: "GET",
               headers: [(name: "Host", value: "example.amazonaws.com"), (name: "My-Header1", value: " value1"), (name: "My-Header2", value: " \"a   b   c\""),
                         (name: "X-Amz-Date", value: "20150830T123600Z")],
               creq: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n\(emptyHash)",
               sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\na726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        Vector(name: "get-header-key-duplicate", method: "GET",
               headers: [(name: "Host", value: "example.amazonaws.com"), (name: "My-Header1", value: "value2"), (name: "My-Header1", value: "value2"),
                         (name: "My-Header1", value: "value1"), (name: "X-Amz-Date", value: "20150830T123600Z")],
               creq: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n\(emptyHash)",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
        Vector(name: "post-vanilla", method: "POST", headers: base,
               sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        Vector(name: "post-header-key-sort", method: "POST",
               headers: [(name: "Host", value: "example.amazonaws.com"), (name: "My-Header1", value: "value1"), (name: "X-Amz-Date", value: "20150830T123600Z")],
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
        Vector(name: "post-vanilla-query", method: "POST", query: [QueryItem("Param1", "value1")], headers: base,
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
        Vector(name: "post-x-www-form-urlencoded", method: "POST",
               headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded"), (name: "Host", value: "example.amazonaws.com"), (name: "X-Amz-Date", value: "20150830T123600Z")],
               body: "Param1=value1",
               creq: "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
               sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
        Vector(name: "post-x-www-form-urlencoded-parameters", method: "POST",
               headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf8"), (name: "Host", value: "example.amazonaws.com"),
                         (name: "X-Amz-Date", value: "20150830T123600Z")],
               body: "Param1=value1",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"),
        Vector(name: "post-sts-header-before", method: "POST", headers: base + [(name: "X-Amz-Security-Token", value: suiteToken)],
               sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
               authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    ]

    @Test(arguments: vectors) func awsTestSuite(_ vector: Vector) {
        let request = SigV4Signer.Request(method: vector.method, path: vector.path, query: vector.query, headers: vector.headers,
                                          payloadHash: Digests.sha256Hex(vector.body))
        let canonical = Self.suiteSigner.canonicalRequest(request)
        if let creq = vector.creq { #expect(canonical == creq) }
        if let sts = vector.sts { #expect(Self.suiteSigner.stringToSign(canonicalRequest: canonical, timestamp: "20150830T123600Z") == sts) }
        #expect(Self.suiteSigner.authorization(request, timestamp: "20150830T123600Z") == vector.authz)
        // sign() adds nothing the suite did not sign (no x-amz-content-sha256 for service "service").
        let signed = Self.suiteSigner.sign(request, at: Self.suiteDate, payloadHashHeader: false)
        #expect(signed.last?.value == vector.authz)
    }

    @Test func sessionTokenIsAddedAndSigned() {
        let signer = SigV4Signer(credentials: S3Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: Self.suiteToken),
                                 region: "us-east-1", service: "service")
        let request = SigV4Signer.Request(method: "POST", path: "/", headers: [(name: "Host", value: "example.amazonaws.com")], payloadHash: Self.emptyHash)
        let signed = signer.sign(request, at: Self.suiteDate, payloadHashHeader: false)
        #expect(signed.contains { $0.name == "x-amz-security-token" && $0.value == Self.suiteToken })
        #expect(signed.contains { $0.name == "x-amz-date" && $0.value == "20150830T123600Z" })
        // The same request as post-sts-header-before, so the same signature.
        #expect(signed.last?.value.hasSuffix("Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead") == true)
    }

    // The S3 examples: examplebucket, AKIAIOSFODNN7EXAMPLE, 2013-05-24 00:00:00 UTC.
    static let s3Signer = SigV4Signer(credentials: S3Credentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                      region: "us-east-1")
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)
    static let s3Host = (name: "Host", value: "examplebucket.s3.amazonaws.com")

    @Test func s3GetObjectWithRange() {
        let request = SigV4Signer.Request(method: "GET", path: URIEncoding.keyPath("test.txt"), headers: [Self.s3Host, (name: "Range", value: "bytes=0-9")], payloadHash: Self.emptyHash)
        let signed = Self.s3Signer.sign(request, at: Self.s3Date)
        #expect(signed.contains { $0.name == "x-amz-content-sha256" && $0.value == Self.emptyHash })
        #expect(signed.last?.value == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func s3PutObjectEncodesTheKeyOnce() {
        let body = "Welcome to Amazon S3."
        #expect(Digests.sha256Hex(body) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        #expect(URIEncoding.keyPath("test$file.text") == "/test%24file.text")
        let request = SigV4Signer.Request(method: "PUT", path: URIEncoding.keyPath("test$file.text"),
                                          headers: [(name: "Date", value: "Fri, 24 May 2013 00:00:00 GMT"), Self.s3Host, (name: "x-amz-storage-class", value: "REDUCED_REDUNDANCY")],
                                          payloadHash: Digests.sha256Hex(body))
        #expect(Self.s3Signer.sign(request, at: Self.s3Date).last?.value.hasSuffix(
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd") == true)
    }

    @Test func s3BucketRequestsWithQueries() {
        let cases: [([QueryItem], String)] = [
            ([QueryItem("lifecycle")], "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
            ([QueryItem("prefix", "J"), QueryItem("max-keys", "2")], "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
        ]
        for (query, signature) in cases {
            let request = SigV4Signer.Request(method: "GET", path: "/", query: query, headers: [Self.s3Host], payloadHash: Self.emptyHash)
            #expect(Self.s3Signer.sign(request, at: Self.s3Date).last?.value.hasSuffix("Signature=" + signature) == true)
        }
    }

    @Test func timestampsAreUTC() {
        #expect(AmzDate.timestamp(Self.suiteDate) == "20150830T123600Z")
        #expect(AmzDate.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(AmzDate.timestamp(Date(timeIntervalSince1970: 951_782_400)) == "20000229T000000Z")
        #expect(AmzDate.timestamp(Date(timeIntervalSince1970: 4_102_444_799.9)) == "20991231T235959Z")
    }

    @Test func responseTimestampsAreReadWithoutAFormatter() {
        #expect(AmzDate.parseHTTPDate("Sun, 30 Aug 2015 12:36:00 GMT") == Self.suiteDate)
        #expect(AmzDate.parseHTTPDate("Tue, 29 Feb 2000 00:00:00 GMT") == Date(timeIntervalSince1970: 951_782_400))
        #expect(AmzDate.parseHTTPDate("Thu, 1 Jan 1970 00:00:00 UTC") == Date(timeIntervalSince1970: 0))
        #expect(AmzDate.parseISO8601("2015-08-30T12:36:00.000Z") == Self.suiteDate)
        #expect(AmzDate.parseISO8601("2015-08-30T12:36:00Z") == Self.suiteDate)
        #expect(AmzDate.parseISO8601("2015-08-30T14:36:00+02:00") == Self.suiteDate)
        #expect(AmzDate.parseISO8601("2099-12-31T23:59:59.5Z") == Date(timeIntervalSince1970: 4_102_444_799.5))
        #expect(AmzDate.parseISO8601("1969-12-31T23:59:59Z") == Date(timeIntervalSince1970: -1))
        for bad in ["", "2015-08-30", "2015-13-30T12:36:00Z", "2015-08-30T12:36:00", "2015-08-30T12:36:00.Z", "2015-08-30T12:36:00Zjunk"] {
            #expect(AmzDate.parseISO8601(bad) == nil, "\(bad)")
        }
        for bad in ["", "Sun, 30 Aug 2015 12:36:00", "Sun, 30 Foo 2015 12:36:00 GMT", "Sun, 30 Aug 2015 25:36:00 GMT", "30 Aug 2015 12:36:00 GMT"] {
            #expect(AmzDate.parseHTTPDate(bad) == nil, "\(bad)")
        }
    }

    @Test func keysAndQueriesAreEncodedOnce() {
        #expect(URIEncoding.keyPath("a b/c+d/%41/\u{E9}") == "/a%20b/c%2Bd/%2541/%C3%A9")
        #expect(URIEncoding.canonicalQuery([QueryItem("uploadId", "a/b=c"), QueryItem("uploads")]) == "uploadId=a%2Fb%3Dc&uploads=")
        #expect(URIEncoding.decode("a%20b+c", plusIsSpace: true) == "a b c")
        #expect(URIEncoding.decode("%zz") == nil)
        #expect(URIEncoding.decode("%E1%88%B4") == "\u{1234}")
    }
}
