import Hummingbird

/// An unknown path gets the HTML 404 page rather than an empty answer.
struct NotFoundMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return HTTPReply.html(HTMLLayout.notFound(path: request.uri.path, snapshot: nil), status: .notFound)
        }
    }
}
