import Testing
import Transport
import Wire

/// A frame over the frame limit is not sent: the write fails with an error naming the message and its size, and
/// the connection stays up. Before, it went out, the peer refused it with Error `malformedFrame` and closed the
/// connection, failing every other request on it.
@Suite struct WireFrameSizeGuardTests {
    static let large = WireMessage.vmCommand(.start(domainXML: String(repeating: "x", count: 4096)))

    @Test func anOversizeRequestIsNotSentAndTheConnectionStaysUp() async throws {
        let small = WireConnectionConfiguration(maximumPayloadLength: 1024, handshakeTimeout: .seconds(60))
        try await withServer(handler: drainInbound) { server in
            let connection = try await makeClient(configuration: small).connect(host: "127.0.0.1", port: server.port!)
            let bytes = Self.large.encodedPayloadSize
            let error = await #expect(throws: TransportError.self) {
                _ = try await connection.request(Self.large, timeout: .seconds(20))
            }
            #expect(error == .frameTooLarge(type: .vmCommand, role: .request, bytes: bytes, maximum: 1024))
            #expect(
                "\(error.map { "\($0)" } ?? "")"
                    == "VMCommand request of \(bytes) bytes exceeds the 1 KiB frame limit; it was not sent"
            )
            // Pushes fail the same way.
            await #expect(
                throws: TransportError.frameTooLarge(type: .vmCommand, role: .message, bytes: bytes, maximum: 1024)
            ) {
                try await connection.send(Self.large)
            }
            let heartbeat = Heartbeat(sequence: 5, timestampMilliseconds: 6)
            #expect(try await connection.request(.heartbeat(heartbeat), timeout: .seconds(20)) == .heartbeat(heartbeat))
            #expect(connection.isOpen)
            await connection.close()
        }
    }

    @Test func anOversizeReplyFailsOnTheServerWhichCanAnswerWithTheReason() async throws {
        let small = WireConnectionConfiguration(maximumPayloadLength: 1024, handshakeTimeout: .seconds(60))
        let handler: WireServer.ConnectionHandler = { connection in
            for try await envelope in connection.inbound where envelope.requestID != 0 {
                do throws(TransportError) {
                    try await connection.reply(to: envelope.requestID, with: Self.large)
                } catch {
                    guard case .frameTooLarge = error else { throw error }
                    try await connection.reply(
                        to: envelope.requestID,
                        with: .commandResult(CommandResult(code: .internalError, message: "\(error)"))
                    )
                }
            }
        }
        try await withServer(configuration: small, handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            let reply = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(20))
            #expect(
                reply
                    == .commandResult(
                        CommandResult(
                            code: .internalError,
                            message: "VMCommand reply of \(Self.large.encodedPayloadSize) bytes exceeds the 1 KiB "
                                + "frame limit; it was not sent"
                        )
                    )
            )
            await connection.close()
        }
    }
}
