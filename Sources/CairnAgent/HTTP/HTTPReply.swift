import Foundation
import Hummingbird

/// The responses the agent's endpoints give: a body of text with its media type, never cached,
/// pages barred from loading anything (they need nothing: their CSS and SVG are inline).
enum HTTPReply {
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var r = make(text, type: "text/html; charset=utf-8", status: status)
        r.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'"
        return r
    }

    static func json(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: headers(type: "application/json"), body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ text: String, type: String = "text/plain; charset=utf-8", status: HTTPResponse.Status = .ok) -> Response {
        make(text, type: type, status: status)
    }

    static func bytes(_ bytes: ByteBuffer, type: String) -> Response {
        Response(status: .ok, headers: headers(type: type), body: .init(byteBuffer: bytes))
    }

    private static func make(_ text: String, type: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: headers(type: type), body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private static func headers(type: String) -> HTTPFields {
        [.contentType: type, .cacheControl: "no-store"]
    }
}
