import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Which permissions the files and directories Cairn creates get, by where they are.
///
/// A protected database registers the places that hold its data (repository, online-log
/// member directories, archive destinations: whole trees; control-file copies: the file and
/// its temporary and lock siblings) with its mode: the one given with `cairn init --mode`, or
/// the database file's permission bits read each time a file is created, so a later `chmod`
/// of the database is followed. A path no database registered gets `FileMode.ownerOnly`.
/// Several databases open in one process each keep their own mode; where two register the
/// same place, files there get what both allow.
///
/// Files are opened with the mode, so the umask can only narrow it; a file that already
/// existed (a lock file, a reused online log) is narrowed to it with `fchmod`.
package enum FilePermissions {
    /// Where a registered place takes its mode from.
    package enum Source: Sendable, Equatable {
        case fixed(FileMode)
        /// The database file's permission bits at the time of use (owner-only if it is gone).
        case database(String)

        var mode: FileMode {
            switch self {
            case .fixed(let m): return m
            case .database(let path): return FileMode.of(file: path) ?? .ownerOnly
            }
        }
    }

    private struct Place: Equatable, Sendable {
        let path: String
        /// A directory tree, or a file (and the names that extend it: temporaries, locks).
        let isTree: Bool
        let owner: String
        let source: Source

        func holds(_ p: String) -> Bool {
            isTree ? (p == path || p.hasPrefix(path + "/")) : p.hasPrefix(path)
        }
    }

    /// The places registered, indexed so that a lookup reads a few entries, not every place
    /// of every database (an agent registers thousands, and creates files on many threads);
    /// a registration updates only its own entries.
    private struct Places {
        /// Each owner's places.
        var byOwner: [String: [Place]] = [:]
        /// Trees by their path; files by the directory they are in; the source of every owner
        /// with a place under each directory above its places (for the directories created on
        /// the way to places).
        var trees: [String: [Place]] = [:]
        var filesIn: [String: [Place]] = [:]
        var below: [String: [String: Source]] = [:]

        mutating func replace(owner: String, with places: [Place]) {
            for place in byOwner.removeValue(forKey: owner) ?? [] {
                if place.isTree {
                    trees[place.path]?.removeAll { $0.owner == owner }
                    if trees[place.path]?.isEmpty == true { trees[place.path] = nil }
                } else {
                    let dir = FileSystem.parent(of: place.path)
                    filesIn[dir]?.removeAll { $0.owner == owner }
                    if filesIn[dir]?.isEmpty == true { filesIn[dir] = nil }
                }
                for dir in FilePermissions.ancestors(of: place.path).dropFirst() {
                    below[dir]?[owner] = nil
                    if below[dir]?.isEmpty == true { below[dir] = nil }
                }
            }
            guard !places.isEmpty else { return }
            byOwner[owner] = places
            for place in places {
                if place.isTree { trees[place.path, default: []].append(place) } else { filesIn[FileSystem.parent(of: place.path), default: []].append(place) }
                for dir in FilePermissions.ancestors(of: place.path).dropFirst() { below[dir, default: [:]][owner] = place.source }
            }
        }

        /// The places that hold `p`: trees at `p` or above it, files whose name `p` extends.
        func holding(_ p: String) -> [Place] {
            var out: [Place] = []
            for a in FilePermissions.ancestors(of: p) {
                if let t = trees[a] { out += t }
                if let f = filesIn[a] { out += f.filter { $0.holds(p) } }
            }
            return out
        }
    }

    private static let places = Mutex(Places())

    /// Registers (or registers again, replacing what `owner` registered before) the places
    /// that hold one database's data. Paths are taken as given and also resolved, so either
    /// spelling finds them.
    package static func register(owner: String, source: Source, trees: [String], files: [String]) {
        func both(_ paths: [String]) -> [String] {
            var out: [String] = []
            for p in paths.flatMap({ [FileSystem.absolute($0), FileSystem.resolved($0)] }) where !out.contains(p) { out.append(p) }
            return out
        }
        let new = both(trees).map { Place(path: $0, isTree: true, owner: owner, source: source) }
            + both(files).map { Place(path: $0, isTree: false, owner: owner, source: source) }
        places.withLock { $0.replace(owner: owner, with: new) }
    }

    /// The mode of a new file at `path`.
    package static func fileMode(for path: String) -> FileMode {
        let sources = places.withLock { places -> [Source] in
            let holding = places.holding(path)
            guard let longest = holding.map(\.path.count).max() else { return [] }
            return holding.filter { $0.path.count == longest }.map(\.source)
        }
        return combined(sources)
    }

    /// The permission bits of a new directory at `path`: those of the place that holds it or,
    /// for a directory created on the way to registered places (a parent of a repository or
    /// of a control-file copy), what all of those allow.
    package static func directoryBits(for path: String) -> mode_t {
        let sources = places.withLock { places -> [Source] in
            if !places.holding(path).isEmpty { return [] }
            return places.below[path].map { Array($0.values) } ?? []
        }
        return (sources.isEmpty ? fileMode(for: path) : combined(sources)).directoryBits
    }

    /// `path` and every directory above it, nearest first ("/a/b" gives "/a/b", "/a", "/").
    static func ancestors(of path: String) -> [String] {
        var out = [path]
        var rest = Substring(path)
        while let slash = rest.lastIndex(of: "/") {
            rest = rest[..<slash]
            out.append(rest.isEmpty ? "/" : String(rest))
            if rest.isEmpty { break }
        }
        return out
    }

    private static func combined(_ sources: [Source]) -> FileMode {
        guard let first = sources.first?.mode else { return .ownerOnly }
        return sources.dropFirst().reduce(first) { $0.intersection($1.mode) }
    }

    /// Opens `path` with `flags` (which include O_CREAT) so that the file is no more permissive
    /// than `mode` (default: `fileMode(for:)`). Returns the descriptor, or -1 with errno set.
    package static func openCreating(_ path: String, _ flags: Int32, mode: FileMode? = nil) -> Int32 {
        let m = mode ?? fileMode(for: path)
        let fd = open(path, flags, m.bits)
        if fd >= 0 { narrow(fd, to: m) }
        return fd
    }

    /// Takes away the bits of an open file that `mode` does not allow (a file that existed
    /// before it was opened keeps the mode it was created with otherwise).
    static func narrow(_ fd: Int32, to mode: FileMode) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return }
        let current = st.st_mode & 0o7777
        if current & ~mode.bits != 0 { _ = fchmod(fd, current & mode.bits) }
    }
}
