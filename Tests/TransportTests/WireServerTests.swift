import NIOCore
import NIOPosix
import TestSupport
import Testing
import Transport
import Wire

/// Handshakes and hostile peers, over real sockets on 127.0.0.1.
@Suite(.timeLimit(.minutes(5))) struct WireServerTests {
    @Test func handshakeSucceedsAndBothSidesSeeEachOther() async throws {
        let assignment = Welcome.Assignment(
            managerID: "manager-1",
            heartbeatIntervalMilliseconds: 5000,
            reportIntervalMilliseconds: 10_000
        )
        let serverSide = Recorder<WirePeer>()
        let welcome: WireServer.WelcomeProvider = { _, version in
            Welcome(
                version: version,
                role: .manager,
                softwareVersion: "2.0",
                nodeName: "manager-1",
                assignment: assignment
            )
        }
        let handler: WireServer.ConnectionHandler = { connection in
            await serverSide.record(connection.peer)
            for try await _ in connection.inbound {}
        }
        try await withServer(welcome: welcome, handler: handler) { server in
            let port = try #require(server.port)
            #expect(port != 0)
            let connection = try await makeClient(hello: makeHello(node: "agent-7")).connect(
                host: "127.0.0.1",
                port: port
            )
            #expect(connection.version == 1)
            #expect(connection.peer.role == .manager)
            #expect(connection.peer.nodeName == "manager-1")
            #expect(connection.peer.welcome?.assignment == assignment)
            #expect(connection.remoteAddress?.port == port)

            let seen = await serverSide.wait(for: 1)[0]
            #expect(seen.hello == makeHello(node: "agent-7"))
            #expect(seen.version == 1)
            await connection.close()
            #expect(!connection.isOpen)
        }
    }

    @Test func versionMismatchGivesThePeerBothVersionLists() async throws {
        try await withServer(handler: drainInbound) { server in
            let client = makeClient(hello: makeHello(versions: [9]))
            let error = await #expect(throws: TransportError.self) {
                _ = try await client.connect(host: "127.0.0.1", port: server.port!)
            }
            guard case .peerError(let code, let message) = error else {
                Issue.record("expected peerError, got \(String(describing: error))")
                return
            }
            #expect(code == .noCommonVersion)
            #expect(message.contains("[1]") && message.contains("[9]"), "\(message)")
        }
    }

    @Test func welcomeClosureCanRefuseAPeer() async throws {
        let refuse: WireServer.WelcomeProvider = { _, _ in
            throw HandshakeRejection(code: .unsupported, message: "agents only")
        }
        try await withServer(welcome: refuse, handler: drainInbound) { server in
            await #expect(throws: TransportError.peerError(code: .unsupported, message: "agents only")) {
                _ = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            }
        }
    }

    @Test func nonHelloFirstFrameGetsUnexpectedMessageAndClose() async throws {
        try await withServer(handler: drainInbound) { server in
            let heartbeat = WireEnvelope(message: .heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0)))
            let reply = try decodeEnvelopes(try await rawExchange(port: server.port!, sending: encode(heartbeat)))
            #expect(reply.count == 1)
            guard case .error(let error) = reply.first?.message else {
                Issue.record("expected an Error frame, got \(reply)")
                return
            }
            #expect(error.code == .unexpectedMessage)
            #expect(error.message == "unexpected Heartbeat in state awaitingHello")
        }
    }

    @Test func garbageBytesGetMalformedFrameAndTheServerKeepsServing() async throws {
        try await withServer(handler: drainInbound) { server in
            var generator = SplitMix64(seed: 99)
            // 0xFF first: random bytes must not happen to start with the frame magic.
            let garbage = [0xFF] + (0..<200).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let reply = try decodeEnvelopes(try await rawExchange(port: server.port!, sending: garbage))
            #expect(reply.count == 1)
            guard case .error(let error) = reply.first?.message else {
                Issue.record("expected an Error frame, got \(reply)")
                return
            }
            #expect(error.code == .malformedFrame)
            #expect(error.message.contains("bad frame magic"), "\(error.message)")

            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            _ = try await connection.ping(timeout: .seconds(30))
            await connection.close()
        }
    }

    @Test func peerVanishingMidFrameIsALostConnectionNotAnError() async throws {
        let endings = Recorder<String>()
        let handler: WireServer.ConnectionHandler = { connection in
            do {
                for try await _ in connection.inbound {}
                await endings.record("ended")
            } catch {
                await endings.record("threw \(error)")
            }
        }
        try await withServer(handler: handler) { server in
            let hello = encode(WireEnvelope(version: WireVersion.v1, message: .hello(makeHello())))
            let push = encode(WireEnvelope(message: .heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0))))
            try await rawChannel(port: server.port!).executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: hello))
                var received = ByteBuffer()
                var chunks = inbound.makeAsyncIterator()
                while try decodeEnvelopes(received).isEmpty, let chunk = try await chunks.next() {
                    received.writeImmutableBuffer(chunk)
                }
                #expect(try decodeEnvelopes(received).map(\.message.type) == [.welcome])

                // Most of a frame, then our sending side closes.
                try await outbound.write(ByteBuffer(bytes: push.dropLast(3)))
                outbound.finish()
                #expect(await endings.wait(for: 1) == ["ended"])

                // And no Error frame: there is nobody left to read it.
                while let chunk = try? await chunks.next() {
                    received.writeImmutableBuffer(chunk)
                }
                #expect(try decodeEnvelopes(received).count == 1)
            }
        }
    }

    @Test func oversizeFrameIsRefusedAndSurfacesAsPeerError() async throws {
        let small = WireConnectionConfiguration(maximumPayloadLength: 256, handshakeTimeout: .seconds(60))
        try await withServer(configuration: small, handler: drainInbound) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            let huge = WireMessage.vmCommand(.start(domainXML: String(repeating: "x", count: 64 * 1024)))
            let error = await #expect(throws: TransportError.self) {
                _ = try await connection.request(huge, timeout: .seconds(30))
            }
            guard case .peerError(let code, let message) = error else {
                Issue.record("expected peerError, got \(String(describing: error))")
                return
            }
            #expect(code == .malformedFrame)
            #expect(message.contains("frame of 65543 bytes exceeds the 256-byte frame limit"), "\(message)")
            await connection.waitUntilClosed()
        }
    }

    @Test func silentPeerIsDroppedAfterTheHandshakeTimeout() async throws {
        // Nothing else drops a silent peer for ten minutes, so an end within two says the handshake timeout did it,
        // however loaded the machine.
        let impatient = WireConnectionConfiguration(handshakeTimeout: .milliseconds(200), idleTimeout: .seconds(600))
        try await withServer(configuration: impatient, handler: drainInbound) { server in
            let clock = ContinuousClock()
            let start = clock.now
            let reply = try await rawExchange(port: server.port!, sending: [])
            #expect(reply.readableBytes == 0)
            #expect(clock.now - start < .seconds(120))
        }
    }

    @Test func adoptsAnAlreadyListeningSocket() async throws {
        let (descriptor, port) = try makeListeningSocket()
        let server = try await WireServer.bind(
            listeningSocket: descriptor,
            logger: testLogger,
            welcome: welcoming(as: "socket-activated"),
            handler: drainInbound
        )
        #expect(server.port == port)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let connection = try await makeClient().connect(host: "127.0.0.1", port: port)
            #expect(connection.peer.nodeName == "socket-activated")
            await connection.close()
            group.cancelAll()
        }
    }

    @Test func bindFailureNamesTheAddress() async throws {
        try await withServer(handler: drainInbound) { server in
            let port = server.port!
            // Same address while the first server still listens: SO_REUSEADDR does not allow two listeners.
            let error = await #expect(throws: TransportError.self) {
                _ = try await WireServer.bind(
                    host: "127.0.0.1",
                    port: port,
                    logger: testLogger,
                    welcome: welcoming(),
                    handler: drainInbound
                )
            }
            #expect(String(describing: error).contains("127.0.0.1:\(port)"))
        }
    }

    @Test func connectFailureNamesTheAddress() async throws {
        let port = try unusedPort()
        let error = await #expect(throws: TransportError.self) {
            _ = try await makeClient().connect(host: "127.0.0.1", port: port)
        }
        guard case .connectFailed(let host, let failedPort, _) = error else {
            Issue.record("expected connectFailed, got \(String(describing: error))")
            return
        }
        #expect(host == "127.0.0.1" && failedPort == port)
        #expect(String(describing: error!) == "cannot connect to 127.0.0.1:\(port): Connection refused")
    }

    @Test func cancellingTheServerEndsRunAndClosesConnections() async throws {
        let server = try await WireServer.bind(
            host: "127.0.0.1",
            port: 0,
            logger: testLogger,
            welcome: welcoming(),
            handler: drainInbound
        )
        let running = Task { try await server.run() }
        let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
        running.cancel()
        try await running.value
        await connection.waitUntilClosed()
        #expect(!connection.isOpen)
    }
}
