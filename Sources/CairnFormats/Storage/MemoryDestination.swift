import Foundation
import Synchronization

/// An archive destination held in memory (tests, and a model of a remote store: nothing is
/// a local path until `localCopy` downloads it into a private temporary file).
package final class MemoryDestination: ArchiveDestination {
    package let name: String
    private struct Store { var files: [String: [UInt8]] = [:]; var retired: [String: [UInt8]] = [:]; var downloads = 0 }
    private let store = Mutex(Store())

    package init(name: String) { self.name = name }

    package func put(localPath: String, as fileName: String) throws(EngineError) {
        let bytes = try FileSystem.readAll(localPath)
        store.withLock { $0.files[fileName] = bytes }
    }

    package func verify(_ fileName: String, bytes: UInt64, xxh3: String) throws(EngineError) {
        let location = name + "/" + fileName
        guard let data = store.withLock({ $0.files[fileName] }) else { throw .missingFile(path: location, detail: "archived log") }
        if UInt64(data.count) != bytes { throw .truncated(file: location, expected: bytes, actual: UInt64(data.count)) }
        let h = Hash.hex(Hash.xxh3(data))
        if h != xxh3 { throw .corrupt(file: location, offset: nil, detail: "archived log checksum \(h) differs from the recorded \(xxh3)") }
    }

    package func localCopy(of fileName: String) throws(EngineError) -> String {
        guard let data = store.withLock({ s -> [UInt8]? in s.downloads += 1; return s.files[fileName] }) else {
            throw .missingFile(path: name + "/" + fileName, detail: "archived log")
        }
        let dir = NSTemporaryDirectory() + "cairn-memory-\(getpid())"
        try FileSystem.makeDirectories(dir)
        let path = dir + "/\(UUID().uuidString)-" + fileName
        try FileSystem.atomicWrite(data, to: path)
        return path
    }

    package func exists(_ fileName: String) -> Bool { store.withLock { $0.files[fileName] != nil } }
    package func size(of fileName: String) -> UInt64? { store.withLock { $0.files[fileName].map { UInt64($0.count) } } }

    package func retire(_ fileName: String) throws(EngineError) -> Bool {
        store.withLock { s in
            guard let data = s.files.removeValue(forKey: fileName) else { return false }
            s.retired[fileName] = data
            return true
        }
    }

    package func unretire(_ fileName: String) {
        store.withLock { s in if let data = s.retired.removeValue(forKey: fileName) { s.files[fileName] = data } }
    }

    package func purgeRetired(_ fileName: String?) {
        store.withLock { s in if let fileName { s.retired[fileName] = nil } else { s.retired = [:] } }
    }

    package func list() throws(EngineError) -> [ListedFile] {
        store.withLock { s in s.files.filter { !$0.key.contains("/") }.map { ListedFile(name: $0.key, bytes: UInt64($0.value.count)) } }
    }

    package func folders() throws(EngineError) -> [String] {
        store.withLock { s in Set(s.files.keys.compactMap { $0.split(separator: "/").count > 1 ? String($0.split(separator: "/")[0]) : nil }).sorted() }
    }

    package func remove(_ fileName: String) throws(EngineError) { _ = store.withLock { $0.files.removeValue(forKey: fileName) } }

    package func replace(localPath: String, as fileName: String) throws(EngineError) { try put(localPath: localPath, as: fileName) }

    package func fetch(_ fileName: String, to path: String) throws(EngineError) {
        guard let data = store.withLock({ $0.files[fileName] }) else { throw .missingFile(path: name + "/" + fileName, detail: "stored file") }
        try FileSystem.atomicWrite(data, to: path)
    }

    /// Files held, and how many times one was downloaded (`localCopy`).
    package var fileNames: [String] { store.withLock { $0.files.keys.sorted() } }
    package var downloads: Int { store.withLock { $0.downloads } }
}
