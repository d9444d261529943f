/// Runs `work` on `count` inputs with at most `maxInFlight` running at once. `prepare` makes
/// each input in order on the calling task, only once a slot is free, so at most
/// `maxInFlight` inputs exist at a time (it may wait, e.g. for memory). Results come back in
/// input order; the first failure cancels the rest and is thrown (every started `work` runs
/// to its end, cancelled, before this returns).
func boundedMap<Input: Sendable, Output: Sendable>(
    count: Int, maxInFlight: Int, prepare: (Int) async throws -> Input, work: @escaping @Sendable (Input) async throws -> Output
) async throws -> [Output] {
    try await withThrowingTaskGroup(of: (Int, Output).self) { group in
        var results = [Output?](repeating: nil, count: count)
        var running = 0
        for index in 0..<count {
            if running >= max(1, maxInFlight), let (done, output) = try await group.next() {
                results[done] = output
                running -= 1
            }
            let input = try await prepare(index)
            group.addTask { (index, try await work(input)) }
            running += 1
        }
        while let (done, output) = try await group.next() { results[done] = output }
        return results.compactMap { $0 }
    }
}
