import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing
import Wire

/// The real `torpor-manager` under peers that would exhaust it: more connections than it has descriptors for, and
/// a peer that asks without ever reading the answers. It stays up and keeps serving `agentctl manager`.
@Suite(
    .serialized,
    .timeLimit(.minutes(6)),
    .enabled(
        if: ProcessRunner.resolve("prlimit") != nil,
        "needs prlimit (util-linux) to start the manager at a low descriptor limit"
    )
)
struct ManagerExhaustionTests {
    /// A manager on 127.0.0.1 with `connections:` settings, under `prlimit` when `descriptors` is given.
    final class Manager: Sendable {
        let process: BackgroundProcess
        let address: String
        let port: Int
        let directory: URL

        init(connections: String, descriptors: Int? = nil) throws {
            directory = try ProcessRunner.scratchDirectory(prefix: "torpor-manager-exhaustion")
            let config = directory.appendingPathComponent("manager.yaml")
            try "heartbeat_interval: 1s\nheartbeat_timeout: 2s\nconnections:\n\(connections)".write(
                to: config,
                atomically: true,
                encoding: .utf8
            )
            port = try AgentUnderTest.freePort()
            address = "127.0.0.1:\(port)"
            var argv = [
                try KVMLab.product("torpor-manager"), "--config", config.path, "--listen", address, "--log", "stderr",
                "--database", directory.appendingPathComponent("manager.sqlite").path,
            ]
            if let descriptors { argv = ["prlimit", "--nofile=\(descriptors):\(descriptors)", "--"] + argv }
            process = try BackgroundProcess(
                argv,
                stdout: directory.appendingPathComponent("manager.stdout"),
                stderr: directory.appendingPathComponent("manager.stderr")
            )
        }

        deinit {
            process.kill()
            try? FileManager.default.removeItem(at: directory)
        }

        /// `agentctl manager --json`; nil when it failed.
        func status() async throws -> ProcessOutput {
            try await ProcessRunner.run(
                [try KVMLab.product("agentctl"), "manager", "--manager", address, "--json", "--timeout", "5"],
                timeout: .seconds(30)
            )
        }

        /// Retries `agentctl manager` until it succeeds, the manager dies, or `timeout` passes.
        func eventuallyServed(timeout: Duration) async throws -> (served: Bool, tries: Int, last: String) {
            let deadline = ContinuousClock.now + timeout
            var tries = 0
            var last = ""
            while ContinuousClock.now < deadline, process.isRunning {
                tries += 1
                let output = try await status()
                if output.succeeded { return (true, tries, output.stdout) }
                last = output.description
                try await Task.sleep(for: .milliseconds(200))
            }
            return (false, tries, last)
        }

        /// The resident set in bytes, from /proc.
        var residentBytes: Int? {
            guard let status = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
            else { return nil }
            return kilobytes * 1024
        }
    }

    @Test func atALowDescriptorLimitTheManagerStaysUpAndServes() async throws {
        // 256 descriptors, 128 kept in reserve: 112 served connections, and 600 peers that say Hello then nothing.
        let manager = try Manager(connections: "  idle_timeout: 3s\n", descriptors: 256)
        let first = try await manager.eventuallyServed(timeout: .seconds(60))
        try #require(first.served, "the manager never answered:\n\(first.last)\n--- manager\n\(manager.process.stderr)")

        let hello = Self.helloFrame()
        let idle = await Self.connect(600, port: manager.port, sending: hello)
        defer { for channel in idle { channel.close(promise: nil) } }
        #expect(idle.count > 256, "only \(idle.count) connections were made: the limit was never reached")

        let served = try await manager.eventuallyServed(timeout: .seconds(90))
        let log = manager.process.stderr
        #expect(
            served.served,
            "agentctl was never served (\(served.tries) tries):\n\(served.last)\n--- manager\n\(log)"
        )
        #expect(manager.process.isRunning, "the manager died: \(manager.process.exitStatus ?? -1)\n\(log)")
        #expect(log.contains("not accepting connections") || log.contains("refusing connections"), "\(log)")
        #expect(log.contains("closing an idle connection"), "\(log)")

        // Once the crowd is gone it serves at the first try.
        for channel in idle { channel.close(promise: nil) }
        let after = try await manager.eventuallyServed(timeout: .seconds(60))
        #expect(after.served && manager.process.isRunning, "\(after.last)\n--- manager\n\(manager.process.stderr)")
    }

    @Test func aPeerThatNeverReadsItsAnswersIsClosedAndMemoryStaysBounded() async throws {
        let manager = try Manager(connections: "  send_buffer_limit: 65536\n  send_stall_timeout: 2s\n")
        let first = try await manager.eventuallyServed(timeout: .seconds(60))
        try #require(first.served, "the manager never answered:\n\(first.last)\n--- manager\n\(manager.process.stderr)")
        let before = try #require(manager.residentBytes)

        // 200,000 ManagerStatusRequests (3 MB), answers never read.
        var requests = ByteBuffer()
        for id in 1...20_000 {
            WireEnvelope(requestID: UInt32(id), message: .managerStatusRequest(ManagerStatusRequest())).encode(
                into: &requests
            )
        }
        let batch = requests
        let flooder = try await Self.connectReadingOnlyTheWelcome(port: manager.port)
        let flooding = Task {
            for _ in 0..<10 { try await flooder.writeAndFlush(batch).get() }
        }
        defer { flooding.cancel() }

        let served = try await manager.eventuallyServed(timeout: .seconds(60))
        #expect(served.served, "agentctl was not served during the flood:\n\(served.last)")
        let closed = await Self.eventually(timeout: .seconds(180)) {
            manager.process.stderr.contains("does not read what is sent to it")
        }
        #expect(closed, "the manager kept the peer that reads nothing:\n\(manager.process.stderr.suffix(20_000))")
        let after = try #require(manager.residentBytes)
        #expect(after - before < 150 << 20, "resident memory grew from \(before) to \(after) bytes")
        #expect(manager.process.isRunning)
    }

    static func helloFrame() -> ByteBuffer {
        let hello = Hello(
            supportedVersions: Array(WireVersion.supported),
            role: .control,
            softwareVersion: "0.0.0-test",
            nodeName: "crowd"
        )
        var buffer = ByteBuffer()
        WireEnvelope(version: WireVersion.v1, message: .hello(hello)).encode(into: &buffer)
        return buffer
    }

    /// Up to `count` raw TCP connections that send `bytes` and then nothing; those the kernel does not take within
    /// 5 s (its backlog is full) are left out.
    /// `count` connections that each send `bytes`, as many as can be made: connects that time out (a loaded machine
    /// whose listener's backlog is full drops SYNs) are tried again, up to five rounds.
    static func connect(_ count: Int, port: Int, sending bytes: ByteBuffer) async -> [any Channel] {
        var channels: [any Channel] = []
        for _ in 0..<5 where channels.count < count {
            channels += await connectOnce(count - channels.count, port: port, sending: bytes)
        }
        return channels
    }

    private static func connectOnce(_ count: Int, port: Int, sending bytes: ByteBuffer) async -> [any Channel] {
        await withTaskGroup(of: (any Channel)?.self) { group in
            for _ in 0..<count {
                group.addTask {
                    guard
                        let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                            .connectTimeout(.seconds(5))
                            .connect(host: "127.0.0.1", port: port)
                            .get()
                    else { return nil }
                    try? await channel.writeAndFlush(bytes).get()
                    return channel
                }
            }
            var channels: [any Channel] = []
            for await channel in group {
                if let channel { channels.append(channel) }
            }
            return channels
        }
    }

    /// A raw connection that says Hello, reads the Welcome, and then never reads again.
    static func connectReadingOnlyTheWelcome(port: Int) async throws -> any Channel {
        let welcomed = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Void.self)
        // A small receive window: the manager's socket fills after kilobytes instead of megabytes, so on a loaded
        // machine its stall shows in seconds rather than after minutes of answering refused requests one by one.
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StopReadingAfterFirstRead(promise: welcomed))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        try await channel.writeAndFlush(helloFrame()).get()
        try await welcomed.futureResult.get()
        return channel
    }

    static func eventually(timeout: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }
}

/// Turns reading off after the first bytes arrive (the Welcome), so everything after stays unread.
private final class StopReadingAfterFirstRead: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        _ = context.channel.setOption(.autoRead, value: false)
        promise.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}
