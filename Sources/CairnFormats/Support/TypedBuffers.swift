/// Byte-array access for code that throws `EngineError` (the standard library's
/// `withUnsafeBytes` rethrows untyped errors).
extension Array where Element == UInt8 {
    package func withBytes<R>(_ body: (UnsafeRawPointer, Int) throws(EngineError) -> R) throws(EngineError) -> R {
        let r: Result<R, EngineError> = withUnsafeBytes { p in
            do throws(EngineError) { return .success(try body(p.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, p.count)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    package mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawPointer, Int) throws(EngineError) -> R) throws(EngineError) -> R {
        let r: Result<R, EngineError> = withUnsafeMutableBytes { p in
            do throws(EngineError) { return .success(try body(p.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, p.count)) } catch { return .failure(error) }
        }
        return try r.get()
    }
}
