import Foundation

/// A control-file copy's identity and last change on disk: a write or a rename changes it.
///
/// Copies are replaced by renames, so the copy that replaces another is a new file (a new
/// inode while the one it replaces still exists): two versions never share a signature, even
/// when both were written within one tick of the file system's clock.
struct ControlCopySignature: Equatable, Sendable {
    let device: UInt64, inode: UInt64, size: Int64, changed: Int64

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
        changed = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }

    /// The signatures of `copies`, in order (nil for a copy that is missing).
    static func of(_ copies: [String]) -> [ControlCopySignature?] { copies.map(ControlCopySignature.init(path:)) }
}
