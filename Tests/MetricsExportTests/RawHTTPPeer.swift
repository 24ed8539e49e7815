import NIOCore
import NIOPosix
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A TCP peer that sends exactly the bytes a test gives and collects every byte until the listener closes, so tests
/// see the listener's real answers, including to malformed, oversized and slow requests.
struct RawHTTPPeer {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(port: Int) async throws -> RawHTTPPeer {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawHTTPPeer(channel: channel)
    }

    /// Closes the connection without sending anything (finishing its writer, as NIOAsyncChannel requires).
    func close() async throws {
        try await channel.executeThenClose { _, _ in }
    }

    /// Sends `request`, then reads until the listener closes the connection (or `limit` bytes).
    static func exchange(port: Int, _ request: String, limit: Int = 4 << 20) async throws -> String {
        let peer = try await connect(port: port)
        return try await peer.channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var received = ByteBuffer()
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
                if received.readableBytes >= limit { break }
            }
            return String(buffer: received)
        }
    }

    /// `exchange` over a plain socket, for a connection the listener may close before the client has set it up (a
    /// NIOAsyncChannel made for a channel whose connect then fails traps). Blocks a thread of its own up to
    /// `timeoutSeconds` per read: on a pool thread, two such waits stalled the listener under test, which answers
    /// through the same pool, until they timed out empty.
    static func exchangeOnSocket(port: Int, _ request: String, timeoutSeconds: Int = 10) async throws -> String {
        try await OwnThread.run { try blockingExchange(port: port, request, timeoutSeconds: timeoutSeconds) }
    }

    private static func blockingExchange(port: Int, _ request: String, timeoutSeconds: Int) throws -> String {
        guard let fd = LoopbackSocket.connect(port: port, timeoutSeconds: timeoutSeconds) else {
            throw IOError(errnoCode: errno, reason: "connect")
        }
        defer { Glibc.close(fd) }
        _ = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }  // closed (0), reset or timed out (-1)
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Splits an HTTP/1.1 response into status code, lower-cased headers and body.
    static func parse(_ response: String) -> (status: Int, headers: [String: String], body: String)? {
        guard let split = response.range(of: "\r\n\r\n") else { return nil }
        let lines = response[..<split.lowerBound].split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "),
            let status = Int(statusLine.dropFirst(9).prefix(3))
        else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingPrefix(" ").description
        }
        return (status, headers, String(response[split.upperBound...]))
    }
}
