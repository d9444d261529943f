import Foundation

/// `/healthz`: 200 `{"status":"ok","databases":N}` when neither the agent nor any database has
/// a problem; otherwise 503 with the agent's problems and each unhealthy database's.
package struct HealthReport: Sendable, Codable, Equatable {
    package struct UnhealthyDatabase: Sendable, Codable, Equatable {
        package var path: String
        package var id: String
        package var state: String
        package var problems: [String]
    }

    package var status: String
    package var databases: Int
    /// The agent's own problems (absent when healthy).
    package var problems: [String]?
    /// The databases with problems (absent when healthy).
    package var unhealthy: [UnhealthyDatabase]?

    package init(_ snapshot: AgentSnapshot) {
        let unhealthy = snapshot.databases.filter { !$0.problems.isEmpty }.map {
            UnhealthyDatabase(path: $0.path, id: $0.id, state: $0.state.rawValue, problems: $0.problems)
        }
        databases = snapshot.databases.count
        if unhealthy.isEmpty && snapshot.problems.isEmpty {
            status = "ok"
        } else {
            status = "unhealthy"
            problems = snapshot.problems
            self.unhealthy = unhealthy
        }
    }

    package var isHealthy: Bool { status == "ok" }

    /// 200 when healthy, 503 otherwise.
    package var httpStatus: Int { isHealthy ? 200 : 503 }

    /// The JSON body: `status` first, then `databases`, `problems` and `unhealthy` (the
    /// unhealthy databases' keys sorted); slashes of paths not escaped.
    package func json() -> Data {
        var fields = [#""status":\#(Self.encode(status))"#, #""databases":\#(databases)"#]
        if let problems { fields.append(#""problems":\#(Self.encode(problems))"#) }
        if let unhealthy { fields.append(#""unhealthy":\#(Self.encode(unhealthy))"#) }
        return Data(("{" + fields.joined(separator: ",") + "}").utf8)
    }

    private static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
