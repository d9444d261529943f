import CSystemShim
import CairnFormats
#if canImport(Glibc)
import Glibc
#endif

/// A file written under a temporary name beside its target (`.cairn-export-PID-…`), made
/// durable, then renamed to the target: the target's name never holds half a file. The
/// temporary file is removed on any error, when the process is ended by a signal (once the
/// command line installed the handler: `cairn_remove_on_signal_install`), and, when the
/// process was killed outright, by the next export or import writing to the same directory.
final class StagedFile {
    let target: String
    let temporary: String
    let file: RawFile
    private let directory: String
    private var slot: Int32
    private var settled = false

    /// Creates the temporary file, no more readable than `mode`.
    init(target: String, prefix: String, mode: FileMode) throws(EngineError) {
        self.target = target
        directory = FileSystem.parent(of: target)
        guard FileSystem.isDirectory(directory) else {
            throw .invalidArgument("The directory \(directory) does not exist, so \(target) cannot be written. Create it or choose another --to; nothing was written.")
        }
        Leftovers.removeDead(prefix, in: directory)
        temporary = Leftovers.name(prefix, in: directory)
        slot = cairn_remove_on_signal(temporary)
        do {
            file = try RawFile(path: temporary, mode: .createNew, permissions: mode)
        } catch {
            cairn_remove_on_signal_forget(slot)
            if case .io(_, _, let e) = error { throw EngineError.fromErrno("create a file in", directory, e) }
            throw error
        }
    }

    deinit { discard() }

    /// Makes the file durable and gives it the target's name: replacing a file there when
    /// `replace`, else refusing one that appeared meanwhile.
    func commit(replace: Bool) throws(EngineError) {
        try file.sync()
        if replace {
            try FileSystem.rename(temporary, target)
        } else {
            try FileSystem.renameNoReplace(temporary, target)
        }
        settle()
        try FileSystem.fsyncDirectory(directory)
    }

    /// Removes the temporary file (nothing once committed).
    func discard() {
        guard !settled else { return }
        unlink(temporary)
        settle()
    }

    private func settle() {
        settled = true
        cairn_remove_on_signal_forget(slot)
        slot = -1
    }
}
