import AsyncHTTPClient
import CairnObjectStore
import Foundation
import NIOCore

/// A real S3 API on loopback: moto_server (`pip install 'moto[server]'`), started on a free port
/// with signature checking on, and killed by `stop()` (or when the value goes).
///
/// How authentication is set up: moto checks signatures and IAM permissions once it has served
/// INITIAL_NO_AUTH_ACTION_COUNT requests, and then only accepts access keys of IAM users it
/// knows (there is no built-in key). The server starts with INITIAL_NO_AUTH_ACTION_COUNT=0, so
/// nothing is ever served unchecked by default. To create the one user, `bootstrapIAM` opens a
/// window of exactly three unchecked actions through moto's admin endpoint
/// (POST /moto-api/reset-auth with body "3", which is not itself an action) and spends them on
/// CreateUser, PutUserPolicy (s3:* on *) and CreateAccessKey. From then on every request is
/// checked: a wrong secret gets 403 SignatureDoesNotMatch, an unknown key 403 InvalidAccessKeyId.
///
/// moto's check has one flaw: it recomputes the signature over the request URL as werkzeug
/// rebuilds it, with escapes such as %2F and %2B decoded, so a correctly signed request whose
/// key or query holds '/' or '+' (a listing prefix "logs/", a delimiter "/") is refused; boto3
/// is refused the same way. `start(checkingSignatures: false)` gives a server without the
/// check for those requests.
package final class S3TestServer {
    package let port: Int
    /// The IAM user's key, created at startup.
    package let credentials: S3Credentials
    private let process: Process
    private let log: String

    package var endpoint: String { "http://127.0.0.1:\(port)" }

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    /// Starts a server and, when it checks signatures, creates its IAM user; throws (with what to
    /// do) when it cannot.
    package static func start(checkingSignatures: Bool = true) async throws -> S3TestServer {
        guard let executable = findExecutable("moto_server") else {
            throw Failure(description: "moto_server is not installed, and the S3 tests need it: run pip install 'moto[server]' (or scripts/install-deps.sh), then run the tests again")
        }
        var lastProblem = ""
        for _ in 0..<3 {  // another process may take the free port between the probe and moto's bind
            let port = try freePort()
            let log = NSTemporaryDirectory() + "cairn-moto-\(port)-\(UUID().uuidString.prefix(8)).log"
            let process = try launch(executable, port: port, log: log, checkingSignatures: checkingSignatures)
            if let problem = await waitUntilListening(process, port: port) {
                lastProblem = problem + "; its output: " + tail(log)
                stopProcess(process)
                continue
            }
            do {
                let credentials = checkingSignatures ? try await bootstrapIAM(port: port) : S3Credentials(accessKeyId: "AKIAUNCHECKED", secretAccessKey: "unchecked")
                return S3TestServer(port: port, credentials: credentials, process: process, log: log)
            } catch {
                stopProcess(process)
                throw Failure(description: "moto_server started but creating its IAM user failed: \(error); its output: \(tail(log))")
            }
        }
        throw Failure(description: "moto_server did not start: \(lastProblem)")
    }

    private init(port: Int, credentials: S3Credentials, process: Process, log: String) {
        self.port = port
        self.credentials = credentials
        self.process = process
        self.log = log
    }

    deinit { stop() }

    /// Kills the server (idempotent).
    package func stop() {
        Self.stopProcess(process)
        try? FileManager.default.removeItem(atPath: log)
    }

    private static func launch(_ executable: String, port: Int, log: String, checkingSignatures: Bool) throws -> Process {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        var environment = ProcessInfo.processInfo.environment
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = checkingSignatures ? "0" : nil
        process.environment = environment
        let output = FileHandle(forWritingAtPath: log)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls the port with a deadline (`Await.eventually`): nil once it accepts connections,
    /// else why not.
    private static func waitUntilListening(_ process: Process, port: Int) async -> String? {
        let ready = await Await.eventually(60) { !process.isRunning || TCPProbe.accepts(port: port) }
        if !process.isRunning { return "it exited with status \(process.terminationStatus)" }
        return ready ? nil : "it was not listening on port \(port) after 60 s"
    }

    /// SIGKILL: the server keeps nothing worth a clean exit (and, started from the test
    /// runner, it does not always act on SIGTERM).
    private static func stopProcess(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func freePort() throws -> Int {
        guard let port = TCPProbe.freePort() else { throw Failure(description: "no free TCP port on 127.0.0.1") }
        return port
    }

    private static func tail(_ log: String) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.isEmpty ? "(none)" : String(text.suffix(1500))
    }
}

extension S3TestServer {
    /// Opens three unchecked actions and creates the IAM user, its policy and its access key.
    private static func bootstrapIAM(port: Int) async throws -> S3Credentials {
        var reset = HTTPClientRequest(url: "http://127.0.0.1:\(port)/moto-api/reset-auth")
        reset.method = .POST
        reset.headers.add(name: "content-type", value: "text/plain")
        reset.body = .bytes(ByteBuffer(string: "3"))
        let answer = try await HTTPClient.shared.execute(reset, timeout: .seconds(30))
        guard answer.status == .ok else { throw Failure(description: "moto-api/reset-auth answered \(answer.status)") }
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
        _ = try await iam(port: port, ["Action": "CreateUser", "UserName": "cairn-test"])
        _ = try await iam(port: port, ["Action": "PutUserPolicy", "UserName": "cairn-test", "PolicyName": "s3-all", "PolicyDocument": policy])
        let key = try await iam(port: port, ["Action": "CreateAccessKey", "UserName": "cairn-test"])
        guard let id = element("AccessKeyId", in: key), let secret = element("SecretAccessKey", in: key) else {
            throw Failure(description: "CreateAccessKey answered without a key: \(key.prefix(500))")
        }
        return S3Credentials(accessKeyId: id, secretAccessKey: secret)
    }

    /// One IAM query-protocol action, signed (moto routes by the signature's service).
    private static func iam(port: Int, _ parameters: [String: String]) async throws -> String {
        let body = (parameters.merging(["Version": "2010-05-08"]) { $1 }).sorted { $0.key < $1.key }
            .map { "\(formEncode($0.key))=\(formEncode($0.value))" }.joined(separator: "&")
        let host = "127.0.0.1:\(port)"
        let signer = SigV4Signer(credentials: S3Credentials(accessKeyId: "AKIABOOTSTRAP", secretAccessKey: "bootstrap"), region: "us-east-1", service: "iam")
        let toSign = SigV4Signer.Request(method: "POST", path: "/", headers: [(name: "host", value: host), (name: "content-type", value: "application/x-www-form-urlencoded; charset=utf-8")],
                                         payloadHash: SigV4Signer.payloadHash(Array(body.utf8)))
        var request = HTTPClientRequest(url: "http://\(host)/")
        request.method = .POST
        for header in signer.sign(toSign, at: Date(), payloadHashHeader: false) { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok else { throw Failure(description: "IAM \(parameters["Action"] ?? "") answered \(response.status): \(text.prefix(500))") }
        return text
    }

    private static func formEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? text
    }

    private static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
    }
}
