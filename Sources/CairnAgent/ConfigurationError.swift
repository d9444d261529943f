/// A mistake in the agent's configuration file, with where it is (`FILE:LINE:COLUMN`).
package struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    package let file: String
    /// 1-based; 0 when the mistake is not at one place (an empty file).
    package let line: Int
    package let column: Int
    package let message: String

    package init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    package var description: String { line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)" }
}
