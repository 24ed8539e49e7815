import Logging
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
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
/// nothing, and one that sends a frame a byte at a time. A well-formed client is still served, and the server closes
/// the others. (A peer that never reads is ManagerExhaustionTests', against the real manager.)
/// Alone the test takes ~40 s; beside the rest of the suite on 2 cores it took 190–280 s, so its limit is above the
/// sum of its own bounded waits (dialling, 150 + 30 + 30 s for the client, 90 + 30 s for the closes).
@Suite(.serialized, .timeLimit(.minutes(8)))
struct CrowdedServerTests {
    @Test(.enabled(if: descriptorsAvailable(12_000), "needs 12,000 descriptors: both ends of 5,000 connections"))
    func idlePeersAndASlowLorisDoNotStopAWellFormedClient() async throws {
        // Thousands of connections: their work stays off the cooperative pool the other tests wait on.
        try await withTaskExecutorPreference(DedicatedThreadsExecutor.shared) {
            let idleCount = 5_000
            // The server's handshake timeout runs from accept; a dialler whose Hello waited over the default 10 s for
            // this process's busy pool was closed before it wrote ("I/O on closed channel", twice beside the suite).
            // The handshake timeout has tests of its own; here only the idle peers' timeout matters.
            var configuration = WireConnectionConfiguration(idleTimeout: .seconds(20))
            configuration.handshakeTimeout = .seconds(60)
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
                    bytes: encode(
                        WireEnvelope(
                            requestID: 1,
                            message: .heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0))
                        )
                    )
                )
                let dripping = Task {
                    for byte in ping.readableBytesView {
                        try await loris.writeAndFlush(ByteBuffer(bytes: [byte])).get()
                        try await Task.sleep(for: .seconds(1))
                    }
                }
                defer { dripping.cancel() }

                // Served is the point, not how fast: a loaded run once took over 60 s to welcome it among the
                // 5,000 (a test process of 2 cores, other suites and `yes` beside).
                let patient = WireConnectionConfiguration(handshakeTimeout: .seconds(150))
                let client = try await makeClient(configuration: patient).connect(host: "127.0.0.1", port: port)
                #expect(
                    ended.value < idleCount,
                    "the idle peers were closed before the client came: nothing was tested"
                )
                _ = try await client.ping(timeout: .seconds(30))
                let reply = try await client.request(.statusRequest(StatusRequest()), timeout: .seconds(30))
                #expect(reply == .commandResult(.ok("served")))
                await client.close()

                // The idle peers and the slow loris, who never completed a frame, are closed by the server.
                let idleClosed = await eventually(timeout: .seconds(90)) { idle.allSatisfy { !$0.isActive } }
                #expect(idleClosed, "\(idle.filter(\.isActive).count) idle peers still connected")
                #expect(
                    await eventually(timeout: .seconds(30)) { !loris.isActive },
                    "the slow loris is still connected"
                )
            }
        }
    }

    /// `count` raw TCP connections that each send `bytes` and then nothing; a few hundred dial at a time. A SYN the
    /// kernel dropped is retried after 1, 3, 7, 15 and 31 s, so the timeout leaves room for five retries.
    static func connect(_ count: Int, port: Int, sending bytes: ByteBuffer) async throws -> [any Channel] {
        var channels: [any Channel] = []
        for start in stride(from: 0, to: count, by: 250) {
            try await withThrowingTaskGroup(of: (any Channel).self) { group in
                for _ in start..<min(count, start + 250) {
                    group.addTask {
                        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                            .connectTimeout(.seconds(70))
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
