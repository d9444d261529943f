import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

/// `cairn configure DB encryption enable --key-file FILE` and
/// `cairn configure DB encryption rotate --new-key-file FILE`.
struct ConfigureEncryptionOptions: ParsableArguments {
    @Option(name: .customLong("key-file"), help: "encryption enable: the master key file (64 hex characters, mode 0600).")
    var keyFile: String?

    @Option(name: .customLong("new-key-file"), help: "encryption rotate: the new master key file; the data keys are re-wrapped under it, no data is rewritten.")
    var newKeyFile: String?

    static let usage = "Usage: cairn configure DB encryption enable --key-file FILE | rotate --new-key-file FILE [--encryption-key-file OLD] | show"

    /// Carries out `configure DB encryption VALUES`; prints what it did.
    func run(_ p: Catalog, values: [String]) throws(EngineError) {
        switch values.first {
        case "enable":
            guard let keyFile, values.count == 1 else { throw .invalidArgument(Self.usage) }
            let id = try p.enableEncryption(keyFile: keyFile)
            print("encryption enabled with master key \(id) (\(keyFile)); files written from now on are encrypted, online logs from the next log switch (`cairn archive DB` switches now)")
        case "rotate":
            guard let newKeyFile, values.count == 1 else { throw .invalidArgument(Self.usage) }
            let id = try p.rotateEncryptionKey(newKeyFile: newKeyFile)
            print("keyring re-wrapped under master key \(id) (\(newKeyFile)); no data file was rewritten. Keep the old key file until you no longer need copies of the old keyring.")
        case "show":
            guard let e = p.control.encryption else { print("encryption     off"); return }
            print("encryption     on, master key \(e.masterKeyID)\(e.keyFile.map { " (key file \($0))" } ?? "")")
        default:
            throw .invalidArgument(Self.usage)
        }
    }
}
