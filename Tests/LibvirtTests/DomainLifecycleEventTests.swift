import Foundation
import Testing

@testable import Libvirt

@Suite struct DomainLifecycleEventTests {
    @Test func startSuspendDestroyArriveInOrder() async throws {
        let connection = try await NodeFixture.open()
        let events = try await connection.domainLifecycleEvents()
        let web = try await connection.domain(named: "web-1")

        try await web.suspend()
        try await web.resume()
        try await web.destroy()
        try await web.start()

        let received = await firstEvents(4, of: events)
        #expect(received.map(\.kind) == [.suspended, .resumed, .stopped, .started])
        #expect(received.allSatisfy { $0.name == "web-1" && $0.uuid == web.uuid })
        // VIR_DOMAIN_EVENT_STOPPED_DESTROYED and VIR_DOMAIN_EVENT_STARTED_BOOTED.
        #expect(received.map(\.detail) == [0, 0, 1, 0])
    }

    @Test func defineAndUndefineAreReported() async throws {
        let connection = try await NodeFixture.open()
        let events = try await connection.domainLifecycleEvents()
        let name = DefaultDriver.uniqueName("events")
        let domain = try await connection.defineDomain(xml: DefaultDriver.domainXML(name: name))
        try await domain.undefine()

        let received = await firstEvents(2, of: events)
        #expect(received.map(\.kind) == [.defined, .undefined])
        #expect(received.allSatisfy { $0.name == name && $0.uuid == domain.uuid })
    }

    @Test func closingTheConnectionFinishesTheStream() async throws {
        let connection = try await NodeFixture.open()
        let events = try await connection.domainLifecycleEvents()
        #expect(try connection.executor.runSync { connection.handle.lifecycleSubscriptions.count } == 1)
        await connection.close()
        let ended = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in events {}
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(ended)
    }

    @Test func droppingTheStreamDeregistersTheCallback() async throws {
        let connection = try await NodeFixture.open()
        do {
            let events = try await connection.domainLifecycleEvents()
            _ = events
            #expect(try connection.executor.runSync { connection.handle.lifecycleSubscriptions.count } == 1)
        }
        // onTermination queued the deregistration; this job runs after it.
        #expect(try connection.executor.runSync { connection.handle.lifecycleSubscriptions.count } == 0)
        // And the connection still works, with new subscriptions too.
        _ = try await connection.domainLifecycleEvents()
        #expect(try await connection.allDomains().count == 3)
    }

    @Test func kindsMirrorLibvirtNumbers() {
        let kinds = (0...8).map { DomainLifecycleEvent.Kind(libvirtValue: Int32($0)) }
        #expect(
            kinds == [
                .defined, .undefined, .started, .suspended, .resumed, .stopped, .shutdown, .pmSuspended, .crashed,
            ]
        )
        #expect(DomainLifecycleEvent.Kind(libvirtValue: 42) == .unknown(42))
    }
}
