import Testing
import Transport
import Wire

/// Requests, pushes, pings and closing on established connections, over real sockets on 127.0.0.1.
@Suite(.timeLimit(.minutes(5))) struct WireConnectionTests {
    @Test func concurrentRequestsAnsweredOutOfOrderReachTheirCallers() async throws {
        let count = 8
        let handler: WireServer.ConnectionHandler = { connection in
            // Collect every request first, then answer them newest first.
            var requests: [WireEnvelope] = []
            for try await envelope in connection.inbound {
                requests.append(envelope)
                if requests.count == count { break }
            }
            for request in requests.reversed() {
                guard case .vmCommand(.suspend(let name)) = request.message else { continue }
                try await connection.reply(to: request.requestID, with: .commandResult(.ok(name)))
            }
            await connection.waitUntilClosed()
        }
        try await withServer(handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let answer = try await connection.request(
                            .vmCommand(.suspend(name: "vm-\(index)")),
                            timeout: .seconds(30)
                        )
                        #expect(answer == .commandResult(.ok("vm-\(index)")))
                    }
                }
                try await group.waitForAll()
            }
            await connection.close()
        }
    }

    @Test func requestIDsIncreaseAndRepliesCarryTheResponseFlag() async throws {
        let seen = Recorder<WireEnvelope>()
        let handler: WireServer.ConnectionHandler = { connection in
            for try await envelope in connection.inbound {
                await seen.record(envelope)
                try await connection.reply(to: envelope.requestID, with: .commandResult(.ok()))
            }
        }
        try await withServer(handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            for _ in 0..<3 {
                _ = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
            }
            let requests = await seen.wait(for: 3)
            #expect(requests.map(\.requestID) == [1, 2, 3])
            #expect(requests.allSatisfy { !$0.isResponse && $0.version == 1 })
            await connection.close()
        }
    }

    @Test func unansweredRequestTimesOutAndTheConnectionStaysUsable() async throws {
        try await withServer(handler: drainInbound) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            await #expect(throws: TransportError.timedOut(after: .milliseconds(100))) {
                _ = try await connection.request(.statusRequest(StatusRequest()), timeout: .milliseconds(100))
            }
            _ = try await connection.ping(timeout: .seconds(30))
            await connection.close()
        }
    }

    @Test func errorResponseFailsOnlyThatRequest() async throws {
        let handler: WireServer.ConnectionHandler = { connection in
            for try await envelope in connection.inbound {
                let refusal = ErrorMessage(code: .unsupported, message: "not on this host")
                try await connection.reply(to: envelope.requestID, with: .error(refusal))
            }
        }
        try await withServer(handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            await #expect(throws: TransportError.peerError(code: .unsupported, message: "not on this host")) {
                _ = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
            }
            #expect(connection.isOpen)
            _ = try await connection.ping(timeout: .seconds(30))
            await connection.close()
        }
    }

    @Test func serverPushesReachTheClientsInbound() async throws {
        let push = WireMessage.powerCommand(PowerCommand(action: .suspendToRam))
        let handler: WireServer.ConnectionHandler = { connection in
            try await connection.send(push)
            for try await _ in connection.inbound {}
        }
        try await withServer(handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            var inbound = connection.inbound.makeAsyncIterator()
            let envelope = try #require(try await inbound.next())
            #expect(envelope.message == push)
            #expect(envelope.requestID == 0)
            #expect(!envelope.isResponse)
            await connection.close()
            #expect(try await inbound.next() == nil)
        }
    }

    @Test func pingsAreAnsweredByTheConnectionAndNeverDelivered() async throws {
        let serverInbound = Recorder<WireEnvelope>()
        let handler: WireServer.ConnectionHandler = { connection in
            // The server pings the client too.
            _ = try await connection.ping(timeout: .seconds(30))
            for try await envelope in connection.inbound {
                await serverInbound.record(envelope)
            }
        }
        try await withServer(handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            let roundTrip = try await connection.ping(timeout: .seconds(30))
            // Measured, and plausible: a real round trip, not a default or a wrapped value, on however loaded a machine.
            #expect(roundTrip > .zero && roundTrip < .seconds(60))

            let heartbeat = Heartbeat(sequence: 77, timestampMilliseconds: 1234)
            let echo = try await connection.request(.heartbeat(heartbeat), timeout: .seconds(30))
            #expect(echo == .heartbeat(heartbeat))

            // Only this push is delivered; the pings were not.
            try await connection.send(.heartbeat(heartbeat))
            let delivered = await serverInbound.wait(for: 1)
            #expect(delivered.map(\.message) == [.heartbeat(heartbeat)])
            #expect(delivered[0].requestID == 0)
            await connection.close()
        }
    }

    @Test func heartbeatHelperSendsNumberedPushesUntilCancelled() async throws {
        let received = Recorder<Heartbeat>()
        let handler: WireServer.ConnectionHandler = { connection in
            for try await envelope in connection.inbound {
                if case .heartbeat(let heartbeat) = envelope.message { await received.record(heartbeat) }
            }
        }
        try await withServer(handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.sendHeartbeats(every: .milliseconds(10)) }
                let beats = await received.wait(for: 3)
                #expect(beats.prefix(3).map(\.sequence) == [1, 2, 3])
                #expect(beats[0].timestampMilliseconds > 1_600_000_000_000)
                group.cancelAll()
                try await group.waitForAll()
            }
            #expect(connection.isOpen)
            await connection.close()
        }
    }

    @Test func connectionLossFailsPendingRequests() async throws {
        let handler: WireServer.ConnectionHandler = { connection in
            // Take the request, then hang up without answering.
            var inbound = connection.inbound.makeAsyncIterator()
            _ = try await inbound.next()
            await connection.close()
        }
        try await withServer(handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            await #expect(throws: TransportError.connectionClosed) {
                _ = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
            }
            await #expect(throws: TransportError.connectionClosed) {
                try await connection.send(.statusRequest(StatusRequest()))
            }
        }
    }

    @Test func cancellingARequestThrowsCancelled() async throws {
        try await withServer(handler: drainInbound) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            let waiting = Task {
                try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
            }
            waiting.cancel()
            await #expect(throws: TransportError.cancelled) { _ = try await waiting.value }
            await connection.close()
        }
    }

    @Test func gracefulCloseDeliversFramesStillQueued() async throws {
        // The server stops reading once two envelopes wait unconsumed, so the client's writes back up in its
        // outbound queue; close() must still deliver every frame whose send() was accepted.
        let stalled = WireConnectionConfiguration(
            handshakeTimeout: .seconds(60),
            inboundBufferHighWatermark: 2,
            inboundBufferLowWatermark: 1
        )
        let (consume, consumeNow) = AsyncStream.makeStream(of: Void.self)
        let received = Recorder<Int>()
        let finished = Recorder<Bool>()
        let payload = String(repeating: "v", count: 60_000)

        let handler: WireServer.ConnectionHandler = { connection in
            for await _ in consume { break }
            do {
                for try await envelope in connection.inbound {
                    guard case .vmCommand(.start(let xml)) = envelope.message else { continue }
                    await received.record(Int(xml.prefix(while: { $0 != ":" }))!)
                }
            } catch {
                Issue.record("inbound failed: \(error)")  // e.g. a truncated last frame
            }
            await finished.record(true)
        }
        try await withServer(configuration: stalled, handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            let progress = Recorder<Int>()
            let sender = Task {
                var sent = 0
                for index in 1...2000 {
                    do {
                        try await connection.send(.vmCommand(.start(domainXML: "\(index):\(payload)")))
                    } catch {
                        return sent
                    }
                    sent = index
                    await progress.record(index)
                }
                return sent
            }
            // Wait until sends stop completing: the socket buffers are full and a write is queued.
            var lastCount = -1
            while true {
                try await Task.sleep(for: .milliseconds(150))
                let count = await progress.values.count
                if count == lastCount { break }
                lastCount = count
            }
            #expect(lastCount < 2000, "the server never stalled")

            let closing = Task { await connection.close() }
            try await Task.sleep(for: .milliseconds(50))
            consumeNow.yield()
            await closing.value
            let sent = await sender.value

            #expect(sent > lastCount, "the write queued at close() was not delivered")
            _ = await finished.wait(for: 1)
            #expect(await received.values == Array(1...sent))
        }
    }
}
