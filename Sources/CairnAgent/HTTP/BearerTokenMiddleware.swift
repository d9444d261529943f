import Hummingbird

/// Lets a request through only with `Authorization: Bearer <token>` when the agent has a token
/// (`http.token:`); every other request gets 401. The comparison takes the same time whatever
/// the request's token is, and the token appears in no message.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    private let expected: [UInt8]

    init(token: String) { expected = Array(token.utf8) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = BearerToken.parse(request.headers[.authorization]), BearerToken.constantTimeEquals(presented, expected) else {
            var r = HTTPReply.text("401 Unauthorized: send the agent's token as `Authorization: Bearer <token>` (`http.token:` in its configuration)\n", status: .unauthorized)
            r.headers[.wwwAuthenticate] = #"Bearer realm="cairn agent""#
            return r
        }
        return try await next(request, context)
    }
}

/// Reading and comparing bearer tokens.
enum BearerToken {
    /// The token of a `Bearer` authorization (the scheme is case-insensitive), as bytes.
    static func parse(_ header: String?) -> [UInt8]? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return Array(parts[1].drop { $0 == " " }.utf8)
    }

    /// Whether `a` equals `b`, comparing every byte of `b` whatever `a` holds (the time taken
    /// depends on the length of the expected token only).
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for i in 0..<b.count {
            difference |= (i < a.count ? a[i] : 0) ^ b[i]
        }
        return difference == 0
    }
}
