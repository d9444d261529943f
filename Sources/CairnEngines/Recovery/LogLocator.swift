import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Finds a log of the database: in each archive destination, then in the online groups
/// (identified by the header, never by the file name alone), then in the archived-log backup
/// sets (taken out into a temporary file, when `extracted` is given).
struct LogLocator {
    let control: ControlFile
    var extracted: ExtractedLogs? = nil
    /// Told when a copy is passed over because it failed its check (the next one is used).
    var logger: Logger? = nil

    struct Found {
        let path: String
        /// Closed logs end with a trailer; the current online log may end in a torn record.
        let closed: Bool
        /// A temporary copy taken out of a backup set (`ExtractedLogs.release` removes it).
        var temporary = false
    }

    /// Removes a temporary copy once it has been read.
    func release(_ found: Found) {
        if found.temporary { extracted?.release(found.path) }
    }

    /// Where a copy of the log seems to be, judged without reading it through (planning):
    /// an archived copy of the recorded size, an online member whose header names it (and, for
    /// a closed log, of the recorded size), or an available archived-log backup set holding
    /// it. nil when there is none; `looked` lists every place tried. `locate` verifies.
    func presence(incarnation: Int, sequence: UInt64, record: LogRecord?, looked: inout [String]) -> String? {
        let name = LogRecord.fileName(incarnation: incarnation, sequence: sequence)
        if let record {
            let dropped = Set(record.destinations.filter { $0.state == .expired || $0.state == .deleted }.map(\.destination))
            var dests = record.destinations.map(\.destination).filter { !dropped.contains($0) }
            for d in control.redo.archiveDestinations where !dests.contains(d) && !dropped.contains(d) { dests.append(d) }
            for d in dests {
                looked.append(d + "/" + name)
                if Archiver.destination(d).size(of: name) == record.bytes { return d + "/" + name }
            }
        }
        for g in control.redo.groups {
            for p in control.redo.memberPaths(group: g.number) {
                looked.append(p)
                guard let r = try? RedoLogReader(path: p), r.header.sequence == sequence, Int(r.header.incarnation) == incarnation else { continue }
                if let record, FileSystem.fileSize(p) != record.bytes { continue }
                return p
            }
        }
        if let record {
            let root = FileSystem.absolute(control.repository)
            for set in ExtractedLogs.sets(holding: record, in: control) {
                let dir = root + "/" + set.directory
                looked.append(dir + "/" + ArchivedLogSetReader.storedName(record.key))
                if FileSystem.isDirectory(dir) { return dir }
            }
        }
        return nil
    }

    func locate(incarnation: Int, sequence: UInt64, record: LogRecord?) throws(EngineError) -> Found {
        var looked: [String] = []
        let name = LogRecord.fileName(incarnation: incarnation, sequence: sequence)
        // Copies a crosscheck found gone (EXPIRED) or that were deleted on purpose are never used.
        let dropped = Set(record?.destinations.filter { $0.state == .expired || $0.state == .deleted }.map(\.destination) ?? [])
        var dests = record?.destinations.map(\.destination).filter { !dropped.contains($0) } ?? []
        for d in control.redo.archiveDestinations where !dests.contains(d) && !dropped.contains(d) { dests.append(d) }
        for d in dests {
            let dest = Archiver.destination(d)
            looked.append(d + "/" + name)
            guard dest.exists(name) else { continue }
            do throws(EngineError) {
                let p = try dest.localCopy(of: name)
                if let r = record { try dest.verify(name, bytes: r.bytes, xxh3: r.xxh3) }
                return Found(path: p, closed: true)
            } catch {
                logger?.warning("log sequence \(sequence) at \(d) cannot be used: \(error.description) — looking for another copy")
            }
        }
        for g in control.redo.groups {
            for p in control.redo.memberPaths(group: g.number) {
                looked.append(p)
                guard let r = try? RedoLogReader(path: p), r.header.sequence == sequence, Int(r.header.incarnation) == incarnation else { continue }
                if let rec = record {
                    guard FileSystem.fileSize(p) == rec.bytes, (try? FileSystem.hashFile(p)).map(Hash.hex) == rec.xxh3 else { continue }
                    return Found(path: p, closed: true)
                }
                return Found(path: p, closed: false)
            }
        }
        if let extracted, let record, let p = extracted.extract(record, control: control, looked: &looked) {
            return Found(path: p, closed: true, temporary: true)
        }
        throw .missingLog(sequence: sequence, incarnation: incarnation, looked: looked, recoveredTo: 0)
    }
}
