/// Byte-array access for code that throws `CairnError` (the standard library's
/// `withUnsafeBytes` rethrows untyped errors).
extension Array where Element == UInt8 {
    package func withBytes<R>(_ body: (UnsafeRawPointer, Int) throws(CairnError) -> R) throws(CairnError) -> R {
        let r: Result<R, CairnError> = withUnsafeBytes { p in
            do throws(CairnError) { return .success(try body(p.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, p.count)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    package mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawPointer, Int) throws(CairnError) -> R) throws(CairnError) -> R {
        let r: Result<R, CairnError> = withUnsafeMutableBytes { p in
            do throws(CairnError) { return .success(try body(p.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, p.count)) } catch { return .failure(error) }
        }
        return try r.get()
    }
}
