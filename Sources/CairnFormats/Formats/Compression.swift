import CZstd

/// A reusable zstd compression context (one per worker thread).
package final class Compressor: @unchecked Sendable {
    private let ctx: OpaquePointer
    package let level: Int32

    package init(level: Int32) {
        ctx = ZSTD_createCCtx()
        self.level = level
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 0)
    }

    deinit { ZSTD_freeCCtx(ctx) }

    package static func bound(_ size: Int) -> Int { ZSTD_compressBound(size) }

    /// Compresses `src` into `dst` (capacity at least `bound(count)`); returns the compressed size.
    package func compress(_ src: UnsafeRawPointer, _ count: Int, into dst: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        let n = ZSTD_compress2(ctx, dst, capacity, src, count)
        return ZSTD_isError(n) != 0 ? nil : n
    }
}

/// A reusable zstd decompression context.
package final class Decompressor: @unchecked Sendable {
    private let ctx: OpaquePointer

    package init() { ctx = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(ctx) }

    /// Decompresses exactly `expected` bytes; returns false when the input is not a valid frame of that size.
    package func decompress(_ src: UnsafeRawPointer, _ count: Int, into dst: UnsafeMutableRawPointer, expected: Int) -> Bool {
        let n = ZSTD_decompressDCtx(ctx, dst, expected, src, count)
        return ZSTD_isError(n) == 0 && n == expected
    }
}
