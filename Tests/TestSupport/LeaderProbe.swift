import Foundation
import NIOCore
import Synchronization
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Times a failover from a thread of its own, with blocking sockets: which manager serves a status request, and
/// from when. The test process's cooperative pool can be busy with other tests for a minute at a time on 2 cores;
/// a measurement taken there would time the test process, not the failover.
///
/// Every round (100 ms apart) it dials each manager address, says Hello as a control client and sends a
/// ManagerStatusRequest: the manager whose Welcome names a node other than `excluded` and who answers with a
/// status reply is the new leader; the instant that reply arrived is kept. A standby refuses the request, the
/// killed manager refuses the connection.
public final class LeaderProbe: Sendable {
    public struct Found: Sendable {
        public var nodeName: String
        public var at: ContinuousClock.Instant
    }

    private let state = Mutex<(found: Found?, stopped: Bool)>((nil, false))
    private let ports: [Int]
    private let excluded: String

    public init(ports: [Int], excluding excluded: String) {
        self.ports = ports
        self.excluded = excluded
    }

    /// Starts probing on a new thread until a new leader serves, `stop()`, or `deadline`.
    public func start(until deadline: ContinuousClock.Instant) {
        let thread = Thread { [self] in
            while ContinuousClock.now < deadline, !state.withLock({ $0.stopped || $0.found != nil }) {
                for port in ports {
                    if let name = Self.servingNode(port: port), name != excluded {
                        let found = Found(nodeName: name, at: .now)
                        state.withLock { if $0.found == nil { $0.found = found } }
                        return
                    }
                }
                usleep(100_000)
            }
        }
        thread.name = "leader-probe"
        thread.start()
    }

    public func stop() { state.withLock { $0.stopped = true } }

    public var found: Found? { state.withLock { $0.found } }

    /// Waits (on the cooperative pool, late is harmless: the instant was taken on the probe's thread).
    public func waitForLeader(until deadline: ContinuousClock.Instant) async -> Found? {
        while ContinuousClock.now < deadline {
            if let found { return found }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return found
    }

    /// The node name of the manager on `port` if it answers a status request, else nil. Blocks up to ~4 s.
    public static func servingNode(port: Int) -> String? {
        guard let fd = LoopbackSocket.connect(port: port, timeoutSeconds: 2) else { return nil }
        defer { close(fd) }
        let hello = Hello(role: .control, softwareVersion: "test", nodeName: "leader-probe")
        guard send(fd, WireEnvelope(version: WireVersion.v1, message: .hello(hello))) else { return nil }
        var decoder = WireMessageDecoder()
        var received = ByteBuffer()
        var node: String?
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            while let envelope = try? decoder.decode(buffer: &received) {
                switch envelope.message {
                case .welcome(let welcome):
                    node = welcome.nodeName
                    let request = WireEnvelope(
                        version: welcome.version,
                        requestID: 1,
                        message: .managerStatusRequest(ManagerStatusRequest(page: HostPageRequest()))
                    )
                    guard send(fd, request) else { return nil }
                case .managerStatusReply where envelope.requestID == 1:
                    return node
                case .error:
                    return nil
                default:
                    continue
                }
            }
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }  // closed, reset or timed out
            received.writeBytes(chunk[0..<count])
        }
    }

    private static func send(_ fd: Int32, _ envelope: WireEnvelope) -> Bool {
        var buffer = ByteBuffer()
        envelope.encode(into: &buffer)
        let bytes = Array(buffer.readableBytesView)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }
}
