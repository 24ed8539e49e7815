import NIOCore
import Testing
import Wire

/// EventSubscription (0x48) and EventNotice (0x49): round trips, their bytes, and what a decoder refuses.
@Suite struct EventMessagesTests {
    static let notice = EventNotice(
        sequence: .max,
        timeUnixMilliseconds: 1,
        exchange: .system,
        routingKey: "groupmanager.\(Samples.unicodeName)",
        eventType: "LC_JOIN",
        message: #"{"id":"\#(Samples.unicodeName)"}"# + String(repeating: " ", count: 70_000)
    )

    @Test func roundTrip() throws {
        try expectRoundTrip(.eventSubscription(EventSubscription()), requestID: 1)
        try expectRoundTrip(.eventSubscription(EventSubscription(exchanges: .management, bufferEvents: .max)), requestID: 2)
        try expectRoundTrip(.eventNotice(Self.notice), requestID: 0)
        for status in EventNotice.Status.allCases {
            var notice = Self.notice
            notice.status = status
            notice.exchange = .management
            try expectRoundTrip(.eventNotice(notice), requestID: 0)
        }
    }

    @Test func typeBytesAndNames() {
        #expect(WireMessageType.eventSubscription.rawValue == 0x48)
        #expect(WireMessageType.eventSubscription.description == "EventSubscription")
        #expect(WireMessageType.eventNotice.rawValue == 0x49)
        #expect(WireMessageType.eventNotice.description == "EventNotice")
    }

    @Test(arguments: ["00 00000000 0000", "08 00000000 0000", "ff 00000000 0000"])
    func noExchangeOrAnUnknownOneIsRefused(_ bytes: String) {
        #expect(throws: WireError.self) { try decodePayload(.eventSubscription, hexBytes(bytes)) }
    }

    @Test func unknownExchangeAndStatusAreRefused() {
        var bytes = payloadBytes(.eventNotice(Self.notice))
        bytes.setInteger(UInt8(9), at: 16)
        #expect(throws: WireError.invalidValue(message: .eventNotice, field: "exchange", value: 9)) {
            try decodePayload(.eventNotice, bytes)
        }
    }

    @Test func everyPrefixIsRejected() throws {
        for golden in [Samples.goldenEventSubscription, Samples.goldenEventNotice] {
            let payload = payloadBytes(golden.message)
            for length in 0..<payload.readableBytes {
                #expect(throws: WireError.self, "\(golden.message.type): prefix of \(length) bytes") {
                    try decodePayload(golden.message.type, payload.prefix(length))
                }
            }
        }
    }

    @Test func trailingBytesAreRejected() {
        for message in [Samples.goldenEventSubscription.message, Samples.goldenEventNotice.message] {
            var payload = payloadBytes(message)
            payload.writeInteger(UInt8(0))
            #expect(throws: WireError.trailingBytes(message: message.type, count: 1)) {
                try decodePayload(message.type, payload)
            }
        }
    }
}
