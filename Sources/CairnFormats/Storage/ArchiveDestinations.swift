import Foundation
import Synchronization

/// Which `ArchiveDestination` a destination name stands for. A name with a registered
/// scheme (`memory://` for tests; object storage later) goes to that scheme's factory;
/// any other name is a local (or mounted) directory. Destinations are injected here, so
/// every feature that stores or reads archived logs works with each of them.
package enum ArchiveDestinations {
    package typealias Factory = @Sendable (String) -> any ArchiveDestination
    /// Why a name of the scheme cannot be a destination (nil when it can).
    package typealias Validator = @Sendable (String) -> EngineError?
    private static let factories = Mutex<[String: (factory: Factory, validate: Validator?)]>([:])

    /// Makes names that begin with `scheme://` resolve through `factory`; `validate` checks
    /// such a name when a database is registered with it.
    package static func register(scheme: String, validate: Validator? = nil, _ factory: @escaping Factory) {
        factories.withLock { $0[scheme] = (factory, validate) }
    }

    /// Why `name` cannot be an archive destination, by its scheme's validator (checked by
    /// `cairn init`, so that a wrong name is refused before it is recorded); nil when it can.
    package static func problem(with name: String) -> EngineError? {
        guard let scheme = scheme(of: name), let validate = factories.withLock({ $0[scheme]?.validate }) else { return nil }
        return validate(name)
    }

    package static func resolve(_ name: String) -> any ArchiveDestination {
        if let scheme = scheme(of: name), let factory = factories.withLock({ $0[scheme]?.factory }) { return factory(name) }
        return LocalDirectoryDestination(directory: name)
    }

    /// True for a name that is a directory on this machine (paths are resolved; URLs are not).
    package static func isLocal(_ name: String) -> Bool { scheme(of: name) == nil }

    private static func scheme(of name: String) -> String? {
        guard let r = name.range(of: "://") else { return nil }
        let s = name[..<r.lowerBound]
        return !s.isEmpty && s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" }) ? String(s) : nil
    }
}
