import ArgumentParser
import Foundation
import Testing
import Wire

@testable import TorporCLI

/// `torpor events --follow`: its lines, text and JSON, and its options.
struct EventsOutputTests {
    static let notice = EventNotice(
        sequence: 42,
        timeUnixMilliseconds: 1_764_633_600_250,
        exchange: .management,
        routingKey: "m.h1.web-1.START",
        eventType: "START",
        status: .processed,
        message: #"{"status":"RUNNING"}"#
    )

    @Test func aTextLineIsTimeSequenceExchangeTypeStatusAndRoutingKey() {
        #expect(
            EventsCommand.textLine(Self.notice)
                == "2025-12-02T00:00:00.250Z #42 management START PROCESSED m.h1.web-1.START"
        )
        var system = Self.notice
        system.exchange = .system
        system.status = .none
        system.eventType = "LC_JOIN"
        system.routingKey = "groupmanager.m"
        system.droppedBefore = 7
        #expect(
            EventsCommand.textLine(system)
                == "(7 events dropped: reading too slowly)\n2025-12-02T00:00:00.250Z #42 system LC_JOIN groupmanager.m"
        )
    }

    @Test func aJSONLineHasTheFieldsOfTheSSEDataWithTheMessageAsAnObject() throws {
        let line = EventsCommand.jsonLine(Self.notice)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["eventType"] as? String == "START" && object["status"] as? String == "PROCESSED")
        #expect(object["exchange"] as? String == "management" && object["routingKey"] as? String == "m.h1.web-1.START")
        #expect(object["sequence"] as? Int == 42 && object["time"] as? String == "2025-12-02T00:00:00.250Z")
        #expect((object["message"] as? [String: Any])?["status"] as? String == "RUNNING")
        #expect(object["droppedBefore"] == nil)
        var failed = Self.notice
        failed.exchange = .system
        failed.status = .none
        failed.message = #""host-2""#
        failed.droppedBefore = 2
        let failure = try #require(
            try JSONSerialization.jsonObject(with: Data(EventsCommand.jsonLine(failed).utf8)) as? [String: Any]
        )
        #expect(failure["message"] as? String == "host-2" && failure["status"] == nil)
        #expect(failure["droppedBefore"] as? Int == 2)
    }

    @Test func followIsRequiredAndExchangesAreChecked() throws {
        #expect(throws: (any Error).self) { try EventsCommand.parse([]) }
        #expect(throws: (any Error).self) { try EventsCommand.parse(["--follow", "--exchange", "billing"]) }
        let command = try EventsCommand.parse(["--follow", "--exchange", "system", "--exchange", "management"])
        #expect(try EventsCommand.exchanges(command.exchange) == [.system, .management])
        #expect(try EventsCommand.exchanges([]) == .all)
    }
}
