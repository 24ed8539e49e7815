import NIOCore
import Testing
import Wire

/// Every input in Fixtures/FuzzRegressions once broke an invariant of Fuzz/WireFuzz. Each is replayed through the
/// same checks: no crash, only WireErrors, and whatever decodes re-encodes to a frame that decodes to the same bytes.
@Suite struct FuzzRegressionTests {
    static func reencodingIsStable(_ message: WireMessage) throws -> Bool {
        let envelope = WireEnvelope(requestID: 1, message: message)
        var first = ByteBuffer()
        envelope.encode(into: &first)
        var reader = first
        var decoder = WireMessageDecoder(maximumPayloadLength: .max)
        let decoded = try #require(try decoder.decode(buffer: &reader))
        var second = ByteBuffer()
        decoded.encode(into: &second)
        return first == second && reader.readableBytes == 0
    }

    @Test func everyRegressionInputIsHandled() throws {
        let inputs = try Fixture.all(in: "Fixtures/FuzzRegressions")
        #expect(!inputs.isEmpty)
        for (name, input) in inputs {
            // As a stream of frames.
            var stream = input
            var decoder = WireMessageDecoder()
            do {
                while let envelope = try decoder.decode(buffer: &stream) {
                    #expect(try Self.reencodingIsStable(envelope.message), "\(name)")
                }
            } catch {
                #expect(error is WireError, "\(name): \(error)")
            }
            // As the payload of every message type.
            for type in WireMessageType.allCases {
                guard let message = try? decodePayload(type, input) else { continue }
                #expect(try Self.reencodingIsStable(message), "\(name) as \(type)")
            }
        }
    }

    @Test func nanFloatPayloadRoundTripsBitForBit() throws {
        let input = try Fixture.bytes("nan-float-payload", subdirectory: "Fixtures/FuzzRegressions")
        guard case .monitoringReport(let report) = try decodePayload(.monitoringReport, input) else {
            Issue.record("not a report")
            return
        }
        let disk = try #require(report.vms.first?.diskReadBytesPerSecond)
        #expect(disk.isNaN)
        #expect(disk.bitPattern == 0xFFFE_FFFF)
        // NaN != NaN, so equality is the wrong check; the bytes are the right one.
        #expect(report != (try decodePayload(.monitoringReport, input)).monitoringReport)
        #expect(payloadBytes(.monitoringReport(report)) == input)
    }
}

extension WireMessage {
    fileprivate var monitoringReport: MonitoringReport? {
        if case .monitoringReport(let report) = self { return report }
        return nil
    }
}
