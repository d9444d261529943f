import ArgumentParser

/// A size on the command line: bytes, or with a K, M or G suffix (binary), e.g. 32M.
struct ByteSize: ExpressibleByArgument, Equatable {
    let bytes: UInt64

    init(bytes: UInt64) { self.bytes = bytes }

    init?(argument: String) {
        guard let n = Output.parseSize(argument) else { return nil }
        bytes = n
    }

    var defaultValueDescription: String { Output.bytes(bytes) }
}

/// A zstd level for backup pieces: `fast` (zstd's fast level 1, the default), `fastN`
/// (fast level N, 1-7), a level 1-19, or `none` (pages stored uncompressed).
struct CompressionChoice: ExpressibleByArgument, Equatable {
    /// The zstd level (negative: fast levels); nil: no compression.
    let level: Int32?

    init?(argument: String) {
        let c = argument.lowercased()
        if c == "none" {
            level = nil
        } else if c == "fast" {
            level = -1
        } else if c.hasPrefix("fast"), let n = Int32(c.dropFirst(4)), (1...7).contains(n) {
            level = -n
        } else if let l = Int32(c), (1...19).contains(l) {
            level = l
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { ["fast", "fast1...fast7", "1...19", "none"] }
}
