import Synchronization

/// A `PageBlock` that travels through an `OrderedPipeline`: each stage has it in turn and
/// uses it under its lock, taken once a block (never contended: the pipeline hands a slot to
/// one stage at a time). Inside the lock, the block's bytes go to other owners (a writer, a
/// hash, a page map) as spans, which the compiler lets no one keep.
final class PageBlockSlot: Sendable {
    let block: Mutex<PageBlock>

    init(pageSize: Int, capacityPages: Int) {
        block = Mutex(PageBlock(pageSize: pageSize, capacityPages: capacityPages))
    }
}
