@testable import CairnFormats
import CairnTestSupport
import Foundation
import Testing

/// Key files (permissions, format, environment), key ids, and the keyring (wrapping,
/// wrong master key, rotation, damage).
@Suite struct EncryptionKeyTests {
    /// The key 00 01 02 … 1f and its id, HMAC-SHA256(key, "cairn key id")[0..<8] as computed by
    /// `openssl dgst -sha256 -mac HMAC -macopt hexkey:…` (an independent implementation).
    static let knownKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    static let knownKeyID = "01d423df2558fbaa"

    static func keyFile(_ dir: TempDir, _ name: String, _ text: String, mode: mode_t = 0o600) -> String {
        let path = dir.file(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        chmod(path, mode)
        return path
    }

    @Test func readsAKeyFileAndNamesTheKeyByItsFingerprint() throws {
        let dir = TempDir()
        for text in [Self.knownKey, Self.knownKey + "\n", Self.knownKey + " \r\n\t ", Self.knownKey.uppercased() + "\n"] {
            let key = try EncryptionKeyFile.read(Self.keyFile(dir, "key", text))
            #expect(key.id.description == Self.knownKeyID)
            #expect(key.keyFile == dir.file("key"))
        }
        let readOnly = try EncryptionKeyFile.read(Self.keyFile(dir, "ro", Self.knownKey, mode: 0o400))
        #expect(readOnly.id.description == Self.knownKeyID)
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o620, 0o602, 0o666] as [mode_t])
    func refusesAKeyFileOthersCanReadOrWrite(mode: mode_t) throws {
        let dir = TempDir()
        let path = Self.keyFile(dir, "key", Self.knownKey + "\n", mode: mode)
        let error = expectCairnError { _ = try EncryptionKeyFile.read(path) }
        guard case .keyFileUnprotected(let file, let shown)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == path && shown == "0" + String(mode, radix: 8))
        #expect(error?.description.contains("chmod 600 \(path)") == true)
        chmod(path, 0o600)
        #expect(try EncryptionKeyFile.read(path).id.description == Self.knownKeyID)
    }

    static let malformed: [(text: String, problem: String)] = {
        let key: String = knownKey
        let short: String = String(key.dropLast())
        let badDigit: String = String(key.prefix(10)) + "g" + String(key.dropFirst(11))
        return [
            ("", "empty"), ("\n", "empty"), (short, "63 characters"), (key + "0", "65 characters"),
            (" " + short, "character 1 "), ("0x" + String(key.dropLast(2)), "character 2 "),
            (badDigit, "character 11 "), (key + "\n" + key + "\n", "129 characters"),
        ]
    }()

    @Test(arguments: malformed)
    func refusesMalformedKeyFiles(text: String, problem: String) throws {
        let dir = TempDir()
        let path = Self.keyFile(dir, "key", text)
        let error = expectCairnError { _ = try EncryptionKeyFile.read(path) }
        guard case .keyFileInvalid(let file, let detail)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == path)
        #expect(detail.contains(problem), "\(detail)")
        #expect(error?.description.contains(Self.knownKey.prefix(12)) == false, "the message never quotes the key")
    }

    @Test func refusesMissingUnreadableAndOddKeyFiles() throws {
        let dir = TempDir()
        let missing = expectCairnError { _ = try EncryptionKeyFile.read(dir.file("none")) }
        #expect(missing?.description.contains("does not exist") == true)
        let directory = expectCairnError { _ = try EncryptionKeyFile.read(dir.path) }
        if case .keyFileInvalid = directory {} else { Issue.record("a directory: \(String(describing: directory))") }
        let big = Self.keyFile(dir, "big", String(repeating: "a", count: 5000))
        let tooBig = expectCairnError { _ = try EncryptionKeyFile.read(big) }
        #expect(tooBig?.description.contains("far more than a key") == true)
    }

    @Test func readsTheKeyFileTheEnvironmentNames() throws {
        let dir = TempDir()
        let path = Self.keyFile(dir, "key", Self.knownKey + "\n")
        #expect(try EncryptionKeyFile.fromEnvironment([:]) == nil)
        #expect(try EncryptionKeyFile.fromEnvironment([EncryptionKeyFile.environmentVariable: ""]) == nil)
        let key = try EncryptionKeyFile.fromEnvironment(["HOME": "/", EncryptionKeyFile.environmentVariable: path])
        #expect(key?.id.description == Self.knownKeyID && key?.keyFile == path)
        let error = expectCairnError { _ = try EncryptionKeyFile.fromEnvironment([EncryptionKeyFile.environmentVariable: dir.file("gone")]) }
        if case .keyFileInvalid = error {} else { Issue.record("got \(String(describing: error))") }
    }

    @Test func createdKeyFilesReadBackOwnerOnly() throws {
        let dir = TempDir()
        let material = KeyMaterial.random()
        try EncryptionKeyFile.create(dir.file("new.key"), material: material)
        #expect(FileMode.of(file: dir.file("new.key"))?.bits == 0o600)
        #expect(try EncryptionKeyFile.read(dir.file("new.key")).id == MasterKey(material: material, keyFile: "x").id)
    }

    @Test func keyBytesNeverPrint() throws {
        let material = try EncryptionKeyFile.parse(Array(Self.knownKey.utf8), file: "k")
        let key = MasterKey(material: material, keyFile: "/k")
        var dumped = ""
        dump(key, to: &dumped)
        for text in ["\(material)", String(reflecting: material), "\(key)", String(reflecting: key), dumped, "\(DataKey(material: material))"] {
            #expect(!text.contains("0001020304"), "\(text)")
            #expect(!text.contains("(0, 1, 2"), "\(text)")
            #expect(!text.lowercased().contains("66051"), "no key word printed: \(text)") // 0x00010203 as an integer
        }
        #expect(EncryptionKeyFile.text(of: material) == Self.knownKey + "\n")
    }

    // MARK: - Keyring

    @Test func keyringRoundTripsAndRejectsDamage() throws {
        let master = MasterKey(material: .random(), keyFile: "/k")
        var keyring = Keyring()
        for _ in 0..<3 { _ = try keyring.addDataKey(under: master, file: "ring") }
        let bytes = keyring.encoded()
        let back = try Keyring.decode(bytes, file: "ring")
        #expect(back == keyring && back.usn == 3 && back.dataKeys.count == 3)
        #expect(back.masterKeyID == master.id)
        for i in [0, 20, bytes.count / 2, bytes.count - 3] {
            var bad = bytes
            bad[i] ^= 0x04
            #expect(throws: EngineError.self) { _ = try Keyring.decode(bad, file: "ring") }
        }
    }

    @Test func aChangedKeyringEntryIsDetectedWithAValidChecksum() throws {
        let master = MasterKey(material: .random(), keyFile: "/k")
        var keyring = Keyring()
        let key = try keyring.addDataKey(under: master, file: "ring")
        let document = try CheckedDocument.decode(keyring.encoded(), kind: Keyring.kind, maxVersion: 1, file: "ring")
        var body = String(decoding: document.body, as: UTF8.self)
        guard let range = body.range(of: "\"wrapped\" : \"") else { Issue.record("no wrapped field in \(body)"); return }
        let digit = body.index(range.upperBound, offsetBy: 40)
        body.replaceSubrange(digit...digit, with: body[digit] == "0" ? "1" : "0")
        let forged = CheckedDocument(kind: Keyring.kind, version: 1, usn: document.usn, body: Array(body.utf8)).encoded()
        let error = expectCairnError { _ = try Keyring.decode(forged, file: "ring").unlocked(with: master, file: "ring") }
        guard case .corrupt(let file, _, let detail)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == "ring" && detail.contains(key.id.description))
    }

    @Test func theWrongMasterKeyIsNamed() throws {
        let fixture = try EncryptionFixture()
        let other = MasterKey(material: .random(), keyFile: "/keys/other.key")
        let error = expectCairnError { _ = try fixture.keyring.unlocked(with: other, file: fixture.dir.file("keyring")) }
        guard case .wrongEncryptionKey(let file, let expected, let keyFile, let found)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == fixture.dir.file("keyring") && expected == fixture.master.id.description)
        #expect(keyFile == "/keys/other.key" && found == other.id.description)
        #expect(error?.description.contains(fixture.master.id.description) == true && error?.description.contains("/keys/other.key") == true)
        var keyring = fixture.keyring
        #expect(throws: EngineError.self) { _ = try keyring.addDataKey(under: other, file: "ring") }
    }

    @Test func rotationKeepsDataReadableWithTheNewKeyOnly() throws {
        let fixture = try EncryptionFixture()
        var random = SeededGenerator.announced("rotationKeepsDataReadableWithTheNewKeyOnly")
        let ringPath = fixture.dir.file("keyring")
        var keyring = fixture.keyring
        let oldFile = try fixture.store(try fixture.encrypt(random.bytes(100_000)), as: "old")
        _ = try keyring.addDataKey(under: fixture.master, file: ringPath)
        let newerKeys = try keyring.unlocked(with: fixture.master, file: ringPath)
        let newPlaintext = random.bytes(70_000)
        let newFile = try fixture.store(try fixture.encrypt(newPlaintext, keys: newerKeys), as: "new")
        try keyring.write(ringPath)
        let before = try [oldFile, newFile].map { try FileSystem.hashFile($0) }

        let newMaster = MasterKey(material: .random(), keyFile: "/keys/new.key")
        var stored = try Keyring.read(ringPath)
        let wrong = MasterKey(material: .random(), keyFile: "/keys/wrong.key")
        #expect(throws: EngineError.self) { try stored.rotate(to: newMaster, from: wrong, file: ringPath) }
        #expect(stored == (try Keyring.read(ringPath)), "a failed rotation changes nothing")
        try stored.rotate(to: newMaster, from: fixture.master, file: ringPath)
        try stored.write(ringPath)
        let rotated = try Keyring.read(ringPath)
        #expect(rotated.masterKeyID == newMaster.id && rotated.dataKeys.map(\.id) == keyring.dataKeys.map(\.id))

        let unlocked = try rotated.unlocked(with: newMaster, file: ringPath)
        #expect(try fixture.decrypt(oldFile, keys: unlocked).count == 100_000)
        #expect(try fixture.decrypt(newFile, keys: unlocked) == newPlaintext)
        #expect(try [oldFile, newFile].map { try FileSystem.hashFile($0) } == before, "rotation touches no data")
        let error = expectCairnError { _ = try rotated.unlocked(with: fixture.master, file: ringPath) }
        guard case .wrongEncryptionKey(_, let expected, let keyFile, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(expected == newMaster.id.description && keyFile == fixture.master.keyFile)

        var again = rotated
        try again.rotate(to: newMaster, from: wrong, file: ringPath)
        #expect(again == rotated, "rotating to the key the keyring is already under does nothing")
    }
}
