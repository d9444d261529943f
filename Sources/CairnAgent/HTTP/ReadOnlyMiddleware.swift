import Hummingbird

/// The agent's endpoints only read: GET and HEAD are served (HEAD without a body, whatever the
/// answer), any other method gets 405.
struct ReadOnlyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch request.method {
        case .get:
            return try await next(request, context)
        case .head:
            return try await next(request, context).createHeadResponse()
        default:
            var r = HTTPReply.text("405 Method Not Allowed: the agent's endpoints are read-only (GET, HEAD)\n", status: .methodNotAllowed)
            r.headers[.allow] = "GET, HEAD"
            return r
        }
    }
}
