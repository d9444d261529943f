import Foundation

/// Page maps on disk: the capture's (`capture/pagemap`) and each backup's (`pages.map`).
extension PageMap {
    // MARK: persistence (`capture/pagemap`, `pages.map` of a backup)
    //
    // "CAIRNMAP", version u32 (2), incarnation u32, scn u64, page size u32, count u32, state u64,
    // trackedSince u64, then count page hashes u64, then count last-change SCNs u64, then xxh3
    // of everything before it. Version 1 had no change SCNs (read as tracked since its SCN).
    // Written and read a chunk at a time (at most 1 MiB of entries at once).

    package static let version: UInt32 = 2

    /// Writes the map to `path` atomically (a temporary file, fsync'd, renamed over it),
    /// encrypted under `keys` when given.
    package func write(to path: String, scn: UInt64, incarnation: Int, keys: UnlockedKeyring? = nil) throws(EngineError) {
        try FileSystem.atomicWrite(to: path) { (f: RawFile) throws(EngineError) in
            if let keys {
                let w = try EncryptingWriter(sink: FileAppender(file: f), path: path, keys: keys)
                try encode(scn: scn, incarnation: incarnation) { (p, n) throws(EngineError) in try w.write(UnsafeRawBufferPointer(start: p, count: n)) }
                try w.finish()
                return
            }
            var offset: UInt64 = 0
            try encode(scn: scn, incarnation: incarnation) { (p, n) throws(EngineError) in
                try f.write(p, count: n, at: offset)
                offset += UInt64(n)
            }
        }
    }

    /// `changes: false` writes version 1 (hashes only): a backup's page map needs no history.
    package func encoded(scn: UInt64, incarnation: Int, changes: Bool = true) -> [UInt8] {
        var bytes: [UInt8] = []
        encode(scn: scn, incarnation: incarnation, changes: changes) { p, n in
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
        }
        return bytes
    }

    /// Hands the encoded map to `sink` in order, a piece at a time (header, chunks of entries,
    /// checksum). `changes: false` encodes version 1 (hashes only).
    package func encode<E: Error>(scn: UInt64, incarnation: Int, changes: Bool = true,
                                  into sink: (UnsafeRawPointer, Int) throws(E) -> Void) throws(E) {
        let hasher = StreamingHash()
        func emit(_ p: UnsafeRawPointer, _ n: Int) throws(E) {
            guard n > 0 else { return }
            hasher.update(p, n)
            try sink(p, n)
        }
        let header = UnsafeMutableRawPointer.allocate(byteCount: 56, alignment: 8)
        defer { header.deallocate() }
        header.initializeMemory(as: UInt8.self, repeating: 0, count: 56)
        do {
            let p = header
            for (i, c) in "CAIRNMAP".utf8.enumerated() { p.storeBytes(of: c, toByteOffset: i, as: UInt8.self) }
            LE.put32(changes ? Self.version : 1, p, 8)
            LE.put32(UInt32(truncatingIfNeeded: incarnation), p, 12)
            LE.put64(scn, p, 16)
            LE.put32(UInt32(pageSize), p, 24)
            LE.put32(UInt32(count), p, 28)
            LE.put64(state, p, 32)
            LE.put64(changes ? trackedSince : 0, p, 40)
        }
        try emit(header, 48)
        func column(_ c: PageColumn?, fill: UInt64) throws(E) {
            var i = 0
            var filled: UnsafeMutablePointer<UInt64>?
            defer { filled?.deallocate() }
            while i < count {
                let n = min(count - i, PageColumn.chunk)
                if let c {
                    try emit(UnsafeRawPointer(c.base! + i), n * 8)
                    c.trim()
                } else {
                    if filled == nil {
                        filled = .allocate(capacity: PageColumn.chunk)
                        filled!.initialize(repeating: fill, count: PageColumn.chunk)
                    }
                    try emit(UnsafeRawPointer(filled!), n * 8)
                }
                i += n
            }
        }
        try column(hashColumn, fill: 0)
        if changes { try column(changeColumn, fill: trackedSince) }
        LE.put64(hasher.value, header, 48)
        try sink(header + 48, 8)
    }

    /// Reads a page map (decrypting it when it is encrypted); returns it with the SCN and
    /// incarnation it describes. `fileHash`, when given, is fed every byte of the file as
    /// stored (for a checksum of the whole file).
    package static func read(_ path: String, fileHash: StreamingHash? = nil) throws(EngineError) -> (map: PageMap, scn: UInt64, incarnation: Int) {
        let f = try StoredFile(path: path)
        if f.isEncrypted, let fileHash {
            try hashStored(f.raw, size: f.storedSize, into: fileHash)
        }
        return try decode(size: Int(f.size), file: path, fileHash: f.isEncrypted ? nil : fileHash) { (p, n, at) throws(EngineError) in
            try f.readExactly(into: p, count: n, at: UInt64(at))
        }
    }

    private static func hashStored(_ f: RawFile, size: UInt64, into hash: StreamingHash) throws(EngineError) {
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var at: UInt64 = 0
        while at < size {
            let n = Int(min(UInt64(chunk), size - at))
            try f.readExactly(into: buffer, count: n, at: at)
            hash.update(buffer, n)
            at += UInt64(n)
        }
    }

    package static func decode(_ bytes: [UInt8], file path: String) throws(EngineError) -> (map: PageMap, scn: UInt64, incarnation: Int) {
        try bytes.withBytes { (src, total) throws(EngineError) in
            try decode(size: total, file: path, fileHash: nil) { (p, n, at) throws(EngineError) in
                p.copyMemory(from: src + at, byteCount: n)
            }
        }
    }

    private static func decode(size n: Int, file path: String, fileHash: StreamingHash?,
                               read: (UnsafeMutableRawPointer, Int, Int) throws(EngineError) -> Void) throws(EngineError) -> (map: PageMap, scn: UInt64, incarnation: Int) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 56, alignment: 8)
        defer { buffer.deallocate() }
        if n >= 56 { try read(buffer, 48, 0) }
        let header = n >= 56 ? [UInt8](UnsafeRawBufferPointer(start: buffer, count: 48)) : []
        guard n >= 56, Array(header[0..<8]) == Array("CAIRNMAP".utf8) else {
            throw .corrupt(file: path, offset: 0, detail: "not a Cairn page map")
        }
        let hasher = StreamingHash()
        hasher.update(header)
        fileHash?.update(header)
        let (version, count, scn, pageSize, state, tracked, incarnation) = header.withUnsafeBytes { b in
            let p = b.baseAddress!
            return (LE.get32(p, 8), Int(LE.get32(p, 28)), LE.get64(p, 16), Int(LE.get32(p, 24)), LE.get64(p, 32), LE.get64(p, 40), Int(LE.get32(p, 12)))
        }
        guard version == 1 || version == 2 else { throw .unsupportedFormat(file: path, found: Int(version), supported: Int(Self.version)) }
        let perPage = version == 1 ? 8 : 16
        guard n == 48 + count * perPage + 8 else { throw .truncated(file: path, expected: UInt64(48 + count * perPage + 8), actual: UInt64(n)) }
        var sum: UInt64 = 0
        // Reads one column a chunk at a time, straight into its memory; returns whether every entry equals `uniform`.
        func column(_ c: PageColumn, at offset: Int, summing: Bool, uniform: UInt64) throws(EngineError) -> Bool {
            var i = 0
            var same = true
            while i < count {
                let k = min(count - i, PageColumn.chunk)
                let p = c.base! + i
                try read(UnsafeMutableRawPointer(p), k * 8, offset + i * 8)
                hasher.update(p, k * 8)
                fileHash?.update(p, k * 8)
                for j in 0..<k {
                    if summing { sum &+= p[j] } else if p[j] != uniform { same = false }
                }
                c.trim()
                i += k
            }
            return same
        }
        let hashes = PageColumn(capacity: count)
        _ = try column(hashes, at: 48, summing: true, uniform: 0)
        var changes: PageColumn?
        if version == 2 {
            let c = PageColumn(capacity: count)
            if !(try column(c, at: 48 + count * 8, summing: false, uniform: tracked)) { changes = c }
        }
        try read(buffer + 48, 8, n - 8)
        fileHash?.update(buffer + 48, 8)
        guard hasher.value == LE.get64(buffer, 48) else {
            throw .corrupt(file: path, offset: nil, detail: "page map checksum mismatch")
        }
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            throw .corrupt(file: path, offset: 24, detail: "implausible page size \(pageSize)")
        }
        guard sum == state else { throw .corrupt(file: path, offset: 32, detail: "page map state mismatch") }
        let map = PageMap(pageSize: pageSize, hashColumn: hashes, changeColumn: changes, count: count, state: sum,
                          trackedSince: version == 1 ? scn : tracked)
        return (map, scn, incarnation)
    }
}
