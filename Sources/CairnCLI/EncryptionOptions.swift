import ArgumentParser
import CairnFormats

/// `--encryption-key-file FILE`: the master key for reading and writing a repository whose
/// files are encrypted (default: the file `CAIRN_ENCRYPTION_KEY_FILE` names, then the one the
/// control file remembers). Given to `cairn init`, it turns encryption on.
///
/// The file is handed to the process's `KeyringRegistry` as soon as the arguments are
/// parsed (in `validate()`), so every engine the command runs reads with it; the key is read
/// only when an encrypted file or the keyring is first needed.
struct EncryptionOptions: ParsableArguments {
    @Option(name: .customLong("encryption-key-file"),
            help: "File holding the 256-bit master key as 64 hex characters (`openssl rand -hex 32 > FILE; chmod 600 FILE`). Default: $CAIRN_ENCRYPTION_KEY_FILE.")
    var keyFile: String?

    func validate() throws {
        if let keyFile { KeyringRegistry.shared.useKeyFile(keyFile) }
    }
}
