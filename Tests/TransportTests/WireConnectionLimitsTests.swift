import Logging
import NIOCore
import TestSupport
import Testing
import Transport
import Wire

/// What one connection may hold: idle time, requests at once, replies it leaves unread. Real sockets on 127.0.0.1.
@Suite(.timeLimit(.minutes(3))) struct WireConnectionLimitsTests {
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
        let started = Recorder<UInt32>()
        // Long enough that, on a loaded machine, the waiting connection's request reaches the server before its
        // idle clock (which starts at the handshake) runs out; the check below waits for it to arrive first.
        let configuration = WireConnectionConfiguration(handshakeTimeout: .seconds(60), idleTimeout: .seconds(3))
        try await withServer(
            configuration: configuration,
            logger: logs.logger,
            handler: Self.answering(after: slow, started: started)
        ) { server in
            let port = try #require(server.port)
            let waiting = try await makeClient().connect(host: "127.0.0.1", port: port)
            let answer = Task { try await waiting.request(.statusRequest(StatusRequest()), timeout: .seconds(60)) }
            _ = await started.wait(for: 1)
            let idle = try await makeClient().connect(host: "127.0.0.1", port: port)

            // The idle one goes; the one waiting for its answer stays, well past the idle timeout.
            #expect(await eventually { !idle.isOpen }, "the idle connection was never closed")
            let closing = try #require(logs.matching("closing an idle connection").first)
            #expect(closing.metadata["torpor.timeout"] == "3.0 seconds")
            try await Task.sleep(for: .seconds(4))
            #expect(waiting.isOpen)
            await slow.open()
            #expect(try await answer.value == .commandResult(.ok("answered 1")))
            // Answered, it is idle too.
            #expect(await eventually { !waiting.isOpen }, "the answered connection was never closed")
        }
    }

    @Test func aDiallerNeverClosesForIdleness() async throws {
        let configuration = WireConnectionConfiguration(handshakeTimeout: .seconds(60), idleTimeout: .milliseconds(200))
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
        let configuration = WireConnectionConfiguration(handshakeTimeout: .seconds(60), maximumConcurrentRequests: 2)
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

/// Polls `condition` every 50 ms for up to `timeout`, long: on a loaded machine the test process may wait seconds
/// for a thread.
func eventually(timeout: Duration = .seconds(60), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}
