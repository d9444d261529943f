import Foundation

/// `/api/status`: the whole snapshot as JSON, dates in ISO 8601, keys sorted.
enum StatusJSON {
    static func encode(_ snapshot: AgentSnapshot) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return try encoder.encode(snapshot)
        } catch {
            return Data(#"{"error":"the snapshot could not be encoded"}"#.utf8)
        }
    }
}
