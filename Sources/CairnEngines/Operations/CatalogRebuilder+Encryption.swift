import Foundation
import CairnFormats
import CairnCatalog

extension CatalogRebuilder {
    /// The encryption setting of a repository whose catalog is missing: on when it has a
    /// keyring (with the key file given to this command, if any).
    static func encryption(_ layout: RepositoryLayout) throws(EngineError) -> EncryptionSetting? {
        guard FileSystem.exists(layout.keyringFile) else { return nil }
        let keyring = try Keyring.read(layout.keyringFile)
        guard let id = keyring.masterKeyID else { return nil }
        return EncryptionSetting(masterKeyID: id.description, keyFile: KeyringRegistry.shared.givenKeyFile)
    }
}

extension EngineError {
    /// A key file is missing, unusable or not the one that was used: reading cannot go on
    /// without the right key (never skipped as a damaged file would be).
    package var isEncryptionKeyProblem: Bool {
        switch self {
        case .encryptionKeyRequired, .wrongEncryptionKey, .keyFileInvalid, .keyFileUnprotected, .dataKeyMissing: true
        default: false
        }
    }
}
