import Foundation

/// The data keys of a repository, each wrapped under the master key (envelope encryption):
/// files are encrypted with data keys, so replacing the master key (`rotate`) re-wraps these
/// few keys and touches no data.
///
/// Stored as a `CheckedDocument` (kind `keyring`: a header line with version, update sequence
/// number, length and XXH3 checksum, then JSON):
///
///     CAIRN keyring v1 usn=2 len=… xxh3=…
///     {"dataKeys": [{"created": "2026-…Z", "id": "<16 hex>", "masterKeyID": "<16 hex>",
///                    "wrapped": "<120 hex: nonce, sealed key, tag>"}, …]}
///
/// Every entry of a keyring is wrapped under the same master key. Nothing in it is secret
/// without the master key.
package struct Keyring: Sendable, Equatable {
    package static let kind = "keyring"

    /// Oldest first; the last one encrypts new files.
    package private(set) var dataKeys: [WrappedDataKey] = []
    /// Raised by every change, recorded in the document's header.
    package private(set) var usn: UInt64 = 0

    package init() {}

    /// The id of the data key new files are encrypted with, if there is one.
    package var newestDataKeyID: EncryptionKeyID? { dataKeys.last?.id }

    /// The master key the entries are wrapped under (nil for an empty keyring).
    package var masterKeyID: EncryptionKeyID? { dataKeys.first?.masterKeyID }

    /// Makes a new random data key, adds it wrapped under `master` and returns it (to encrypt
    /// new files with). `file` is the keyring's path, for messages.
    package mutating func addDataKey(under master: MasterKey, file: String, now: Date = Date()) throws(EngineError) -> DataKey {
        if let current = masterKeyID, current != master.id {
            throw .wrongEncryptionKey(file: file, expected: current.description, keyFile: master.keyFile, found: master.id.description)
        }
        let key = DataKey.random()
        // Whole seconds: what the document's ISO 8601 dates keep.
        let created = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        dataKeys.append(try WrappedDataKey.wrap(key, under: master, created: created, file: file))
        usn += 1
        return key
    }

    /// Every data key, unwrapped with `master`; throws `wrongEncryptionKey` naming the key id
    /// the keyring needs and the key file given when `master` is another key.
    package func unlocked(with master: MasterKey, file: String) throws(EngineError) -> UnlockedKeyring {
        var keys: [DataKey] = []
        for entry in dataKeys { keys.append(try entry.unwrap(with: master, keyring: file)) }
        return UnlockedKeyring(masterKeyID: master.id, file: file, keys: keys)
    }

    /// Re-wraps every data key under `newMaster` (unwrapping them with `oldMaster`); the files
    /// they encrypt stay as they are and stay readable. All or nothing: if any key does not
    /// unwrap, the keyring is unchanged. A keyring already under `newMaster` is left as it is.
    package mutating func rotate(to newMaster: MasterKey, from oldMaster: MasterKey, file: String) throws(EngineError) {
        if dataKeys.allSatisfy({ $0.masterKeyID == newMaster.id }) { return }
        var rewrapped: [WrappedDataKey] = []
        for entry in dataKeys {
            let key = try entry.unwrap(with: oldMaster, keyring: file)
            rewrapped.append(try WrappedDataKey.wrap(key, under: newMaster, created: entry.created, file: file))
        }
        dataKeys = rewrapped
        usn += 1
    }

    // MARK: - Document

    private struct Body: Codable {
        var dataKeys: [Entry]
    }

    private struct Entry: Codable {
        var id: String
        var masterKeyID: String
        var created: Date
        var wrapped: String
    }

    package func encoded() -> [UInt8] {
        let entries = dataKeys.map { Entry(id: $0.id.description, masterKeyID: $0.masterKeyID.description, created: $0.created, wrapped: Hex.encode($0.sealed)) }
        return CheckedDocument.make(Body(dataKeys: entries), kind: Self.kind, version: FormatVersion.keyring, usn: usn).encoded()
    }

    /// Parses and verifies a keyring document; throws `corrupt`, `truncated` or
    /// `unsupportedFormat` naming `file`.
    package static func decode(_ bytes: [UInt8], file: String) throws(EngineError) -> Keyring {
        let document = try CheckedDocument.decode(bytes, kind: kind, maxVersion: FormatVersion.keyring, file: file)
        let body = try document.decodeBody(Body.self, file: file)
        var keyring = Keyring()
        keyring.usn = document.usn
        for (i, entry) in body.dataKeys.enumerated() {
            keyring.dataKeys.append(try decode(entry, number: i + 1, file: file))
        }
        if Set(keyring.dataKeys.map(\.id)).count != keyring.dataKeys.count {
            throw .corrupt(file: file, offset: nil, detail: "a data key is listed twice")
        }
        if Set(keyring.dataKeys.map(\.masterKeyID)).count > 1 {
            throw .corrupt(file: file, offset: nil, detail: "its data keys are wrapped under different master keys (\(keyring.dataKeys.map(\.masterKeyID.description).joined(separator: ", ")))")
        }
        return keyring
    }

    private static func decode(_ entry: Entry, number: Int, file: String) throws(EngineError) -> WrappedDataKey {
        guard let id = EncryptionKeyID(hex: entry.id), let master = EncryptionKeyID(hex: entry.masterKeyID) else {
            throw .corrupt(file: file, offset: nil, detail: "data key entry \(number) has a malformed key id")
        }
        guard let sealed = Hex.decode(entry.wrapped), sealed.count == WrappedDataKey.sealedCount else {
            throw .corrupt(file: file, offset: nil, detail: "data key entry \(number) (\(id)) is not \(WrappedDataKey.sealedCount) bytes of hex")
        }
        return WrappedDataKey(id: id, masterKeyID: master, created: entry.created, sealed: sealed)
    }

    /// Reads and verifies the keyring at `path`.
    package static func read(_ path: String) throws(EngineError) -> Keyring {
        try decode(try FileSystem.readAll(path), file: path)
    }

    /// Writes the keyring to `path` atomically and durably.
    package func write(_ path: String) throws(EngineError) {
        try FileSystem.atomicWrite(encoded(), to: path)
    }
}
