import Logging
import NIOCore
import TestSupport
import Testing
import Transport
import Wire

/// What a server does when peers want more connections than it may hold, over real sockets on 127.0.0.1.
@Suite(.timeLimit(.minutes(5))) struct WireServerLimitsTests {
    @Test func aConnectionOverTheLimitIsRefusedBusyNamingTheLimit() async throws {
        let logs = CapturedLogs()
        let limits = WireServerLimits(maximumConnections: 2)
        try await withServer(limits: limits, logger: logs.logger, handler: drainInbound) { server in
            let port = try #require(server.port)
            #expect(server.maximumConnections == 2)
            let first = try await makeClient().connect(host: "127.0.0.1", port: port)
            let second = try await makeClient().connect(host: "127.0.0.1", port: port)
            let error = await #expect(throws: TransportError.self) {
                _ = try await makeClient().connect(host: "127.0.0.1", port: port)
            }
            guard case .peerError(let code, let message) = error else {
                Issue.record("expected peerError, got \(String(describing: error))")
                return
            }
            #expect(code == .busy)
            #expect(message.contains("at most 2 connections"), "\(message)")
            let refusing = try #require(logs.matching("refusing connections").first)
            #expect(refusing.metadata["torpor.limit"] == "2")

            // A place frees up: the next dialler is served (the server learns of the close asynchronously).
            await first.close()
            let third = try await eventuallyConnect(port: port)
            #expect(third.isOpen && second.isOpen)
            await second.close()
            await third.close()
        }
    }

    @Test func acceptingPausesWhenOnlyTheReservedDescriptorsAreLeft() async throws {
        let logs = CapturedLogs()
        // Descriptors for three sockets: three served, the fourth waits in the kernel's backlog.
        let limits = WireServerLimits(maximumConnections: 100, reservedDescriptors: 16, descriptorLimit: 19)
        try await withServer(limits: limits, logger: logs.logger, handler: drainInbound) { server in
            let port = try #require(server.port)
            #expect(server.maximumConnections == 3)
            var open: [WireConnection] = []
            for _ in 0..<3 {
                open.append(try await makeClient().connect(host: "127.0.0.1", port: port))
            }
            let patient = WireClient(
                hello: makeHello(node: "patient"),
                connectTimeout: .seconds(30),
                configuration: WireConnectionConfiguration(handshakeTimeout: .seconds(50)),
                logger: testLogger
            )
            let fourth = Task { try await patient.connect(host: "127.0.0.1", port: port) }
            let paused = await logs.waitFor("not accepting connections")
            #expect(paused != nil, "the server never said it stopped accepting")
            #expect(logs.matching("refusing connections").isEmpty, "no room for refusals: it should only wait")

            await open.removeFirst().close()
            let admitted = try await fourth.value
            #expect(admitted.peer.nodeName == "test-server")
            #expect(await logs.waitFor("accepting connections again") != nil)
            await admitted.close()
            for connection in open { await connection.close() }
        }
    }

    /// Retries while the server still counts a connection that just closed.
    private func eventuallyConnect(port: Int) async throws -> WireConnection {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let failure: TransportError
            do {
                return try await makeClient().connect(host: "127.0.0.1", port: port)
            } catch {
                failure = error
            }
            guard case .peerError(.busy, _) = failure, ContinuousClock.now < deadline else { throw failure }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
