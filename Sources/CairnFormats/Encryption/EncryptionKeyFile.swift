import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file holding the master key: 64 hexadecimal characters (a 256-bit key), as
/// `openssl rand -hex 32 > FILE` writes it, optionally followed by whitespace (a newline).
///
/// A key file that group or others may read or write is refused before its content is read.
/// Messages name the file and the key's id, never its content.
package enum EncryptionKeyFile {
    /// The environment variable naming the key file.
    package static let environmentVariable = "CAIRN_ENCRYPTION_KEY_FILE"
    /// Longer files are refused unread (a key file is 64 characters and a newline).
    static let maxFileSize = 1024

    /// The master key in the file the environment names, or nil when it names none
    /// (`CAIRN_ENCRYPTION_KEY_FILE` unset or empty).
    package static func fromEnvironment(_ environment: [String: String]) throws(EngineError) -> MasterKey? {
        guard let path = environment[environmentVariable], !path.isEmpty else { return nil }
        return try read(path)
    }

    /// Reads the master key from `path`, refusing a file group or others can read or write,
    /// and anything but 64 hex digits.
    package static func read(_ path: String) throws(EngineError) -> MasterKey {
        let file = try open(path)
        try checkProtected(file)
        var bytes = try contents(of: file)
        defer { _ = bytes.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        return MasterKey(material: try parse(bytes, file: path), keyFile: path)
    }

    /// The key in a key file's bytes.
    package static func parse(_ bytes: [UInt8], file: String) throws(EngineError) -> KeyMaterial {
        var end = bytes.count
        while end > 0, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[end - 1]) { end -= 1 }
        if end == 0 { throw .keyFileInvalid(path: file, problem: "it is empty") }
        let hexCount = 2 * KeyMaterial.byteCount
        guard end == hexCount else {
            throw .keyFileInvalid(path: file, problem: "it holds \(end) characters before its trailing whitespace, not \(hexCount)")
        }
        var key = [UInt8](repeating: 0, count: KeyMaterial.byteCount)
        defer { _ = key.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        for i in 0..<KeyMaterial.byteCount {
            guard let high = bytes[2 * i].hexValue, let low = bytes[2 * i + 1].hexValue else {
                let at = bytes[2 * i].isHexDigit ? 2 * i + 2 : 2 * i + 1
                throw .keyFileInvalid(path: file, problem: "character \(at) is not a hexadecimal digit (0-9, a-f)")
            }
            key[i] = high << 4 | low
        }
        guard let material = key.withUnsafeBytes({ KeyMaterial(bytes: $0) }) else {
            throw .keyFileInvalid(path: file, problem: "its \(hexCount) digits do not make a \(KeyMaterial.byteCount)-byte key")
        }
        return material
    }

    /// The text of a key file holding `material` (64 lowercase hex digits and a newline).
    package static func text(of material: KeyMaterial) -> String {
        material.withUnsafeBytes { Hex.encode($0) } + "\n"
    }

    /// Writes a new key file at `path` (which must not exist) with mode 0600.
    package static func create(_ path: String, material: KeyMaterial) throws(EngineError) {
        let file = try RawFile(path: path, mode: .createNew, permissions: .ownerOnly)
        try file.write(Array(text(of: material).utf8), at: 0)
        try file.sync()
    }

    private static func open(_ path: String) throws(EngineError) -> RawFile {
        do throws(EngineError) {
            return try RawFile(path: path, mode: .read)
        } catch {
            switch error {
            case .missingFile: throw .keyFileInvalid(path: path, problem: "it does not exist")
            case .io(_, _, let e) where e == EACCES: throw .keyFileInvalid(path: path, problem: "this user may not read it (permission denied)")
            default: throw error
            }
        }
    }

    private static func checkProtected(_ file: RawFile) throws(EngineError) {
        var st = stat()
        if fstat(file.fd, &st) != 0 { throw EngineError.fromErrno("fstat", file.path, errno) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .keyFileInvalid(path: file.path, problem: "it is not a regular file") }
        let bits = st.st_mode & 0o7777
        if bits & 0o066 != 0 { throw .keyFileUnprotected(path: file.path, mode: octal(bits)) }
        if st.st_size > maxFileSize {
            throw .keyFileInvalid(path: file.path, problem: "it is \(st.st_size) bytes long, far more than a key")
        }
    }

    private static func octal(_ bits: mode_t) -> String {
        let digits = String(bits, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func contents(of file: RawFile) throws(EngineError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: maxFileSize + 1)
        let n = try bytes.withMutableBytes { (p, count) throws(EngineError) in try file.read(into: p, count: count, at: 0) }
        if n > maxFileSize { throw .keyFileInvalid(path: file.path, problem: "it is more than \(maxFileSize) bytes long, far more than a key") }
        bytes.removeLast(bytes.count - n)
        return bytes
    }
}
