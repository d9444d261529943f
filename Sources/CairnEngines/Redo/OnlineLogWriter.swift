import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Writes one online log identically to every member of its group. A member that fails is
/// marked stale (with a warning) and dropped; when every member has failed, writing stops
/// with an error.
final class OnlineLogWriter {
    struct Member {
        let path: String
        let file: RawFile
    }

    let sequence: UInt64
    let header: RedoLogFormat.Header
    private(set) var members: [Member]
    private(set) var stale: [(path: String, error: EngineError)] = []
    private(set) var offset: UInt64
    let logger: Logger
    /// Seals transaction bodies when the log is encrypted (its header says how).
    let sealer: UnitSealer?

    /// Creates (or truncates, when a group is reused) every member and writes the header
    /// durably. `cipher` is the log's when its header is encrypted.
    init(paths: [String], header: RedoLogFormat.Header, cipher: RedoLogCipher?, logger: Logger) throws(EngineError) {
        self.sequence = header.sequence
        self.header = header
        self.logger = logger
        sealer = cipher.map { UnitSealer(cipher: $0, file: paths.first ?? "") }
        offset = 0
        members = []
        let buf = UnsafeMutableRawPointer.allocate(byteCount: header.size, alignment: 8)
        defer { buf.deallocate() }
        RedoLogFormat.encodeHeader(header, into: buf)
        for path in paths {
            do throws(EngineError) {
                try FileSystem.makeDirectories(FileSystem.parent(of: path))
                let f = try RawFile(path: path, mode: .createOrTruncate)
                try f.write(buf, count: header.size, at: 0)
                try f.sync()
                try FileSystem.fsyncDirectory(FileSystem.parent(of: path))
                members.append(Member(path: path, file: f))
            } catch {
                markStale(path, error)
            }
        }
        try requireMembers()
        offset = UInt64(header.size)
    }

    /// Reopens an existing online log to append after its last valid record at `end`.
    init(reopening paths: [String], header: RedoLogFormat.Header, cipher: RedoLogCipher?, end: UInt64, logger: Logger) throws(EngineError) {
        self.sequence = header.sequence
        self.header = header
        self.logger = logger
        sealer = cipher.map { UnitSealer(cipher: $0, file: paths.first ?? "") }
        offset = end
        members = []
        for path in paths {
            do throws(EngineError) {
                let f = try RawFile(path: path, mode: .readWrite)
                try f.truncate(to: end)
                members.append(Member(path: path, file: f))
            } catch {
                markStale(path, error)
            }
        }
        try requireMembers()
    }

    private func markStale(_ path: String, _ error: EngineError) {
        logger.warning("online log member \(path) marked stale: \(error.description)")
        stale.append((path, error))
    }

    private func requireMembers() throws(EngineError) {
        if members.isEmpty {
            let detail = stale.map { "\($0.path): \($0.error.description)" }.joined(separator: "; ")
            throw .io(operation: "write online log sequence \(sequence) (every member of the group failed: \(detail))",
                      path: stale.first?.path ?? "", errno: EIO)
        }
    }

    /// Writes bytes at `at` in every member.
    func write(_ p: UnsafeRawPointer, _ count: Int, at: UInt64) throws(EngineError) {
        var failed: [Int] = []
        for (i, m) in members.enumerated() {
            do throws(EngineError) { try m.file.write(p, count: count, at: at) } catch {
                markStale(m.path, error)
                failed.append(i)
            }
        }
        for i in failed.reversed() { members.remove(at: i) }
        try requireMembers()
    }

    func advance(to end: UInt64) { offset = end }

    /// Makes everything written so far durable in every member.
    func sync() throws(EngineError) {
        var failed: [Int] = []
        for (i, m) in members.enumerated() {
            if fdatasync(m.file.fd) != 0 {
                markStale(m.path, EngineError.fromErrno("fdatasync", m.path, errno))
                failed.append(i)
            }
        }
        for i in failed.reversed() { members.remove(at: i) }
        try requireMembers()
    }

    /// Appends the trailer and makes the log durable; returns its size.
    func close(trailer: RedoLogFormat.Trailer) throws(EngineError) -> UInt64 {
        let buf = UnsafeMutableRawPointer.allocate(byteCount: RedoLogFormat.trailerSize, alignment: 8)
        defer { buf.deallocate() }
        RedoLogFormat.encodeTrailer(trailer, into: buf)
        try write(buf, RedoLogFormat.trailerSize, at: offset)
        offset += UInt64(RedoLogFormat.trailerSize)
        try sync()
        return offset
    }

    var memberPaths: [String] { members.map(\.path) }
}
