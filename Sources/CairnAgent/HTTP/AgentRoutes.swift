import Foundation
import Hummingbird

/// The agent's endpoints: `/` (status page), `/db/<id>` (a database's page), `/metrics`
/// (Prometheus), `/healthz` and `/api/status` (JSON). Each answers from a fresh snapshot;
/// with a token, each needs it.
enum AgentRoutes {
    static func router(source: any AgentStatusSource, token: String?, metrics: MetricsExporter) -> Router<BasicRequestContext> {
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: ReadOnlyMiddleware())
        if let token, !token.isEmpty { router.add(middleware: BearerTokenMiddleware(token: token)) }
        router.add(middleware: NotFoundMiddleware())
        router.get("/") { _, _ in
            HTTPReply.html(StatusPage.render(await source.snapshot()))
        }
        router.get("/db/:id") { request, context in
            await databasePage(id: context.parameters.get("id") ?? "", path: request.uri.path, source: source)
        }
        router.get("/metrics") { _, _ in
            HTTPReply.bytes(metrics.bytes(await source.snapshot()), type: MetricsExporter.contentType)
        }
        router.get("/healthz") { _, _ in
            let report = HealthReport(await source.snapshot())
            return HTTPReply.json(report.json(), status: report.isHealthy ? .ok : .serviceUnavailable)
        }
        router.get("/api/status") { _, _ in
            HTTPReply.json(StatusJSON.encode(await source.snapshot()))
        }
        return router
    }

    private static func databasePage(id: String, path: String, source: any AgentStatusSource) async -> Response {
        let snapshot = await source.snapshot()
        let decoded = id.removingPercentEncoding ?? id
        guard let database = snapshot.databases.first(where: { $0.id == id || $0.id == decoded }) else {
            return HTTPReply.html(HTMLLayout.notFound(path: path, snapshot: snapshot), status: .notFound)
        }
        return HTTPReply.html(DatabasePage.render(database, in: snapshot))
    }
}
