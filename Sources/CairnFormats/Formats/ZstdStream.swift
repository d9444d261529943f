import CZstd
import Foundation

/// Streaming zstd compression into one standard zstd frame per file (what `zstd -d` reads),
/// with a content checksum in the frame. One context is reused for every file; the caller
/// owns the input and output buffers, so nothing is allocated per chunk. Not Sendable: one
/// thread at a time uses a context.
package final class ZstdStreamCompressor {
    private let ctx: OpaquePointer
    package let level: Int32

    package init(level: Int32) {
        ctx = ZSTD_createCCtx()
        self.level = level
    }

    deinit { ZSTD_freeCCtx(ctx) }

    /// A good output buffer size: always room for at least one whole compressed block.
    package static var outputSize: Int { ZSTD_CStreamOutSize() }

    /// Starts a new frame; `contentSize` (when known) is recorded in the frame header.
    package func begin(contentSize: UInt64?, file: String) throws(EngineError) {
        ZSTD_CCtx_reset(ctx, ZSTD_reset_session_and_parameters)
        try check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level), file)
        try check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1), file)
        if let contentSize { try check(ZSTD_CCtx_setPledgedSrcSize(ctx, contentSize), file) }
    }

    /// Compresses `count` bytes at `src` (with `end`, finishes the frame after them). Every
    /// filled stretch of `out` is handed to `emit` before `out` is reused.
    package func compress(_ src: UnsafeRawPointer?, _ count: Int, end: Bool, out: UnsafeMutableRawPointer, capacity: Int, file: String,
                         emit: (UnsafeRawPointer, Int) throws(EngineError) -> Void) throws(EngineError) {
        var input = ZSTD_inBuffer(src: src, size: count, pos: 0)
        let mode = end ? ZSTD_e_end : ZSTD_e_continue
        while true {
            var output = ZSTD_outBuffer(dst: out, size: capacity, pos: 0)
            let remaining = ZSTD_compressStream2(ctx, &output, &input, mode)
            try check(remaining, file)
            if output.pos > 0 { try emit(out, output.pos) }
            // Without `end`: done once the input is consumed. With `end`: once the frame is flushed.
            if end ? remaining == 0 : input.pos == input.size { return }
        }
    }

    private func check(_ code: Int, _ file: String) throws(EngineError) {
        if ZSTD_isError(code) != 0 {
            throw .io(operation: "zstd compression (\(String(cString: ZSTD_getErrorName(code))))", path: file, errno: EIO)
        }
    }
}

/// Streaming zstd decompression of a file that must hold exactly one zstd frame. Not
/// Sendable: one thread at a time uses a context.
package final class ZstdStreamDecompressor {
    private let ctx: OpaquePointer
    /// The frame ended (every byte given so far belonged to it).
    package private(set) var finished = false

    package init() { ctx = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(ctx) }

    package static var outputSize: Int { ZSTD_DStreamOutSize() }

    /// Starts reading a new frame.
    package func begin() {
        ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only)
        finished = false
    }

    /// Decompresses `count` bytes at `src`, which start at `offset` in `file` (for messages).
    /// Every filled stretch of `out` is handed to `emit`. Damaged input and bytes after the
    /// end of the frame throw `corrupt`.
    package func decompress(_ src: UnsafeRawPointer, _ count: Int, offset: UInt64, out: UnsafeMutableRawPointer, capacity: Int, file: String,
                           emit: (UnsafeRawPointer, Int) throws(EngineError) -> Void) throws(EngineError) {
        var input = ZSTD_inBuffer(src: src, size: count, pos: 0)
        while input.pos < input.size || !finished {
            if finished {
                throw .corrupt(file: file, offset: offset + UInt64(input.pos), detail: "unexpected bytes after the end of the zstd frame")
            }
            var output = ZSTD_outBuffer(dst: out, size: capacity, pos: 0)
            let r = ZSTD_decompressStream(ctx, &output, &input)
            if ZSTD_isError(r) != 0 {
                throw .corrupt(file: file, offset: offset + UInt64(input.pos),
                               detail: "not a valid zstd stream (\(String(cString: ZSTD_getErrorName(r))))")
            }
            if output.pos > 0 { try emit(out, output.pos) }
            if r == 0 { finished = true; continue }
            // More input is needed and the output was not full: wait for the next chunk.
            if input.pos == input.size && output.pos < output.size { return }
        }
    }
}
