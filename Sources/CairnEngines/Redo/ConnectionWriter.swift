import Foundation
import CairnFormats

/// An application connection used directly: only the hook is installed through it (when
/// capture starts, and removed when it stops; the lock keeps those two apart).
final class ConnectionWriter: ApplicationWriter {
    private let connection: ApplicationConnection
    private let lock = NSLock()
    init(_ connection: OpaquePointer) { self.connection = ApplicationConnection(pointer: connection) }

    func onWriter<T>(_ body: (OpaquePointer) throws(EngineError) -> T) throws(EngineError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(connection.pointer)
    }
}

/// The handle of a SQLite connection that belongs to the application, which keeps using it
/// on its own threads while Cairn installs and removes its WAL hook through it. No lock of
/// Cairn's can order those uses with the application's, so the compiler cannot check this
/// one: it is safe as SQLite's threading mode makes calls on a connection from several
/// threads safe (the default, serialized; an application that opened it without a mutex
/// must not call it while it starts or stops an `InProcessCapture`, as with any other
/// thread). The only `@unchecked Sendable` of the sources.
struct ApplicationConnection: @unchecked Sendable {
    let pointer: OpaquePointer
}
