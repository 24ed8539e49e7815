import NIOCore
import NIOPosix
import Synchronization
import Testing
import Transport
import Wire

/// `WakeupCoalescer` on real event loops: loops pause only while the load reaches the threshold, an engaged loop
/// still runs its work, and `stop()` ends the pausing. No wall-clock bound is asserted: the tests wait for counts.
@Suite(.timeLimit(.minutes(5))) struct WakeupCoalescerTests {
    /// Two loops; `minimumConnectionsPerLoop` 10, so the loops pause from a load of 20.
    private static let coalescing = WakeupCoalescing(window: .milliseconds(2), minimumConnectionsPerLoop: 10)

    @Test("below the threshold the loops only look at the load")
    func belowTheThresholdNoPause() async throws {
        try await withGroup { group in
            let coalescer = WakeupCoalescer.start(on: group, Self.coalescing) { 19 }
            defer { coalescer.stop() }
            // Each loop looks once at start and again every recheck interval.
            try await waitUntil { coalescer.turns >= 6 }
            #expect(coalescer.pauses == 0)
        }
    }

    @Test("at the threshold every loop pauses, and still runs what is submitted to it")
    func atTheThresholdLoopsPauseAndStillWork() async throws {
        try await withGroup { group in
            let coalescer = WakeupCoalescer.start(on: group, Self.coalescing) { 20 }
            defer { coalescer.stop() }
            try await waitUntil { coalescer.pauses >= 20 }
            for loop in group.makeIterator() {
                for value in 0..<20 {
                    #expect(try await loop.submit { value }.get() == value)
                }
            }
        }
    }

    @Test("pausing ends when the load drops, resumes when it rises, and ends for good at stop")
    func loadAndStopControlThePauses() async throws {
        try await withGroup { group in
            let load = Atomic<Int>(100)
            let coalescer = WakeupCoalescer.start(on: group, Self.coalescing) { load.load(ordering: .relaxed) }
            try await waitUntil { coalescer.pauses >= 10 }
            load.store(0, ordering: .relaxed)
            // A loop finishing its pause may take one more before it sees the load: count after it looked again.
            let turns = coalescer.turns
            try await waitUntil { coalescer.turns >= turns + 4 }
            let pausesWhenLow = coalescer.pauses
            let turnsWhenLow = coalescer.turns
            try await waitUntil { coalescer.turns >= turnsWhenLow + 4 }
            #expect(coalescer.pauses == pausesWhenLow)
            load.store(100, ordering: .relaxed)
            try await waitUntil { coalescer.pauses >= pausesWhenLow + 10 }
            coalescer.stop()
            // A turn already past its check finishes; one task on each loop after it means none is left running.
            for loop in group.makeIterator() { try await loop.submit {}.get() }
            let (stoppedTurns, stoppedPauses) = (coalescer.turns, coalescer.pauses)
            // Longer than the recheck interval: a loop that was only looking would have looked again.
            try await Task.sleep(for: .milliseconds(600))
            #expect(coalescer.turns == stoppedTurns)
            #expect(coalescer.pauses == stoppedPauses)
        }
    }

    @Test("no loop pauses while connections keep arriving, and pausing resumes once they stop")
    func arrivalsHoldThePauses() async throws {
        try await withGroup { group in
            let arrivals = Atomic<Int>(0)
            let arriving = Atomic<Bool>(true)
            // Every look at the arrivals finds a new one while `arriving`: handshakes under way.
            let coalescer = WakeupCoalescer.start(
                on: group,
                Self.coalescing,
                arrivals: {
                    guard arriving.load(ordering: .relaxed) else { return arrivals.load(ordering: .relaxed) }
                    return arrivals.add(1, ordering: .relaxed).newValue
                },
                load: { 100 }
            )
            defer { coalescer.stop() }
            try await waitUntil { coalescer.turns >= 8 }
            #expect(coalescer.pauses == 0)
            arriving.store(false, ordering: .relaxed)
            try await waitUntil { coalescer.pauses >= 10 }
        }
    }

    @Test("a WireServer asked to coalesce pauses once enough peers are connected, and requests are still answered")
    func wireServerCoalesces() async throws {
        try await withGroup(loops: 1) { group in
            let server = try await WireServer.bind(
                host: "127.0.0.1",
                port: 0,
                configuration: testConfiguration,
                eventLoopGroup: group,
                wakeupCoalescing: WakeupCoalescing(window: .milliseconds(2), minimumConnectionsPerLoop: 2),
                logger: testLogger,
                welcome: welcoming(),
                handler: { connection in
                    for try await envelope in connection.inbound where envelope.requestID != 0 {
                        try await connection.reply(to: envelope.requestID, with: .commandResult(.ok()))
                    }
                }
            )
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await server.run() }
                defer { tasks.cancelAll() }
                let first = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
                _ = try await first.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
                // One peer: below the threshold.
                #expect(server.wakeupPauses == 0)
                let second = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
                try await waitUntil { server.wakeupPauses >= 5 }
                for _ in 0..<10 {
                    for connection in [first, second] {
                        let reply = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
                        #expect(reply == .commandResult(.ok()))
                    }
                }
                await first.close()
                await second.close()
            }
        }
    }

    private func withGroup(loops: Int = 2, _ body: (MultiThreadedEventLoopGroup) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        do {
            try await body(group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }
}
