import CairnFormats
import CairnCatalog

/// The WAL file capture reads frames from, through one descriptor kept for as long as that
/// file is the database's WAL: when the WAL is deleted or replaced under a running capture,
/// the frames committed to it can still be read (and captured) before capture moves to the
/// new file. SQLite takes no locks on the WAL file, so closing this descriptor is harmless.
final class WALSource {
    let path: String
    private(set) var file: RawFile?
    private(set) var identity: FileIdentity?
    private let scratch = FrameScratch()

    init(path: String) {
        self.path = path
        reopen()
    }

    /// Opens the file now at `path` (none when it does not exist).
    func reopen() {
        file = try? RawFile(path: path, mode: .read)
        identity = file.flatMap { FileIdentity(descriptor: $0.fd) }
    }

    /// The committed transactions after `position` in the file this source has open
    /// (`indexed`: the WAL index as read just before, a hint of where the frames end).
    func tail(after position: WALPosition, indexed: WALIndexState? = nil) throws(EngineError) -> WALTail.Result {
        guard let file else { return WALTail.Result(header: nil, newGeneration: position.frame > 0, transactions: []) }
        return try WALTail.read(file: file, after: position, scratch: scratch, indexed: indexed)
    }
}
