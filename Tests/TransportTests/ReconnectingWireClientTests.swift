import TestSupport
import Testing
import Transport
import Wire

@Suite(.timeLimit(.minutes(5))) struct ReconnectingWireClientTests {
    @Test func reconnectsAfterTheServerRestartsOnTheSamePort() async throws {
        let (states, recordState) = AsyncStream.makeStream(of: WireLinkState.self)
        let peers = Recorder<String>()
        let fast = Backoff(initial: .milliseconds(10), factor: 2, maximum: .milliseconds(50))

        // First server: let the client connect, then stop it. Its port is below the kernel's ephemeral range: a
        // port 0 handed out could be taken, while nothing listens, by the client's own next attempt (a TCP
        // self-connect) or by another test's outgoing connection, and the second bind would fail.
        let first = try await bindBelowTheEphemeralRange { port in
            try await WireServer.bind(
                host: "127.0.0.1",
                port: port,
                logger: testLogger,
                welcome: welcoming(as: "server-1"),
                handler: drainInbound
            )
        }
        let port = try #require(first.port)
        let reconnecting = ReconnectingWireClient(client: makeClient(), host: "127.0.0.1", port: port, backoff: fast)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await reconnecting.run(onLinkStateChange: { recordState.yield($0) }) { connection in
                    await peers.record(connection.peer.nodeName)
                    for try await _ in connection.inbound {}
                }
                recordState.finish()
            }

            let firstRun = Task { try await first.run() }
            #expect(await peers.wait(for: 1) == ["server-1"])
            firstRun.cancel()
            try await firstRun.value

            // The second server waits for the port: once, on a loaded CI machine, its bind found the port in use
            // though the first server had stopped. What is tested is the client, which keeps trying meanwhile.
            for attempt in 1... {
                do {
                    try await withServer(port: port, welcome: welcoming(as: "server-2"), handler: drainInbound) { _ in
                        #expect(await peers.wait(for: 2) == ["server-1", "server-2"])
                    }
                    break
                } catch TransportError.bindFailed(_, _, let reason) where attempt < 100 {
                    print("ReconnectingWireClientTests: port \(port) still in use (\(reason)); trying again")
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            group.cancelAll()
        }

        var seen: [WireLinkState] = []
        for await state in states { seen.append(state) }
        guard case .connecting(let address, 1) = seen.first else {
            Issue.record("expected to start with the first connection attempt, got \(seen)")
            return
        }
        #expect(address == "127.0.0.1:\(port)")
        #expect(
            seen.filter { if case .connected = $0 { true } else { false } }.map(\.peerNode) == ["server-1", "server-2"]
        )
        #expect(seen.contains { if case .disconnected(_, .some) = $0 { true } else { false } })
        #expect(seen.last == .disconnected(reason: .cancelled, retryIn: nil))
    }

    @Test func reportsEachFailedAttemptWithItsBackoff() async throws {
        let port = try unusedPort()  // every attempt is refused
        let (states, recordState) = AsyncStream.makeStream(of: WireLinkState.self)
        let backoff = Backoff(initial: .milliseconds(5), factor: 2, maximum: .milliseconds(20))
        let reconnecting = ReconnectingWireClient(client: makeClient(), host: "127.0.0.1", port: port, backoff: backoff)

        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var generator = SplitMix64(seed: 1)
                await reconnecting.run(onLinkStateChange: { recordState.yield($0) }, generator: &generator) { _ in
                    Issue.record("nothing should accept the connection")
                }
            }
            var seen: [WireLinkState] = []
            for await state in states {
                seen.append(state)
                if seen.count == 6 { break }
            }
            group.cancelAll()

            #expect(seen.compactMap(\.attempt) == [1, 2, 3])
            for case .disconnected(let reason, let retryIn) in seen {
                guard case .connectFailed(let host, let failedPort, _) = reason else {
                    Issue.record("expected connectFailed, got \(reason)")
                    continue
                }
                #expect(host == "127.0.0.1" && failedPort == port)
                #expect(retryIn != nil && retryIn! <= .milliseconds(20))
            }
        }
    }
}

extension WireLinkState {
    fileprivate var attempt: Int? {
        if case .connecting(_, let attempt) = self { attempt } else { nil }
    }

    fileprivate var peerNode: String? {
        if case .connected(let peer) = self { peer.nodeName } else { nil }
    }
}
