import CairnFormats

/// Writing one record to the current online log.
extension Capturer {
    /// Writes a record: for a transaction each page read from its WAL frame (hashed into the
    /// page map on the way) and stored as a change or whole (see `PageChangeFormat`), then the
    /// header, which carries the body's length and checksum and the state after the record.
    /// A record whose body fits in the buffer (almost every one) is written with one call,
    /// header first; a larger one streams its body out and writes its header last.
    func writeRecord(_ r: RedoRecord, pages: [(pgno: UInt32, frame: UInt32)], wal: RawFile?) throws(EngineError) {
        guard let log, let cur = current else { return }
        var record = r
        record.compact = r.kind == .transaction
        let sink = RecordSink(start: log.offset, headerSize: record.headerSize, buffer: io, capacity: Capturer.chunkBytes,
                              sealer: r.kind == .transaction ? log.sealer : nil)
        if r.kind == .transaction {
            let encoder = changeEncoder(for: cur.sequence)
            encoder.begin(recordOffset: log.offset)
            do throws(EngineError) {
                try encodePages(pages, wal: wal, scn: r.scn, encoder: encoder, sink: sink, log: log)
            } catch {
                encoder.abandon()
                throw error
            }
        }
        record.bodyBytes = sink.finishedBodyBytes
        record.stateChecksum = map.state
        do throws(EngineError) {
            try sink.finish(record, log: log, header: recordHeader)
        } catch {
            changeEncoder?.abandon()
            throw error
        }
        log.advance(to: sink.end)
        noteRecord(r, bytes: sink.end - sink.start, checksum: sink.checksum)
    }

    private func encodePages(_ pages: [(pgno: UInt32, frame: UInt32)], wal: RawFile?, scn: UInt64,
                             encoder: PageChangeEncoder, sink: RecordSink, log: OnlineLogWriter) throws(EngineError) {
        guard let wal else { return }
        let ps = map.pageSize
        let emit: PageChangeEncoder.Emit = { (p: UnsafeRawPointer, n: Int) throws(EngineError) in try sink.append(p, n, log: log) }
        let file = databaseFile()
        for p in pages {
            try wal.readExactly(into: encoder.incoming, count: ps, at: WALScan.frameOffset(p.frame, pageSize: ps) + UInt64(WALFile.frameHeaderSize))
            let hash = Hash.page(encoder.incoming, size: ps, pgno: p.pgno)
            let previous = map.hash(of: p.pgno)
            map.set(p.pgno, hash: hash, scn: scn)
            try encoder.add(pgno: p.pgno, page: encoder.incoming, hash: hash, previous: previous,
                            stateBase: { previous.flatMap { earlierFrame(p.pgno, wal: wal, expected: $0) ?? file?.page(p.pgno, expected: $0) } },
                            emit: emit)
        }
        try encoder.finish(emit: emit)
    }

    /// The page's newest frame in this WAL generation before the transaction being written,
    /// when its page hash is `expected` (the version before it).
    private func earlierFrame(_ pgno: UInt32, wal: RawFile, expected: UInt64) -> UnsafeRawPointer? {
        guard let frame = generationFrames[pgno] else { return nil }
        let ps = map.pageSize
        let buffer: PageBuffer
        if let b = previousFrame, b.size == ps { buffer = b } else { buffer = PageBuffer(size: ps); previousFrame = buffer }
        guard (try? wal.readExactly(into: buffer.bytes, count: ps, at: WALScan.frameOffset(frame, pageSize: ps) + UInt64(WALFile.frameHeaderSize))) != nil,
              Hash.page(buffer.bytes, size: ps, pgno: pgno) == expected else { return nil }
        return UnsafeRawPointer(buffer.bytes)
    }

    /// The database file, opened at the first need (nil when it cannot be: pages are then
    /// stored whole unless an earlier version is in the encoder's cache).
    private func databaseFile() -> DatabasePageReader? {
        if let d = databasePages, d.pageSize == map.pageSize { return d }
        databasePages = try? DatabasePageReader(path: database.databasePath, pageSize: map.pageSize)
        return databasePages
    }

    /// The encoder for the log of `sequence`, emptied of versions when a new log begins.
    private func changeEncoder(for sequence: UInt64) -> PageChangeEncoder {
        let encoder: PageChangeEncoder
        if let e = changeEncoder, e.pageSize == map.pageSize {
            encoder = e
        } else {
            encoder = PageChangeEncoder(pageSize: map.pageSize)
            changeEncoder = encoder
            changeEncoderSequence = sequence
        }
        if changeEncoderSequence != sequence {
            encoder.beginLog()
            changeEncoderSequence = sequence
        }
        return encoder
    }

    private func noteRecord(_ r: RedoRecord, bytes: UInt64, checksum: UInt64) {
        guard var cur = current else { return }
        if cur.records == 0 { cur.lowScn = r.scn; cur.lowMicros = r.commitMicros }
        cur.records += 1
        cur.highScn = r.scn
        cur.highMicros = r.commitMicros
        cur.recordBytes += bytes
        var le = checksum.littleEndian
        withUnsafeBytes(of: &le) { cur.contentHash.update($0.baseAddress!, 8) }
        current = cur
    }
}
