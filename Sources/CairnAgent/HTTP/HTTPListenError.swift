import Foundation
import NIOCore

/// The agent's HTTP server could not listen on its address (`http.listen:` in the configuration).
///
/// The message names the address and the configuration file, never the token.
package struct HTTPListenError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Reason: Sendable, Equatable {
        /// Another process (or another agent) listens there already.
        case addressInUse
        /// The port is privileged, or the address is refused to this user.
        case permissionDenied
        /// The host is not an address of this machine.
        case addressNotAvailable
        /// Anything else (the host name does not resolve, …), as the system said it.
        case other(String)
    }

    package var host: String
    package var port: Int
    package var configFile: String
    package var reason: Reason

    package init(host: String, port: Int, configFile: String, reason: Reason) {
        self.host = host
        self.port = port
        self.configFile = configFile
        self.reason = reason
    }

    /// `host:port`, with IPv6 addresses in brackets.
    package var address: String { Self.address(host: host, port: port) }

    /// `host:port`, with IPv6 addresses in brackets.
    package static func address(host: String, port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    package var description: String {
        let file = configFile.isEmpty ? "the configuration file" : configFile
        switch reason {
        case .addressInUse:
            return "cannot listen on \(address): address in use; choose another `http.listen:` in \(file) or stop the other process"
        case .permissionDenied:
            return "cannot listen on \(address): permission denied; choose a port above 1023 in `http.listen:` in \(file)"
        case .addressNotAvailable:
            return "cannot listen on \(address): not an address of this machine; correct `http.listen:` in \(file)"
        case .other(let text):
            return "cannot listen on \(address): \(text); check `http.listen:` in \(file)"
        }
    }

    /// The listen error that `error` (thrown while binding the socket) stands for.
    package static func from(_ error: any Error, host: String, port: Int, configFile: String) -> HTTPListenError {
        HTTPListenError(host: host, port: port, configFile: configFile, reason: reason(of: error))
    }

    private static func reason(of error: any Error) -> Reason {
        guard let io = error as? IOError else { return .other(String(describing: error)) }
        switch io.errnoCode {
        case EADDRINUSE: return .addressInUse
        case EACCES, EPERM: return .permissionDenied
        case EADDRNOTAVAIL: return .addressNotAvailable
        default: return .other(String(cString: strerror(io.errnoCode)).lowercased())
        }
    }
}
