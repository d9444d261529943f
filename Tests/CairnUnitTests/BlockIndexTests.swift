import CairnFormats
import Testing

/// The block index a backup piece's manifest entry keeps: encoded and read back, and which
/// block holds a page.
struct BlockIndexTests {
    @Test func roundTripsAndFindsTheBlockHoldingAPage() throws {
        var index = BlockIndex()
        index.append(firstPage: 1, offset: 64)
        index.append(firstPage: 257, offset: 300_000)
        index.append(firstPage: 513, offset: 5_000_000_000)
        let read = try #require(BlockIndex(index.encoded))
        #expect(read == index)
        #expect(read.block(holding: 1)?.offset == 64 && read.block(holding: 256)?.offset == 64)
        #expect(read.block(holding: 257)?.offset == 300_000 && read.block(holding: 100_000)?.offset == 5_000_000_000)
        #expect(BlockIndex(BlockIndex().encoded)?.block(holding: 1) == nil)
    }

    @Test func whatIsNotAnIndexIsRefused() {
        var backwards = BlockIndex()
        backwards.append(firstPage: 9, offset: 64)
        backwards.append(firstPage: 3, offset: 128)
        for text in ["not base64!", "AAAA", backwards.encoded] { #expect(BlockIndex(text) == nil, "\(text)") }
    }
}
