import Logging
import NIOCore
import NIOPosix
import TestSupport
import Transport
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Silent unless TORPOR_TEST_LOG is set, then everything goes to stderr.
let testLogger: Logger = {
    if getenv("TORPOR_TEST_LOG") != nil {
        var logger = Logger(label: "torpor.transport.tests", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .trace
        return logger
    }
    return Logger(label: "torpor.transport.tests", factory: { _ in SwiftLogNoOpLogHandler() })
}()

extension CapturedLogs {
    /// Echoed to stderr with `testLogger` when TORPOR_TEST_LOG is set.
    convenience init() { self.init(label: "torpor.transport.tests", echo: testLogger) }
}

func makeHello(node: String = "test-client", versions: [UInt8] = Array(WireVersion.supported)) -> Hello {
    Hello(supportedVersions: versions, role: .control, softwareVersion: "0.0.0-test", nodeName: node)
}

func makeClient(
    hello: Hello = makeHello(),
    configuration: WireConnectionConfiguration = testConfiguration
) -> WireClient {
    WireClient(hello: hello, connectTimeout: .seconds(30), configuration: configuration, logger: testLogger)
}

/// The defaults, but with a handshake timeout that a test process sharing 2 loaded cores with hundreds of other
/// tests still meets (the default 10 s was missed under load); tests of the handshake timeout set their own.
let testConfiguration: WireConnectionConfiguration = {
    var configuration = WireConnectionConfiguration()
    configuration.handshakeTimeout = .seconds(60)
    return configuration
}()

/// A Welcome from a server calling itself `node`.
func welcoming(as node: String = "test-server") -> WireServer.WelcomeProvider {
    { _, version in
        Welcome(version: version, role: .agent, softwareVersion: "0.0.0-test", nodeName: node)
    }
}

/// Binds a server on 127.0.0.1 (port 0 unless given), runs it while `body` runs, then cancels it.
@discardableResult
func withServer<Result: Sendable>(
    port: Int = 0,
    configuration: WireConnectionConfiguration = testConfiguration,
    limits: WireServerLimits = WireServerLimits(),
    eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
    logger: Logger = testLogger,
    welcome: @escaping WireServer.WelcomeProvider = welcoming(),
    handler: @escaping WireServer.ConnectionHandler,
    _ body: (WireServer) async throws -> Result
) async throws -> Result {
    let server = try await WireServer.bind(
        host: "127.0.0.1",
        port: port,
        configuration: configuration,
        limits: limits,
        eventLoopGroup: eventLoopGroup,
        logger: logger,
        welcome: welcome,
        handler: handler
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        defer { group.cancelAll() }
        return try await body(server)
    }
}

/// A server handler that reads its inbound until the connection ends.
let drainInbound: WireServer.ConnectionHandler = { connection in
    for try await _ in connection.inbound {}
}

/// A plain TCP connection that knows nothing of Wire; finishing its outbound closes only the sending side.
/// `receiveBuffer` sets SO_RCVBUF (a small one fills soon when the test stops reading).
func rawChannel(port: Int, receiveBuffer: Int? = nil) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
    var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    if let receiveBuffer {
        bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
    }
    return
        try await bootstrap
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(isOutboundHalfClosureEnabled: true)
                )
            }
        }
}

/// Writes `bytes` on a raw connection and collects everything the server sends until it closes.
func rawExchange(port: Int, sending bytes: [UInt8]) async throws -> ByteBuffer {
    try await rawChannel(port: port).executeThenClose { inbound, outbound in
        if !bytes.isEmpty {
            try await outbound.write(ByteBuffer(bytes: bytes))
        }
        var received = ByteBuffer()
        do {
            for try await chunk in inbound {
                received.writeImmutableBuffer(chunk)
            }
        } catch {
            // A reset after the server's last frame still leaves us what it sent.
        }
        return received
    }
}

/// Decodes every complete frame in `buffer`.
func decodeEnvelopes(_ buffer: ByteBuffer) throws -> [WireEnvelope] {
    var buffer = buffer
    var decoder = WireMessageDecoder()
    var envelopes: [WireEnvelope] = []
    while let envelope = try decoder.decode(buffer: &buffer) {
        envelopes.append(envelope)
    }
    return envelopes
}

func encode(_ envelope: WireEnvelope) -> [UInt8] {
    var buffer = ByteBuffer()
    envelope.encode(into: &buffer)
    return Array(buffer.readableBytesView)
}

/// Collects values from concurrent tasks for a test to wait on.
actor Recorder<Value: Sendable> {
    private(set) var values: [Value] = []
    private var waiters: [(count: Int, continuation: CheckedContinuation<[Value], Never>)] = []

    func record(_ value: Value) {
        values.append(value)
        let ready = waiters.filter { $0.count <= values.count }
        waiters.removeAll { $0.count <= values.count }
        for waiter in ready {
            waiter.continuation.resume(returning: values)
        }
    }

    /// Waits until at least `count` values were recorded.
    func wait(for count: Int) async -> [Value] {
        if values.count >= count { return values }
        return await withCheckedContinuation { waiters.append((count, $0)) }
    }
}

/// A listening TCP socket on 127.0.0.1 made without NIO, as systemd would pass one in.
func makeListeningSocket() throws -> (descriptor: CInt, port: Int) {
    #if canImport(Glibc)
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let descriptor = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard descriptor >= 0 else { throw SocketSetupError(step: "socket", errno: errno) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw SocketSetupError(step: "bind", errno: errno) }
    guard listen(descriptor, 16) == 0 else { throw SocketSetupError(step: "listen", errno: errno) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { throw SocketSetupError(step: "getsockname", errno: errno) }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}

/// A server bound to the first free port of 16000-16999 (other suites keep 10000-15999 and 18000-32000), for a test
/// that binds the same port again after stopping it: no outgoing connection takes a port below the kernel's
/// ephemeral range (32768 and up) meanwhile.
func bindBelowTheEphemeralRange(_ bind: (Int) async throws -> WireServer) async throws -> WireServer {
    let range = 16000..<17000
    let start = range.lowerBound + Int(getpid() % Int32(range.count))
    var lastError: (any Error)?
    for offset in 0..<range.count {
        do {
            return try await bind(range.lowerBound + (start - range.lowerBound + offset) % range.count)
        } catch {
            lastError = error
        }
    }
    throw lastError ?? SocketSetupError(step: "bind", errno: EADDRINUSE)
}

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
func unusedPort() throws -> Int {
    let (descriptor, port) = try makeListeningSocket()
    close(descriptor)
    return port
}

struct SocketSetupError: Error {
    var step: String
    var errno: CInt
}
