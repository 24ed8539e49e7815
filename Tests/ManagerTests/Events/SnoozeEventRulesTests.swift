import Foundation
import Testing

@testable import Manager

/// Which Snooze event a manager step is, with Snooze's routing keys and bodies (seed 001, "RabbitMQ message format").
struct SnoozeEventRulesTests {
    @Test(arguments: [
        ("start", SnoozeEventRules.Action?.some(.start)), ("suspend", .suspend), ("resume", .resume),
        ("shutdown", .shutdown), ("destroy", .destroy), ("remove", .destroy), ("undefine", .destroy),
        ("migrate", .migrate), ("reboot", nil), ("define", nil), ("add", nil),
    ])
    func taskKindsAreSnoozeActions(_ kind: String, _ action: SnoozeEventRules.Action?) {
        #expect(SnoozeEventRules.action(ofTaskKind: kind) == action)
    }

    @Test(arguments: [
        (StoredTask.Outcome.State.done, ManagerEvent.Status.processed), (.failed, .error), (.unplaced, .error),
        (.pending, .error), (.inProgress, .error),
    ])
    func finishedOutcomesAreProcessedOrError(_ state: StoredTask.Outcome.State, _ status: ManagerEvent.Status) {
        #expect(SnoozeEventRules.status(ofFinished: state) == status)
    }

    @Test(arguments: [
        (SnoozeEventRules.SystemEvent.groupLeaderJoined, "groupleader"), (.groupManagerJoined, "groupleader"),
        (.groupManagerFailed, "groupleader"), (.localControllerJoined, "groupmanager.gm-1"),
        (.localControllerFailed, "groupmanager.gm-1"), (.localControllerAnomaly, "groupmanager.gm-1"),
        (.reconfiguration, "groupmanager.gm-1"),
    ])
    func systemRoutingKeysNameTheSender(_ event: SnoozeEventRules.SystemEvent, _ key: String) {
        #expect(SnoozeEventRules.routingKey(event, managerID: "gm-1") == key)
    }

    @Test(arguments: [
        ("gm", "lc", "debian1", SnoozeEventRules.Action.start, "gm.lc.debian1.START"),
        ("gm", nil, "vm", .start, "gm.UNKNOWN.vm.START"),
        ("gm", "", "vm", .destroy, "gm.UNKNOWN.vm.DESTROY"),
        ("gm.example", "host.1", "vm", .migrate, "gm_example.host_1.vm.MIGRATE"),
    ] as [(String, String?, String, SnoozeEventRules.Action, String)])
    func managementRoutingKeysAreGroupManagerLocalControllerVMAction(
        _ manager: String, _ host: String?, _ vm: String, _ action: SnoozeEventRules.Action, _ key: String
    ) {
        #expect(SnoozeEventRules.routingKey(action, managerID: manager, hostID: host, vm: vm) == key)
    }

    @Test func bodiesAreSnoozesTemplates() throws {
        let system = ManagerEvent(
            exchange: .system, routingKey: "groupleader", eventType: "GL_JOIN", message: Data(#"{"id":"m"}"#.utf8)
        )
        #expect(String(decoding: system.snoozeBody, as: UTF8.self) == #"{"eventType":"GL_JOIN","message":{"id":"m"}}"#)
        let management = ManagerEvent(
            exchange: .management, routingKey: "m.h.vm.START", eventType: "START", status: .processed,
            message: Data(#"{"status":"RUNNING"}"#.utf8)
        )
        #expect(
            String(decoding: management.snoozeBody, as: UTF8.self) == #"{"message":{"status":"RUNNING"},"status":"PROCESSED"}"#
        )
        for event in [system, management] {
            #expect(try JSONSerialization.jsonObject(with: event.snoozeBody) is [String: Any])
        }
    }

    @Test func theEnvelopeCarriesSnoozesFieldsAndWhereAndWhen() throws {
        var event = ManagerEvent(
            exchange: .management, routingKey: "m.h.v\"m.START", eventType: "START", status: .pending,
            message: Data(#"{"a":1}"#.utf8)
        )
        event.sequence = 7
        event.time = Date(timeIntervalSince1970: 1_700_000_000.25)
        #expect(
            String(decoding: event.envelope, as: UTF8.self)
                == #"{"eventType":"START","exchange":"management","message":{"a":1},"routingKey":"m.h.v\"m.START","#
                + #""sequence":7,"status":"PENDING","time":"2023-11-14T22:13:20.250Z"}"#
        )
        event.status = nil
        let object = try #require(try JSONSerialization.jsonObject(with: event.envelope) as? [String: Any])
        #expect(object["status"] == nil && object["routingKey"] as? String == "m.h.v\"m.START")
    }
}
