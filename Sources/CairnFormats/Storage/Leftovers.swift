import Foundation

/// Files and directories a killed process left behind, named `PREFIX-PID-…` by their maker:
/// those whose process is gone are removed.
package enum Leftovers {
    /// The name a process gives a leftover-prone file or directory in `directory`.
    package static func name(_ prefix: String, in directory: String) -> String {
        directory + "/" + prefix + "-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Removes every `PREFIX-PID-…` entry of `directory` whose process no longer runs.
    package static func removeDead(_ prefix: String, in directory: String) {
        for entry in FileSystem.list(directory) where entry.hasPrefix(prefix + "-") {
            let rest = entry.dropFirst(prefix.count + 1)
            guard let pid = Int32(rest.prefix { $0 != "-" }), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { FileSystem.removeTree(directory + "/" + entry) }
        }
    }
}
