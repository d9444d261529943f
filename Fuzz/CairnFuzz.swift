// libFuzzer target for every on-disk format Cairn parses. Built by scripts/fuzz.sh
// (swiftc -sanitize=fuzzer); the first input byte picks the parser, the rest is the file.
import CairnCore
import Foundation

private let scratch = NSTemporaryDirectory() + "cairn-fuzz-\(getpid())"

private func asFile(_ bytes: UnsafeRawBufferPointer) -> String {
    try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    let path = scratch + "/input"
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

@_cdecl("LLVMFuzzerTestOneInput")
public func cairnFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0] % 7
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let bytes = Array(body)
    switch selector {
    case 0: // control file
        if let doc = try? CheckedDocument.decode(bytes, kind: "control", maxVersion: 1, file: "fuzz") {
            _ = try? doc.decodeBody(ControlFile.self, file: "fuzz")
        }
    case 1: // manifest
        if let doc = try? CheckedDocument.decode(bytes, kind: BackupManifest.kind, maxVersion: 1, file: "fuzz") {
            _ = try? doc.decodeBody(BackupManifest.self, file: "fuzz")
        }
    case 2: // backup piece header and trailer
        if body.count >= BackupPieceFormat.headerSize {
            _ = try? BackupPieceFormat.decodeHeader(body.baseAddress!, file: "fuzz")
        }
        if body.count >= BackupPieceFormat.trailerSize {
            _ = try? BackupPieceFormat.decodeTrailer(body.baseAddress! + (body.count - BackupPieceFormat.trailerSize), file: "fuzz", offset: 0)
        }
    case 3: // redo log, read to the end both ways
        let path = asFile(body)
        for strict in [false, true] {
            if let r = try? RedoLogReader(path: path) {
                while let next = try? r.next(strict: strict, pages: { _, _ in }), next != nil {}
            }
        }
    case 4: // page map
        _ = try? PageMap.read(asFile(body))
    case 5: // WAL header and frames
        if body.count >= WALFile.headerSize { _ = WALFile.parseHeader(body.baseAddress!) }
        _ = try? WALFile.scan(path: asFile(body))
    default: // SQLite database header
        if body.count > 0 { _ = try? DatabaseHeader(bytes: body.baseAddress!, count: body.count, file: "fuzz") }
    }
    return 0
}
