import Foundation
import Glibc
import Synchronization

/// Loopback TCP helpers for the tests.
package enum TCPProbe {
    /// True when something accepts connections on 127.0.0.1:`port`.
    package static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// True when a connection waits on the listening socket `fd` (looked at without waiting).
    package static func hasPendingConnection(_ fd: Int32) -> Bool {
        var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&waiting, 1, 0) > 0
    }

    /// A port nothing listens on right now (bound to port 0, read back, released).
    package static func freePort() -> Int? {
        guard let (fd, port) = listen(backlog: 1) else { return nil }
        close(fd)
        return port
    }

    /// A listening socket on 127.0.0.1:`port` (0: a port of the kernel's choice).
    package static func listen(port: Int = 0, backlog: Int32) -> (Int32, Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && Glibc.listen(fd, backlog) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            return nil
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// A loopback TCP proxy in front of a server that can answer requests itself instead: an error
/// status with an S3 error body, or silence (to trip timeouts). `rule` sees each request line
/// (one request per connection: moto closes every connection after its answer) and its index.
package final class FaultProxy: Sendable {
    package enum Reply: Sendable {
        case forward
        case error(status: Int, code: String)
        /// Closes the connection without a word (after reading the request head).
        case drop
        case silence
    }

    package let port: Int
    private let listener: Int32
    private let upstream: Int
    private let rule: @Sendable (String, Int) -> Reply
    private let state = Mutex(State())

    private struct State {
        var requests = 0
        var open: Set<Int32> = []
        var stopped = false
    }

    package init(forwardingTo upstream: Int, rule: @escaping @Sendable (_ requestLine: String, _ index: Int) -> Reply) throws {
        guard let (fd, port) = TCPProbe.listen(backlog: 64) else { throw S3TestServer.Failure(description: "the fault proxy could not listen on 127.0.0.1") }
        self.listener = fd
        self.port = port
        self.upstream = upstream
        self.rule = rule
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    package var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Requests seen so far.
    package var requests: Int { state.withLock { $0.requests } }

    package func stop() {
        let open = state.withLock { state -> Set<Int32> in
            if state.stopped { return [] }
            state.stopped = true
            return state.open.union([listener])
        }
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                break
            }
            guard track(client) else {
                close(client)
                break
            }
            Thread.detachNewThread { [self] in serve(client) }
        }
        close(listener)
    }

    private func track(_ fd: Int32) -> Bool {
        state.withLock { state in
            guard !state.stopped else { return false }
            state.open.insert(fd)
            return true
        }
    }

    private func release(_ fd: Int32) {
        state.withLock { _ = $0.open.remove(fd) }
        close(fd)
    }

    private func serve(_ client: Int32) {
        defer { release(client) }
        guard let head = readHead(client) else { return }
        let line = String(decoding: head.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let index = state.withLock { state -> Int in
            state.requests += 1
            return state.requests - 1
        }
        switch rule(line, index) {
        case .forward: forward(client, alreadyRead: head)
        case let .error(status, code): answer(client, head: head, status: status, code: code)
        case .drop: return
        case .silence: while readSome(client) != nil {}
        }
    }

    /// The bytes up to the end of the request head (and any body bytes that came with them).
    private func readHead(_ fd: Int32) -> [UInt8]? {
        var bytes: [UInt8] = []
        while !bytes.containsHeadEnd {
            guard let chunk = readSome(fd) else { return nil }
            bytes += chunk
        }
        return bytes
    }

    private func readSome(_ fd: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return count > 0 ? Array(buffer.prefix(count)) : nil
    }

    /// Reads the rest of the body (so the client is not cut off mid-send), then answers.
    private func answer(_ fd: Int32, head: [UInt8], status: Int, code: String) {
        let text = String(decoding: head, as: UTF8.self)
        let length = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        var received = head.count - (head.headEnd ?? head.count)
        while received < length, let chunk = readSome(fd) { received += chunk.count }
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>injected by the test proxy</Message><RequestId>proxy-\(status)</RequestId></Error>"
        let response = "HTTP/1.1 \(status) Injected\r\nContent-Type: application/xml\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        writeAll(fd, Array(response.utf8))
    }

    private func forward(_ client: Int32, alreadyRead: [UInt8]) {
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = TCPProbe.loopback(port: upstream)
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        guard server >= 0, connected, track(server) else {
            if server >= 0 { close(server) }
            return
        }
        defer { release(server) }
        writeAll(server, alreadyRead)
        let done = Thread.detachNewThreadAndWait { [self] in pump(from: client, to: server) }
        pump(from: server, to: client)
        done.wait()
    }

    private func pump(from source: Int32, to destination: Int32) {
        while let chunk = readSome(source), writeAll(destination, chunk) {}
        shutdown(destination, Int32(SHUT_WR))
    }

    @discardableResult
    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let wrote = bytes.withUnsafeBytes { raw in raw.baseAddress.map { write(fd, $0 + offset, bytes.count - offset) } ?? -1 }
            guard wrote > 0 else { return false }
            offset += wrote
        }
        return true
    }
}

extension Thread {
    /// Runs `body` on a new thread; the semaphore returned is signalled when it ends.
    static func detachNewThreadAndWait(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        detachNewThread {
            body()
            done.signal()
        }
        return done
    }
}

extension [UInt8] {
    /// Index just past the blank line ending an HTTP head.
    var headEnd: Int? {
        guard count >= 4 else { return nil }
        return (0...(count - 4)).first { self[$0] == 0x0D && self[$0 + 1] == 0x0A && self[$0 + 2] == 0x0D && self[$0 + 3] == 0x0A }.map { $0 + 4 }
    }

    var containsHeadEnd: Bool { headEnd != nil }
}
