import Foundation
import CairnFormats

/// A snapshot file in a repository (`REPO/snapshots/NAME.csnap`) as retention and the
/// recovery area see it: its name, size and time, without opening it.
package struct StoredSnapshot: Sendable, Equatable {
    package var name: String
    package var path: String
    package var bytes: UInt64
    package var modified: Date

    /// Where a repository keeps its snapshots, and their extension.
    package static func directory(root: String) -> String { root + "/snapshots" }
    package static let fileExtension = ".csnap"

    /// The snapshot files under `root` (hidden files, such as one being written, left out).
    package static func list(root: String) -> [StoredSnapshot] {
        let dir = directory(root: root)
        return FileSystem.list(dir).filter { $0.hasSuffix(fileExtension) && !$0.hasPrefix(".") }.compactMap { file in
            let path = dir + "/" + file
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
            return StoredSnapshot(name: String(file.dropLast(fileExtension.count)), path: path, bytes: UInt64(st.st_size),
                                  modified: Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9))
        }
    }
}
