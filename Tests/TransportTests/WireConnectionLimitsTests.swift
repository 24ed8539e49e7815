import Logging
import NIOCore
import Testing
import Transport
import Wire

/// What one connection may hold: idle time, requests at once, replies it leaves unread. Real sockets on 127.0.0.1.
@Suite(.timeLimit(.minutes(2))) struct WireConnectionLimitsTests {
    /// Answers every request with an ok CommandResult once `gate` opens.
    private static func answering(after gate: Latch, started: Recorder<UInt32>? = nil) -> WireServer.ConnectionHandler {
        { connection in
            try await connection.serveRequests { envelope in
                await started?.record(envelope.requestID)
                await gate.wait()
                return .commandResult(.ok("answered \(envelope.requestID)"))
            }
        }
    }

    @Test func anIdleConnectionIsClosedButNotOneWaitingForAnAnswer() async throws {
        let logs = CapturedLogs()
        let slow = Latch()
        let configuration = WireConnectionConfiguration(idleTimeout: .seconds(1))
        try await withServer(configuration: configuration, logger: logs.logger, handler: Self.answering(after: slow)) {
            server in
            let port = try #require(server.port)
            let idle = try await makeClient().connect(host: "127.0.0.1", port: port)
            let waiting = try await makeClient().connect(host: "127.0.0.1", port: port)
            let answer = Task { try await waiting.request(.statusRequest(StatusRequest()), timeout: .seconds(30)) }

            // The idle one goes; the one waiting for its answer stays, well past the idle timeout.
            #expect(await eventually { !idle.isOpen }, "the idle connection was never closed")
            let closing = try #require(logs.matching("closing an idle connection").first)
            #expect(closing.metadata["torpor.timeout"] == "1.0 seconds")
            try await Task.sleep(for: .seconds(2))
            #expect(waiting.isOpen)
            await slow.open()
            #expect(try await answer.value == .commandResult(.ok("answered 1")))
            // Answered, it is idle too.
            #expect(await eventually { !waiting.isOpen }, "the answered connection was never closed")
        }
    }

    @Test func aDiallerNeverClosesForIdleness() async throws {
        let configuration = WireConnectionConfiguration(idleTimeout: .milliseconds(200))
        // Only the dialler has the short timeout: the listener's default (60 s) does not come into play.
        try await withServer(handler: drainInbound) { server in
            let connection = try await makeClient(configuration: configuration).connect(
                host: "127.0.0.1",
                port: try #require(server.port)
            )
            try await Task.sleep(for: .seconds(1))
            #expect(connection.isOpen)
            await connection.close()
        }
    }

    @Test func requestsOverTheLimitAreAnsweredBusyAtOnce() async throws {
        let slow = Latch()
        let started = Recorder<UInt32>()
        let configuration = WireConnectionConfiguration(maximumConcurrentRequests: 2)
        try await withServer(
            configuration: configuration,
            handler: Self.answering(after: slow, started: started)
        ) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: try #require(server.port))
            let first = Task { try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30)) }
            let second = Task { try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30)) }
            _ = await started.wait(for: 2)

            // The third is refused without waiting for the other two.
            await #expect(
                throws: TransportError.peerError(
                    code: .busy,
                    message: "at most 2 requests run at once on one connection; this one was refused"
                )
            ) {
                _ = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
            }
            #expect(connection.isOpen)
            await slow.open()
            for task in [first, second] {
                guard case .commandResult(let result) = try await task.value else {
                    Issue.record("expected a CommandResult")
                    continue
                }
                #expect(result.isOK)
            }
            // Below the limit again, requests are served.
            let fourth = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
            #expect(fourth == .commandResult(.ok("answered 4")))
            await connection.close()
        }
    }

    @Test func aRequestNobodyAnswersGetsAnError() async throws {
        let handler: WireServer.ConnectionHandler = { connection in
            try await connection.serveRequests { _ in nil }
        }
        try await withServer(handler: handler) { server in
            let connection = try await makeClient().connect(host: "127.0.0.1", port: try #require(server.port))
            await #expect(
                throws: TransportError.peerError(
                    code: .unexpectedMessage,
                    message: "CommandResult is not a request this peer answers"
                )
            ) {
                _ = try await connection.request(.commandResult(.ok()), timeout: .seconds(30))
            }
            await connection.close()
        }
    }

    /// A peer that pings and asks without ever reading the answers: the server stops reading from it once 64 KiB
    /// of answers are queued, closes it when it has taken none of them for a second, and serves everyone else
    /// meanwhile.
    @Test func aPeerThatNeverReadsIsHeldThenClosed() async throws {
        let logs = CapturedLogs()
        let configuration = WireConnectionConfiguration(
            maximumConcurrentRequests: 4,
            idleTimeout: nil,
            outboundBufferHighWatermark: 64 * 1024,
            outboundStallTimeout: .seconds(1)
        )
        // 64 KiB answers fill the socket buffers in few requests, pings answer themselves in the session handler.
        let large = CommandResult(code: .ok, message: "large", detail: String(repeating: "x", count: 65_536))
        let handler: WireServer.ConnectionHandler = { connection in
            try await connection.serveRequests { envelope in
                envelope.message == .statusRequest(StatusRequest()) ? .commandResult(large) : .commandResult(.ok())
            }
        }
        try await withServer(configuration: configuration, logger: logs.logger, handler: handler) { server in
            let port = try #require(server.port)
            var pings = ByteBuffer()
            for id in 1...2000 {
                let ping = Heartbeat(sequence: UInt64(id), timestampMilliseconds: 0)
                pings.writeBytes(encode(WireEnvelope(requestID: UInt32(id), message: .heartbeat(ping))))
            }
            for id in 2001...2010 {
                pings.writeBytes(encode(WireEnvelope(requestID: UInt32(id), message: .statusRequest(StatusRequest()))))
            }
            let flood = pings
            let flooding = Task {
                // About 62 MB of pings and 10,000 requests, never reading an answer. What the kernel takes of it sits in socket buffers;
                // the server holds at most what it has answered and could not send.
                try await rawChannel(port: port, receiveBuffer: 16 * 1024).executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(bytes: encode(WireEnvelope(message: .hello(makeHello())))))
                    // The Welcome, the last thing this peer reads.
                    var replies = inbound.makeAsyncIterator()
                    _ = try await replies.next()
                    for _ in 0..<1000 {
                        try await outbound.write(flood)
                    }
                }
            }
            defer { flooding.cancel() }

            // Served while the flood goes on.
            let wellFormed = try await makeClient().connect(host: "127.0.0.1", port: port)
            _ = try await wellFormed.ping(timeout: .seconds(20))
            let answer = try await wellFormed.request(.samplesRequest(SamplesRequest(vmName: "")), timeout: .seconds(20))
            #expect(answer == .commandResult(.ok()))

            let closing = await logs.waitFor("does not read what is sent to it", timeout: .seconds(90))
            let line = try #require(closing, "the server never closed the peer that does not read")
            let queued = Int(line.metadata["torpor.queued_bytes"].map { "\($0)" } ?? "") ?? .max
            #expect(queued < 4 << 20, "\(queued) bytes queued for a peer that reads nothing")
            flooding.cancel()
            _ = try await wellFormed.ping(timeout: .seconds(20))
            await wellFormed.close()
        }
    }
}

/// Opens once; everyone waiting, and everyone who comes later, goes on.
actor Latch {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}

/// Polls `condition` every 50 ms for up to `timeout`.
func eventually(timeout: Duration = .seconds(20), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}
