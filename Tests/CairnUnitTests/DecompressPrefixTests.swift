import Foundation
import Testing
import CairnFormats

/// `Decompressor.decompressPrefix`: the first bytes of a zstd frame, decoded no further (what
/// a reader of a backup block's first pages needs), equal to the frame's whole output cut
/// there; a frame that holds fewer bytes, or is not a frame, is refused.
@Suite struct DecompressPrefixTests {
    static func frame(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Compressor.bound(bytes.count))
        let n = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                var span = dst.mutableBytes
                return Compressor(level: 1).compress(src.bytes, into: &span)
            }
        }
        return Array(out.prefix(n ?? 0))
    }

    static func prefix(_ frame: [UInt8], _ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        let ok = frame.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                var span = dst.mutableBytes
                return Decompressor().decompressPrefix(src.bytes, into: &span)
            }
        }
        return ok ? out : nil
    }

    @Test func prefixesEqualTheWholeOutputCut() {
        var rng = SystemRandomNumberGenerator()
        // Pages of text-like bytes with runs, 256 of 4 KiB: one backup block.
        var data = [UInt8](repeating: 0, count: 256 * 4096)
        for i in data.indices {
            let letter = UInt8(i % 26) + 97
            data[i] = i % 97 < 60 ? letter : UInt8.random(in: 0...255, using: &rng)
        }
        let f = Self.frame(data)
        #expect(!f.isEmpty)
        for count in [1, 4096, 4096 * 3 + 17, 128 * 4096, 256 * 4096] {
            #expect(Self.prefix(f, count) == Array(data.prefix(count)), "\(count) bytes")
        }
        #expect(Self.prefix(f, 256 * 4096 + 1) == nil, "more than the frame holds")
        #expect(Self.prefix(Array(f.prefix(f.count / 2)), 256 * 4096) == nil, "a cut frame")
        #expect(Self.prefix([UInt8](repeating: 7, count: 64), 100) == nil, "not a frame")
    }
}
