import CZstd
import Synchronization

/// A reusable zstd compression context (one per worker thread). Sendable: the context is
/// behind a lock, taken once a block (a worker's own context, so never contended); the
/// bytes come and go as spans, so no pointer outlives a call.
package final class Compressor: Sendable {
    private let context: Mutex<ZstdContext>
    package let level: Int32

    package init(level: Int32) {
        let ctx = ZSTD_createCCtx()!
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 0)
        context = Mutex(ZstdContext(ctx) { ZSTD_freeCCtx($0) })
        self.level = level
    }

    package static func bound(_ size: Int) -> Int { ZSTD_compressBound(size) }

    /// Compresses `src` into `dst` (at least `bound(src.byteCount)` bytes); returns the compressed size.
    package func compress(_ src: RawSpan, into dst: inout MutableRawSpan) -> Int? {
        context.withLock { ctx in
            src.withUnsafeBytes { s in
                dst.withUnsafeMutableBytes { d in
                    let n = ZSTD_compress2(ctx.pointer, d.baseAddress, d.count, s.baseAddress, s.count)
                    return ZSTD_isError(n) != 0 ? nil : n
                }
            }
        }
    }
}

/// A reusable zstd decompression context (one per worker thread); Sendable as `Compressor` is.
package final class Decompressor: Sendable {
    private let context: Mutex<ZstdContext>

    package init() { context = Mutex(ZstdContext(ZSTD_createDCtx()!) { ZSTD_freeDCtx($0) }) }

    /// Decompresses `src` into `dst`, which it must fill exactly; returns false when the input
    /// is not a valid frame of that size.
    package func decompress(_ src: RawSpan, into dst: inout MutableRawSpan) -> Bool {
        context.withLock { ctx in
            src.withUnsafeBytes { s in
                dst.withUnsafeMutableBytes { d in
                    let n = ZSTD_decompressDCtx(ctx.pointer, d.baseAddress, d.count, s.baseAddress, s.count)
                    return ZSTD_isError(n) == 0 && n == d.count
                }
            }
        }
    }

    /// Decompresses only the first `dst.count` bytes of the frame `src` (the rest of it is not
    /// decoded: a reader that wants the first pages of a block stops there); false when the
    /// input is not a valid frame holding that many bytes.
    package func decompressPrefix(_ src: RawSpan, into dst: inout MutableRawSpan) -> Bool {
        context.withLock { ctx in
            src.withUnsafeBytes { s in
                dst.withUnsafeMutableBytes { d in
                    _ = ZSTD_DCtx_reset(ctx.pointer, ZSTD_reset_session_only)
                    var input = ZSTD_inBuffer(src: s.baseAddress, size: s.count, pos: 0)
                    var output = ZSTD_outBuffer(dst: d.baseAddress, size: d.count, pos: 0)
                    while output.pos < output.size {
                        let before = (input.pos, output.pos)
                        let r = ZSTD_decompressStream(ctx.pointer, &output, &input)
                        if ZSTD_isError(r) != 0 || r == 0 && output.pos < output.size { return false }
                        if (input.pos, output.pos) == before { return false }
                    }
                    _ = ZSTD_DCtx_reset(ctx.pointer, ZSTD_reset_session_only)
                    return true
                }
            }
        }
    }
}

/// A zstd context, freed with its owner (so it never outlives the lock that guards it).
struct ZstdContext: ~Copyable {
    let pointer: OpaquePointer
    private let free: (OpaquePointer) -> Int

    init(_ pointer: OpaquePointer, free: @escaping (OpaquePointer) -> Int) {
        self.pointer = pointer
        self.free = free
    }

    deinit { _ = free(pointer) }
}
