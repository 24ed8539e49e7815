import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import Transport
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Raises this process's soft descriptor limit to the hard one; true when `needed` descriptors fit under it.
func descriptorsAvailable(_ needed: Int) -> Bool {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0 else { return false }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }
    return (WireServerLimits.processDescriptorLimit() ?? .max) >= needed
}

/// Peers that would exhaust a server, one test at a time (each loads the machine): thousands that say Hello and then
/// nothing, one that sends a frame a byte at a time, one that never reads what it is sent. A well-formed client is
/// still served, and the server closes the others.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CrowdedServerTests {
    @Test(.enabled(if: descriptorsAvailable(12_000), "needs 12,000 descriptors: both ends of 5,000 connections"))
    func idlePeersAndASlowLorisDoNotStopAWellFormedClient() async throws {
        let idleCount = 5_000
        let configuration = WireConnectionConfiguration(idleTimeout: .seconds(20))
        let ended = Counter()
        let handler: WireServer.ConnectionHandler = { connection in
            defer { ended.increment() }
            try await connection.serveRequests { _ in .commandResult(.ok("served")) }
        }
        let limits = WireServerLimits(maximumConnections: 8_000)
        try await withServer(configuration: configuration, limits: limits, handler: handler) { server in
            let port = try #require(server.port)
            var hello = ByteBuffer()
            WireEnvelope(message: .hello(makeHello(node: "idle"))).encode(into: &hello)
            let idle = try await Self.connect(idleCount, port: port, sending: hello)
            defer { for channel in idle { channel.close(promise: nil) } }

            // The slow loris: Hello, then a ping one byte at a time, slower than the idle timeout allows.
            let loris = try await Self.connect(1, port: port, sending: hello)[0]
            let ping = ByteBuffer(
                bytes: encode(WireEnvelope(requestID: 1, message: .heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0))))
            )
            let dripping = Task {
                for byte in ping.readableBytesView {
                    try await loris.writeAndFlush(ByteBuffer(bytes: [byte])).get()
                    try await Task.sleep(for: .seconds(1))
                }
            }
            defer { dripping.cancel() }

            let client = try await makeClient().connect(host: "127.0.0.1", port: port)
            #expect(ended.value < idleCount, "the idle peers were closed before the client came: nothing was tested")
            _ = try await client.ping(timeout: .seconds(30))
            let reply = try await client.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
            #expect(reply == .commandResult(.ok("served")))
            await client.close()

            // The idle peers and the slow loris, who never completed a frame, are closed by the server.
            let idleClosed = await eventually(timeout: .seconds(90)) { idle.allSatisfy { !$0.isActive } }
            #expect(idleClosed, "\(idle.filter(\.isActive).count) idle peers still connected")
            #expect(await eventually(timeout: .seconds(30)) { !loris.isActive }, "the slow loris is still connected")
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
        // Its own event loop: what it measures must not depend on what other tests do on the shared ones.
        let serverLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let outcome: Result<Void, any Error>
        do {
            try await floodServer(on: serverLoops)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        try await serverLoops.shutdownGracefully()
        try outcome.get()

        func floodServer(on serverLoops: MultiThreadedEventLoopGroup) async throws {
        try await withServer(
            configuration: configuration,
            eventLoopGroup: serverLoops,
            logger: logs.logger,
            handler: handler
        ) { server in
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
            let progress = Recorder<String>()
            let flooding = Task {
                // About 62 MB of pings and 10,000 requests, never reading an answer. What the kernel takes of it sits
                // in socket buffers; the server holds at most what it has answered and could not send.
                do {
                    try await rawChannel(port: port, receiveBuffer: 16 * 1024).executeThenClose { inbound, outbound in
                        try await outbound.write(ByteBuffer(bytes: encode(WireEnvelope(message: .hello(makeHello())))))
                        // The Welcome, the last thing this peer reads.
                        var replies = inbound.makeAsyncIterator()
                        _ = try await replies.next()
                        await progress.record("welcomed")
                        for _ in 0..<1000 {
                            try await outbound.write(flood)
                        }
                        await progress.record("wrote everything")
                    }
                } catch {
                    await progress.record("\(error)")
                }
            }
            defer { flooding.cancel() }

            // Served while the flood goes on.
            let wellFormed = try await makeClient().connect(host: "127.0.0.1", port: port)
            _ = try await wellFormed.ping(timeout: .seconds(20))
            let answer = try await wellFormed.request(.samplesRequest(SamplesRequest(vmName: "")), timeout: .seconds(20))
            #expect(answer == .commandResult(.ok()))

            let closing = await logs.waitFor("does not read what is sent to it", timeout: .seconds(90))
            let peer = await progress.values
            let line = try #require(closing, "the server never closed the peer that does not read; the peer: \(peer)")
            let queued = Int(line.metadata["torpor.queued_bytes"].map { "\($0)" } ?? "") ?? .max
            #expect(queued < 4 << 20, "\(queued) bytes queued for a peer that reads nothing")
            flooding.cancel()
            _ = try await wellFormed.ping(timeout: .seconds(20))
            await wellFormed.close()
        }
        }
    }

    /// `count` raw TCP connections that each send `bytes` and then nothing; a few hundred dial at a time.
    static func connect(_ count: Int, port: Int, sending bytes: ByteBuffer) async throws -> [any Channel] {
        var channels: [any Channel] = []
        for start in stride(from: 0, to: count, by: 250) {
            try await withThrowingTaskGroup(of: (any Channel).self) { group in
                for _ in start..<min(count, start + 250) {
                    group.addTask {
                        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                            .connectTimeout(.seconds(30))
                            .connect(host: "127.0.0.1", port: port)
                            .get()
                        try await channel.writeAndFlush(bytes).get()
                        return channel
                    }
                }
                for try await channel in group { channels.append(channel) }
            }
        }
        return channels
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}
