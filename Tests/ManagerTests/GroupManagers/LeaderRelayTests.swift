import Foundation
import Logging
import Testing
import Transport
import Wire

@testable import Manager

/// A group manager's relay to its leader never makes an agent's session wait for the leader: events are queued
/// and sent by a task of the link. Found by `bench/run ingest --group-manager`: sessions waiting behind a leader
/// busy taking in 10,000 new hosts stopped reading their agents, and the group manager failed them.
@Suite(.timeLimit(.minutes(2))) struct LeaderRelayTests {
    static let logger = Logger(label: "leader-relay-test")

    /// A leader that takes the link and never reads from it; `body` gets the group manager's end.
    static func withStalledLeader(_ body: (WireConnection) async throws -> Void) async throws {
        let server = try await RemoteGroupManagersTests.leaderServer(logger: logger) { _ in
            try await Task.sleep(for: .seconds(120))
        }
        let running = Task { try await server.run() }
        defer { running.cancel() }
        let client = WireClient(hello: Hello(role: .manager, softwareVersion: "test", nodeName: "gm-1"), logger: logger)
        let connection = try await client.connect(host: "127.0.0.1", port: try #require(server.port))
        try await body(connection)
        await connection.close()
    }

    /// An Inventory event of 200 VMs: about 10 KB, so a few hundred fill the socket's buffers.
    static func event(_ index: Int) -> GroupManagerEvent {
        let vms = (0..<200).map { slot in
            Inventory.Entry(
                slot: UInt16(slot),
                uuid: WireUUID(high: UInt64(index), low: UInt64(slot)),
                name: "vm-\(index)-\(slot)",
                state: .running,
                virtualCPUs: 1,
                memoryKiB: 1 << 18
            )
        }
        return GroupManagerEvent(hostID: "h\(index)", event: .inventory(Inventory(hostID: "h\(index)", vms: vms)))
    }

    @Test func eventsForALeaderThatDoesNotReadAreQueuedWithoutWaiting() async throws {
        try await Self.withStalledLeader { connection in
            let relay = LeaderRelay(maximumQueued: 100_000, logger: Self.logger)
            await relay.attach(connection)
            // 3,000 events of 10 KB: 30 MB, far past what the sockets hold. Each call returns at once.
            let started = ContinuousClock.now
            for index in 0..<3_000 { await relay.send(Self.event(index)) }
            let took = started.duration(to: .now)
            #expect(took < .seconds(30), "the relay waited for the leader: \(took)")
            #expect(connection.isOpen, "within the limit the link stays")
            await relay.detach(connection)
        }
    }

    @Test func aLeaderTooFarBehindLosesTheLinkAndLaterEventsAreDropped() async throws {
        try await Self.withStalledLeader { connection in
            let relay = LeaderRelay(maximumQueued: 500, logger: Self.logger)
            await relay.attach(connection)
            for index in 0..<3_000 { await relay.send(Self.event(index)) }
            #expect(!connection.isOpen, "past the limit the link is closed, for the next one to replay every host")
        }
    }
}
