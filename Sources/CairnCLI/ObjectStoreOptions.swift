import ArgumentParser
import Foundation

/// Object-storage settings given as flags instead of the AWS_* variables (the variables stay
/// the way to give credentials: no secret belongs on a command line). They are put in this
/// process's environment, which the capture processes it starts inherit.
struct ObjectStoreOptions: ParsableArguments {
    @Option(name: .customLong("s3-endpoint"), help: "S3 endpoint, http(s)://HOST[:PORT] (instead of AWS_ENDPOINT_URL_S3).")
    var endpoint: String?

    @Option(name: .customLong("s3-region"), help: "S3 region (instead of AWS_REGION).")
    var region: String?

    @Flag(name: .customLong("s3-path-style"), help: "Address buckets as HOST/BUCKET (automatic for an IP address or localhost).")
    var pathStyle = false

    func apply() {
        if let endpoint { setenv("AWS_ENDPOINT_URL_S3", endpoint, 1) }
        if let region { setenv("AWS_REGION", region, 1) }
        if pathStyle { setenv("CAIRN_S3_PATH_STYLE", "1", 1) }
    }
}
