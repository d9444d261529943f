import Foundation
import CairnFormats

/// A small JSON record Cairn keeps beside a file it made (`FILE.cairn-point`,
/// `FILE.cairn-clone`): written to a temporary name with `mode`, synced, renamed into place.
enum SideRecordFile {
    static func write<T: Encodable>(_ value: T, to file: String, mode: FileMode, what: String) throws(EngineError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(value) else { throw .invalidArgument("\(what) could not be encoded") }
        let temp = file + ".tmp-\(getpid())"
        do throws(EngineError) {
            let f = try RawFile(path: temp, mode: .createNew, permissions: mode)
            try f.write([UInt8](data), at: 0)
            try f.sync()
            try FileSystem.rename(temp, file)
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
        try FileSystem.fsyncDirectory(FileSystem.parent(of: file))
    }
}
