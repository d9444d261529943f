import Foundation
import Synchronization

/// Which `ArchiveDestination` a destination name stands for. A name with a registered
/// scheme (`memory://` for tests; object storage later) goes to that scheme's factory;
/// any other name is a local (or mounted) directory. Destinations are injected here, so
/// every feature that stores or reads archived logs works with each of them.
package enum ArchiveDestinations {
    package typealias Factory = @Sendable (String) -> any ArchiveDestination
    private static let factories = Mutex<[String: Factory]>([:])

    /// Makes names that begin with `scheme://` resolve through `factory`.
    package static func register(scheme: String, _ factory: @escaping Factory) {
        factories.withLock { $0[scheme] = factory }
    }

    package static func resolve(_ name: String) -> any ArchiveDestination {
        if let scheme = scheme(of: name), let factory = factories.withLock({ $0[scheme] }) { return factory(name) }
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
