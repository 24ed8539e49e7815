import Synchronization
import Testing
import Transport
import Wire

/// `WireConnection.tapPushes`: pushes the tap takes are handled on the event loop and never reach `inbound`; the
/// rest, and every request, still do. Over real sockets on 127.0.0.1.
@Suite(.timeLimit(.minutes(5))) struct WirePushTapTests {
    @Test("a tapped push skips inbound; untapped pushes and requests arrive in order")
    func tappedPushesSkipInbound() async throws {
        let tapped = Mutex<[UInt64]>([])
        let inbound = Recorder<WireEnvelope>()
        let handler: WireServer.ConnectionHandler = { connection in
            await connection.tapPushes { message in
                guard case .heartbeat(let heartbeat) = message else { return false }
                tapped.withLock { $0.append(heartbeat.sequence) }
                return true
            }
            for try await envelope in connection.inbound {
                await inbound.record(envelope)
                if envelope.requestID != 0 {
                    try await connection.reply(to: envelope.requestID, with: .commandResult(.ok()))
                }
            }
        }
        try await withServer(handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            // The handler reads its first request only once the tap is set.
            _ = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
            let before = 1
            for sequence in 1...3 as ClosedRange<UInt64> {
                try await connection.send(.heartbeat(Heartbeat(sequence: sequence, timestampMilliseconds: 0)))
                try await connection.send(.vmCommand(.suspend(name: "vm-\(sequence)")))
            }
            // A heartbeat request is a ping, answered by the connection: neither tapped nor in inbound.
            _ = try await connection.ping(timeout: .seconds(30))
            _ = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
            let seen = await inbound.wait(for: before + 4)
            #expect(tapped.withLock { $0 } == [1, 2, 3])
            let after = seen.dropFirst(before).map(\.message)
            #expect(
                after == [
                    .vmCommand(.suspend(name: "vm-1")), .vmCommand(.suspend(name: "vm-2")),
                    .vmCommand(.suspend(name: "vm-3")), .statusRequest(StatusRequest()),
                ]
            )
            await connection.close()
        }
    }
}
