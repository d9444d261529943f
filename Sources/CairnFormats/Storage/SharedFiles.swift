import Foundation
import Synchronization

/// Read handles on files that SQLite locks (the database and its `-shm`), opened once per
/// file and never closed.
///
/// POSIX record locks belong to the process: closing *any* descriptor of a file drops every
/// lock the process holds on it, including the locks of SQLite connections (a read
/// transaction's read mark, which is what pins the WAL). SQLite itself defers such closes;
/// Cairn's own raw reads of these files must never close a descriptor either.
package enum SharedFiles {
    /// Handles by device and inode.
    private static let open = Mutex<[String: RawFile]>([:])

    /// A read handle for `path`, shared by the whole process and kept open.
    package static func reader(_ path: String) throws(EngineError) -> RawFile {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT { throw .missingFile(path: path, detail: "open: no such file") }
            throw EngineError.fromErrno("stat", path, errno)
        }
        let key = "\(st.st_dev):\(st.st_ino)"
        return try open.withLock { (open: inout [String: RawFile]) throws(EngineError) -> RawFile in
            if let f = open[key] { return f }
            let f = try RawFile(path: path, mode: .read)
            open[key] = f
            return f
        }
    }
}
