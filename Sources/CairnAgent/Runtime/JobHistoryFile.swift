import Foundation
import CairnFormats

/// When each scheduled job of a database last ran, kept in its repository
/// (`agent-jobs.json`) so a run missed while the agent was down is made once when it is back.
enum JobHistoryFile {
    static let name = "agent-jobs.json"

    static func read(repository: String) -> [String: Date] {
        guard let data = FileManager.default.contents(atPath: repository + "/" + name) else { return [:] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode([String: Date].self, from: data)) ?? [:]
    }

    /// Written with the database file's permissions (never more readable than it).
    static func write(_ runs: [String: Date], repository: String, database: String) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(runs) else { return }
        let path = repository + "/" + name
        let temporary = path + ".tmp"
        let mode = FileMode.of(file: database) ?? .ownerOnly
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: Int(mode.bits & 0o666)]) else { return }
        _ = rename(temporary, path)
    }
}
