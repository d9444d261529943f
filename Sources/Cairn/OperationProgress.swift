import CairnFormats

/// How far a long operation (backup, restore, validation) got; sent a few times a second
/// to the handler given to the operation, then once with `finished`.
public struct OperationProgress: Sendable, Equatable {
    /// "backup", "image copy", "restore", "recover", "validate"...
    public let operation: String
    /// The bytes handled so far.
    public let completedBytes: UInt64
    /// The bytes the operation will handle, when known.
    public let totalBytes: UInt64?
    /// True in the last report of the operation.
    public let finished: Bool

    init(_ r: ProgressReport) {
        operation = r.operation
        completedBytes = r.completedBytes
        totalBytes = r.totalBytes
        finished = r.finished
    }
}

/// Receives progress reports, from any thread.
public typealias ProgressHandler = @Sendable (OperationProgress) -> Void
