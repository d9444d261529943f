import CairnFormats

/// An encrypted log's transaction bodies, opened (see `RedoLogCipher`).
extension RedoLogReader {
    func logCipher() throws(EngineError) -> RedoLogCipher? {
        if cipher == nil { cipher = try RedoLogCipher.forLog(header, file: path, registry: registry) }
        return cipher
    }

    /// The plaintext of the transaction body in `scratch` (`stored` bytes; the record at
    /// `offset`, header `hdr`): `scratch` itself in a plain log, else opened into `plain`.
    func opened(_ r: RedoRecord, at offset: UInt64, header hdr: UnsafeRawPointer, stored: Int) throws(EngineError) -> (UnsafeRawPointer, Int) {
        guard let c = try logCipher() else { return (UnsafeRawPointer(scratch), stored) }
        let need = max(c.encryption.plaintextSize(sealed: stored) ?? 0, 8)
        if need > plainSize {
            plain?.deallocate()
            plain = .allocate(byteCount: need, alignment: 64)
            plainSize = need
        }
        let out = plain!
        let n = try c.openBody(scratch, count: stored, offset: offset, recordHeader: UnsafeRawBufferPointer(start: hdr, count: r.headerSize - 8),
                               into: out, file: path)
        return (UnsafeRawPointer(out), n)
    }

    /// The plaintext of a compact record's stored body at `body` (`count` bytes): `body`
    /// itself in a plain log, else a new buffer the caller deallocates.
    func openedCopy(_ body: UnsafeMutableRawPointer, count: Int, at offset: UInt64, header hdr: UnsafeRawPointer) throws(EngineError) -> (UnsafeMutableRawPointer, Int) {
        guard let c = try logCipher() else { return (body, count) }
        let out = UnsafeMutableRawPointer.allocate(byteCount: max(c.encryption.plaintextSize(sealed: count) ?? 0, 8), alignment: 64)
        do throws(EngineError) {
            let n = try c.openBody(body, count: count, offset: offset,
                                   recordHeader: UnsafeRawBufferPointer(start: hdr, count: RedoLogFormat.compactRecordHeaderSize - 8), into: out, file: path)
            return (out, n)
        } catch {
            out.deallocate()
            throw error
        }
    }
}
