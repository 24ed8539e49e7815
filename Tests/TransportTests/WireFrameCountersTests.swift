import CoreMetrics
import NIOCore
import Synchronization
import Testing
import Wire

@testable import Transport

/// The Wire traffic counters over real sockets: what a server counts for a well-behaved client and for garbage.
@Suite(.timeLimit(.minutes(5))) struct WireFrameCountersTests {
    @Test func countsFramesByTypeBothWaysAndDecodeErrorsByKind() async throws {
        let recorded = RecordingCounters()
        let counters = WireFrameCounters(factory: recorded)
        // Every series exists from the start, at zero.
        #expect(recorded.value("torpor_wire_frames_received_total", "type", "MonitoringReport") == 0)
        #expect(recorded.value("torpor_wire_decode_errors_total", "error", "absurd_count") == 0)

        let server = try await WireServer.bind(
            host: "127.0.0.1",
            port: 0,
            configuration: testConfiguration,
            frameCounters: counters,
            logger: testLogger,
            welcome: welcoming(),
            handler: drainInbound
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let port = try #require(server.port)
            let connection = try await makeClient().connect(host: "127.0.0.1", port: port)
            _ = try await connection.ping(timeout: .seconds(30))
            _ = try await connection.ping(timeout: .seconds(30))
            await connection.close()
            _ = try await rawExchange(port: port, sending: [0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0])
        }
        #expect(recorded.value("torpor_wire_frames_received_total", "type", "Hello") == 1)
        // Our two pings (and any heartbeat the client sends on its own).
        #expect(recorded.value("torpor_wire_frames_received_total", "type", "Heartbeat") ?? 0 >= 2)
        #expect(recorded.value("torpor_wire_frames_sent_total", "type", "Welcome") == 1)
        // The pongs, and the Error frame that answered the garbage.
        #expect(recorded.value("torpor_wire_frames_sent_total", "type", "Heartbeat") ?? 0 >= 2)
        #expect(recorded.value("torpor_wire_frames_sent_total", "type", "Error") == 1)
        #expect(recorded.value("torpor_wire_decode_errors_total", "error", "bad_magic") == 1)
        #expect(recorded.value("torpor_wire_frames_refused_total", "type", "Hello") == 0)
    }

    @Test(arguments: [
        (WireError.badMagic(1), "bad_magic"),
        (.unknownVersion(9, supported: 1...1), "unknown_version"),
        (.frameTooLarge(length: 10, maximum: 1), "frame_too_large"),
        (.unknownMessageType(0xEE), "unknown_message_type"),
        (.truncated(message: .hello, field: "x"), "truncated"),
        (.trailingBytes(message: .hello, count: 1), "trailing_bytes"),
        (.invalidUTF8(message: .hello, field: "x"), "invalid_utf8"),
        (.invalidValue(message: .hello, field: "x", value: 7), "invalid_value"),
        (.absurdCount(message: .hello, field: "x", count: 9, remainingBytes: 1), "absurd_count"),
        (.truncatedFrame(bufferedBytes: 3), "truncated_frame"),
        (.unexpectedMessage(.hello, state: "s"), "unexpected_message"),
        (.noCommonVersion(local: [1], remote: [2]), "no_common_version"),
    ])
    func everyDecodeErrorHasAKindOfItsOwn(error: WireError, kind: String) {
        #expect(WireFrameCounters.kind(of: error) == kind)
        #expect(WireFrameCounters.errorKinds.contains(kind))
    }
}

/// Counters kept in memory by label and dimensions; the other metric kinds record nothing.
private final class RecordingCounters: MetricsFactory, Sendable {
    private let counters = Mutex<[String: RecordingCounter]>([:])

    func value(_ label: String, _ dimension: String, _ value: String) -> Int64? {
        counters.withLock { $0["\(label){\(dimension)=\(value)}"] }?.total.load(ordering: .relaxed)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let key = "\(label){\(dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ","))}"
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = RecordingCounter()
            counters[key] = counter
            return counter
        }
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        NOOPMetricsHandler.instance
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

private final class RecordingCounter: CounterHandler, Sendable {
    let total = Atomic<Int64>(0)
    func increment(by amount: Int64) { total.add(amount, ordering: .relaxed) }
    func reset() { total.store(0, ordering: .relaxed) }
}
