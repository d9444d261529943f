import AsyncHTTPClient
@testable import CairnAgent
import CairnTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// The agent's HTTP server on loopback (port 0), answering from a fixed snapshot: codes, media
/// types, the bearer token (never logged), read-only methods, a port in use reported and retried,
/// graceful shutdown in a service group.
@Suite struct AgentHTTPServerTests {
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    static func server(_ source: FixedStatusSource, port: Int = 0, token: String? = nil, retryDelays: [Duration] = [.milliseconds(100)]) -> AgentHTTPServer {
        var http = AgentConfiguration.HTTP()
        http.port = port
        http.token = token
        return AgentHTTPServer(http: http, configFile: "agent.yml", source: source, logger: quietLogger, retryDelays: retryDelays)
    }

    /// Runs `body` with a server listening (on the port it reports), then cancels the server.
    static func withServer(_ snapshot: AgentSnapshot, token: String? = nil, _ body: (Int, FixedStatusSource) async throws -> Void) async throws {
        let source = FixedStatusSource(snapshot)
        let server = server(source, token: token)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningPort()
            do {
                try await body(port, source)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    static func get(_ port: Int, _ path: String, method: HTTPMethod = .GET, token: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 32 << 20)
        let headers = Dictionary(response.headers.map { ($0.name.lowercased(), $0.value) }) { a, _ in a }
        return Reply(status: Int(response.status.code), headers: headers, body: String(buffer: body))
    }

    @Test func endpointsAnswerWithTheirCodesAndTypes() async throws {
        var healthy = AgentFixtures.realistic()
        healthy.databases = [healthy.databases[0]]
        try await Self.withServer(healthy) { port, source in
            let ok = try await Self.get(port, "/healthz")
            #expect(ok.status == 200 && ok.headers["content-type"] == "application/json" && ok.body == #"{"status":"ok","databases":1}"#, "\(ok.body)")
            source.set(AgentFixtures.realistic())
            let bad = try await Self.get(port, "/healthz")
            #expect(bad.status == 503 && bad.body.contains("/srv/analytics/events.db"))

            let page = try await Self.get(port, "/")
            #expect(page.status == 200 && page.headers["content-type"] == "text/html; charset=utf-8" && page.body.contains("/srv/tenants/acme.sqlite"))
            #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
            let db = try await Self.get(port, "/db/tenants-acme")
            #expect(db.status == 200 && db.body.contains("incarnation 2"))
            let metrics = try await Self.get(port, "/metrics")
            #expect(metrics.status == 200 && metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(try PrometheusText.parse(metrics.body).value("cairn_agent_databases") == 3)
            let api = try await Self.get(port, "/api/status")
            #expect(api.status == 200 && api.headers["content-type"] == "application/json" && api.body.contains("\"takenAt\" : \"2025-11-29T15:42:10Z\""))
        }
    }

    @Test func unknownPagesAre404AndOnlyReadingIsAllowed() async throws {
        try await Self.withServer(AgentFixtures.realistic()) { port, _ in
            let unknownDatabase = try await Self.get(port, "/db/no-such-database")
            #expect(unknownDatabase.status == 404 && unknownDatabase.body.contains("Not found") && unknownDatabase.body.contains("/db/no-such-database"))
            let unknownPath = try await Self.get(port, "/nowhere")
            #expect(unknownPath.status == 404 && unknownPath.headers["content-type"] == "text/html; charset=utf-8")
            let post = try await Self.get(port, "/healthz", method: .POST)
            #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD")
            let head = try await Self.get(port, "/", method: .HEAD)
            #expect(head.status == 200 && head.body.isEmpty)
        }
    }

    @Test func aTokenIsRequiredWhenConfigured() async throws {
        let token = "s3cr3t-t0ken"
        try await Self.withServer(AgentFixtures.realistic(), token: token) { port, _ in
            for path in ["/", "/metrics", "/healthz", "/api/status", "/db/orders", "/nowhere"] {
                let none = try await Self.get(port, path)
                #expect(none.status == 401, "\(path)")
                #expect(none.headers["www-authenticate"]?.hasPrefix("Bearer") == true && !none.body.contains(token))
                #expect(try await Self.get(port, path, token: "s3cr3t-t0keN").status == 401)
            }
            #expect(try await Self.get(port, "/metrics", token: token).status == 200)
            #expect(try await Self.get(port, "/healthz", token: token).status == 503)
            #expect(try await Self.get(port, "/nowhere", token: token).status == 404)
        }
    }

    @Test func aPortInUseIsReportedAndRetried() async throws {
        let source = FixedStatusSource(AgentFixtures.realistic())
        let first = Self.server(source)
        let firstTask = Task { try await first.run() }
        let port = try await first.listeningPort()

        // serve() listens once and throws the error.
        let once = Self.server(source, port: port, token: "hidden-token")
        await #expect {
            try await once.serve()
        } throws: { error in
            let e = error as? HTTPListenError
            return e?.reason == .addressInUse && !"\(error)".contains("hidden-token")
                && "\(error)" == "cannot listen on 127.0.0.1:\(port): address in use; choose another `http.listen:` in agent.yml or stop the other process"
        }

        // run() reports it and carries on until the port is free.
        let second = Self.server(source, port: port)
        let secondTask = Task { try await second.run() }
        await #expect(throws: HTTPListenError.self) { try await second.listeningPort() }
        #expect(second.status.problem?.hasPrefix("HTTP: cannot listen on 127.0.0.1:\(port): address in use") == true)
        firstTask.cancel()
        _ = await firstTask.result
        #expect(await Await.eventually(30) { second.status == .listening(port: port) })
        #expect(try await Self.get(port, "/healthz").status == 503)
        secondTask.cancel()
        _ = await secondTask.result
        #expect(second.status == .stopped)
    }

    /// Keeps every message logged (at its level or above) in `lines`, for a test to read.
    struct Recorder: LogHandler {
        final class Lines: Sendable {
            let all = Mutex<[String]>([])
            func contains(_ text: String) -> Bool { all.withLock { $0.contains { $0.contains(text) } } }
        }

        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { lines.all.withLock { $0.append("\(event.level): \(event.message) \(event.metadata ?? [:])") } }
    }

    @Test func theTokenIsNeverLogged() async throws {
        let token = "never-log-this-token"
        let source = FixedStatusSource(AgentFixtures.realistic())
        let first = Self.server(source)
        let firstTask = Task { try await first.run() }
        let port = try await first.listeningPort()
        let lines = Recorder.Lines()
        var http = AgentConfiguration.HTTP()
        http.port = port
        http.token = token
        let second = AgentHTTPServer(http: http, configFile: "agent.yml", source: source, logger: Logger(label: "test") { _ in Recorder(lines: lines) }, retryDelays: [.milliseconds(50)])
        let secondTask = Task { try await second.run() }
        #expect(await Await.eventually(30) { lines.contains("address in use") })
        firstTask.cancel()
        _ = await firstTask.result
        #expect(await Await.eventually(30) { second.status == .listening(port: port) })
        #expect(try await Self.get(port, "/", token: "wrong").status == 401)
        #expect(try await Self.get(port, "/", token: token).status == 200)
        secondTask.cancel()
        _ = await secondTask.result
        #expect(lines.contains("bearer token required"))
        #expect(!lines.contains(token), "\(lines.all.withLock { $0 })")
    }

    @Test func aServiceGroupShutsItDownGracefully() async throws {
        let server = Self.server(FixedStatusSource(AgentFixtures.realistic()))
        let group = ServiceGroup(configuration: .init(services: [server], logger: quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await server.listeningPort()
            #expect(try await Self.get(port, "/healthz").status == 503)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(server.status == .stopped)
    }

    @Test func bearerTokensCompareWholly() {
        #expect(BearerToken.parse("Bearer abc") == Array("abc".utf8))
        #expect(BearerToken.parse("bearer  abc") == Array("abc".utf8))
        #expect(BearerToken.parse("Basic abc") == nil && BearerToken.parse(nil) == nil && BearerToken.parse("Bearer") == nil)
        #expect(BearerToken.constantTimeEquals(Array("secret".utf8), Array("secret".utf8)))
        for wrong in ["", "secre", "secret!", "Secret", "secreT"] {
            #expect(!BearerToken.constantTimeEquals(Array(wrong.utf8), Array("secret".utf8)), "\(wrong)")
        }
    }
}
