import Foundation
import Synchronization

/// The keyrings this process knows of, and the master key to unlock them with: where readers
/// of encrypted files find the data key a file's header names, and writers the keyring of
/// their repository.
///
/// Keyrings are registered by path (cheap, no key needed) and unlocked on first use with the
/// master key from, in order: the key file given to the command (`useKeyFile`), the file
/// `CAIRN_ENCRYPTION_KEY_FILE` names, or the one the repository remembers. The key itself is
/// kept only in memory, unwrapped data keys only in unlocked keyrings.
package final class KeyringRegistry: Sendable {
    package static let shared = KeyringRegistry()

    private struct State {
        var keyFile: String?
        /// Registered keyring paths and the key file each repository remembers.
        var known: [String: String?] = [:]
        var unlocked: [String: UnlockedKeyring] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    /// The key file given to this command (nil: the environment's or the remembered one).
    package func useKeyFile(_ path: String?) {
        state.withLock { s in
            s.keyFile = path.map(FileSystem.absolute)
            s.unlocked = [:]
        }
    }

    /// The key file given to the command or named by `CAIRN_ENCRYPTION_KEY_FILE`, if any.
    package var givenKeyFile: String? {
        if let f = state.withLock({ $0.keyFile }) { return f }
        guard let env = ProcessInfo.processInfo.environment[EncryptionKeyFile.environmentVariable], !env.isEmpty else { return nil }
        return FileSystem.absolute(env)
    }

    /// Makes the keyring at `path` known (if the file exists), with the key file its
    /// repository remembers.
    package func register(keyring path: String, rememberedKeyFile: String? = nil) {
        guard FileSystem.exists(path) else { return }
        state.withLock { s in
            if case .some(.some) = s.known[path], rememberedKeyFile == nil { return }
            s.known[path] = rememberedKeyFile
        }
    }

    /// The master key to use: the given key file's, else the remembered one's; throws
    /// `encryptionKeyRequired` naming `file` and the key id it needs when there is none.
    package func masterKey(for file: String, needing keyID: EncryptionKeyID?, remembered: String?) throws(EngineError) -> MasterKey {
        guard let path = givenKeyFile ?? remembered else {
            throw .encryptionKeyRequired(file: file, masterKeyID: keyID?.description ?? "unknown")
        }
        return try EncryptionKeyFile.read(path)
    }

    /// The keyring at `path` unlocked (read and unwrapped once per process and key file).
    package func unlocked(keyring path: String, rememberedKeyFile: String? = nil) throws(EngineError) -> UnlockedKeyring {
        if let k = state.withLock({ $0.unlocked[path] }) { return k }
        let keyring = try Keyring.read(path)
        let remembered = rememberedKeyFile ?? state.withLock { s in s.known[path] ?? nil }
        let master = try masterKey(for: path, needing: keyring.masterKeyID, remembered: remembered)
        let keys = try keyring.unlocked(with: master, file: path)
        state.withLock { s in
            s.unlocked[path] = keys
            if s.known[path] == nil { s.known[path] = .some(nil) }
        }
        return keys
    }

    /// The data key `header` names, for the encrypted file `file`: looked up in every known
    /// keyring (unlocking those that hold it). Throws `encryptionKeyRequired` when no key file
    /// was given, `wrongEncryptionKey` when the given one is not the keyring's master key,
    /// `dataKeyMissing` when no known keyring holds it.
    package func dataKey(for header: EncryptedFileFormat.Header, file: String) throws(EngineError) -> DataKey {
        try dataKey(header.dataKeyID, masterKeyID: header.masterKeyID, file: file)
    }

    /// The data key `id` (wrapped under `masterKeyID` when `file` was written), as above.
    package func dataKey(_ id: EncryptionKeyID, masterKeyID: EncryptionKeyID, file: String) throws(EngineError) -> DataKey {
        let (open, known) = state.withLock { s in (Array(s.unlocked.values), s.known) }
        for keys in open {
            if let key = try? keys.dataKey(id, for: file) { return key }
        }
        for (path, _) in known.sorted(by: { $0.key < $1.key }) {
            guard let keyring = try? Keyring.read(path), keyring.dataKeys.contains(where: { $0.id == id }) else { continue }
            return try unlocked(keyring: path).dataKey(id, for: file)
        }
        if known.isEmpty { throw .encryptionKeyRequired(file: file, masterKeyID: masterKeyID.description) }
        throw .dataKeyMissing(file: file, keyID: id.description, keyring: known.keys.sorted().joined(separator: ", "))
    }
}
