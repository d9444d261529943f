import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A response whose status the caller accepted, its body read into memory.
struct S3Response: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: ByteBuffer

    func header(_ name: String) -> String? { headers.first(name: name) }
    var xml: S3XMLElement? { MiniXML.parse(Array(body.readableBytesView)) }
}

/// The service answered with an error (an error status, or an `<Error>` body in a 200).
struct S3ErrorAnswer: Error {
    let status: Int
    let body: S3Responses.ErrorBody?
}

/// Sends requests with retries: each attempt is signed anew, bounded by the request timeout,
/// and counted. Failures end as S3Error.
struct S3Transport: Sendable {
    let http: HTTPClient
    let configuration: S3Configuration
    let signer: SigV4Signer
    let counters: S3RequestCounters
    let logger: Logger

    static let errorBodyLimit = 1 << 20

    /// Sends `request` and reads the body (up to `limit` bytes) of a 2xx or accepted answer.
    func send(_ request: S3Request, bodyLimit limit: Int = 16 << 20) async throws -> S3Response {
        try await send(request) { response in
            S3Response(status: Int(response.status.code), headers: response.headers, body: try await response.body.collect(upTo: limit))
        }
    }

    /// Sends `request`; hands a 2xx (or accepted) response to `consume`. A transport failure
    /// inside `consume` is retried like any other, as is an `S3ErrorAnswer` it throws.
    func send<T: Sendable>(_ request: S3Request, consume: @escaping @Sendable (HTTPClientResponse) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            counters.record(request.kind, retry: attempt > 1)
            counters.record(sent: request.body?.readableBytes ?? 0)
            do {
                return try await withTimeout(configuration.tuning.requestTimeout) { try await self.attempt(request, consume: consume) }
            } catch let answer as S3ErrorAnswer {
                counters.recordError()
                let failure = serviceFailure(request, answer, attempts: attempt)
                guard RetryPolicy.isRetryable(status: answer.status, code: answer.body?.code), attempt < configuration.tuning.maxAttempts else {
                    throw S3Error.from(failure)
                }
                try await pause(request, attempt: attempt, reason: failure.answer)
            } catch {
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                counters.recordError()
                if let error = error as? S3Error { throw error }
                guard RetryPolicy.isRetryable(error), attempt < configuration.tuning.maxAttempts else {
                    throw S3Error.unreachable(endpoint: configuration.endpoint.description, operation: request.operation, bucket: request.bucket,
                                              key: request.key, attempts: attempt, detail: Self.describe(error))
                }
                try await pause(request, attempt: attempt, reason: Self.describe(error))
            }
            attempt += 1
        }
    }

    private func attempt<T: Sendable>(_ request: S3Request, consume: @Sendable (HTTPClientResponse) async throws -> T) async throws -> T {
        let http = configuration.httpRequest(request, signer: signer, at: Date())
        // The bound of an attempt is withTimeout's (it covers the body too); this one only backs it up.
        let backstop = S3Client.timeAmount(configuration.tuning.requestTimeout * 2)
        let response = try await self.http.execute(http, timeout: backstop, logger: logger)
        let status = Int(response.status.code)
        guard (200...299).contains(status) || request.accepted.contains(status) else {
            let body = try? await response.body.collect(upTo: Self.errorBodyLimit)
            throw S3ErrorAnswer(status: status, body: body.flatMap { S3Responses.errorBody(MiniXML.parse(Array($0.readableBytesView))) })
        }
        if let length = response.headers.first(name: "content-length").flatMap(Int.init) { counters.record(received: length) }
        return try await consume(response)
    }

    private func pause(_ request: S3Request, attempt: Int, reason: String) async throws {
        let delay = RetryPolicy.backoff(afterAttempt: attempt, tuning: configuration.tuning)
        logger.notice("S3 request failed; retrying", metadata: [
            "operation": "\(request.operation)", "bucket": "\(request.bucket)", "key": "\(request.key ?? "")",
            "attempt": "\(attempt)", "reason": "\(reason)", "delay_ms": "\(Int(RetryPolicy.seconds(delay) * 1000))",
        ])
        try await Task.sleep(for: delay)
    }

    private func serviceFailure(_ request: S3Request, _ answer: S3ErrorAnswer, attempts: Int) -> S3ServiceFailure {
        S3ServiceFailure(operation: request.operation, bucket: request.bucket, key: request.key, status: answer.status,
                         code: answer.body?.code, message: answer.body?.message, requestId: answer.body?.requestId, attempts: attempts)
    }

    /// A transport error in words (AHC's and NIO's descriptions name no secret).
    static func describe(_ error: any Error) -> String { String(describing: error) }
}
