import Foundation
import Logging
import Synchronization

/// How the agent logs (the configuration's `log:`), chosen before its first logger is made:
/// plain lines or JSON lines on standard error, at the configured level.
package enum AgentLogging {
    private static let chosen = Mutex<(AgentConfiguration.LogFormat, Logger.Level)?>(nil)

    /// Chooses the agent's format and level for every logger made from now on.
    package static func use(format: AgentConfiguration.LogFormat, level: String) {
        chosen.withLock { $0 = (format, Logger.Level(rawValue: level) ?? .info) }
    }

    /// The handler for `label` when the agent chose one (nil: the command line's default).
    package static func handler(label: String) -> (any LogHandler)? {
        guard let (format, level) = chosen.withLock({ $0 }) else { return nil }
        switch format {
        case .plain:
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        case .json:
            var h = JSONLinesLogHandler(label: label)
            h.logLevel = level
            return h
        }
    }
}

/// One JSON object per line on standard error: time, level, label, message and metadata.
package struct JSONLinesLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    let label: String
    private static let output = Mutex<Void>(())

    package init(label: String) { self.label = label }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var object: [String: String] = [
            "time": Self.timestamp(), "level": event.level.rawValue, "label": label, "message": "\(event.message)",
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) where object[k] == nil { object[k] = "\(v)" }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0a)
        Self.output.withLock { _ in FileHandle.standardError.write(line) }
    }

    private static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}
