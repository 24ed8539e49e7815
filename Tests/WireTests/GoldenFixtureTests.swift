import NIOCore
import Testing
import Wire

/// The hex fixtures were written by hand from docs/protocol.md. Each is compared byte for byte in both directions,
/// so the layout cannot drift without a fixture (and the spec) changing with it.
@Suite struct GoldenFixtureTests {
    static let golden: [(String, WireEnvelope)] = [
        ("hello-agent", Samples.goldenHello),
        ("welcome-agent", Samples.goldenWelcome),
        ("heartbeat-response", Samples.goldenHeartbeat),
        ("error-no-common-version", Samples.goldenError),
        ("monitoring-report-2vms", Samples.goldenMonitoringReport),
        ("inventory-2vms", Samples.goldenInventory),
        ("command-result-error", Samples.goldenCommandResultError),
        ("vmcommand-migrate", Samples.goldenMigrate),
        ("power-command-suspend", Samples.goldenPowerCommand),
        ("hypervisor-status-unreachable", Samples.goldenHypervisorStatus),
        ("status-reply", Samples.goldenStatusReply),
        ("manager-status-request-page", Samples.goldenManagerStatusRequestPage),
        ("manager-status-reply-page", Samples.goldenManagerStatusReplyPage),
        ("energy-request-page", Samples.goldenEnergyRequestPage),
        ("energy-reply-page", Samples.goldenEnergyReplyPage),
        ("migration-progress-aborted", Samples.goldenMigrationProgress),
        ("migration-cancel", Samples.goldenMigrationCancel),
        ("cluster-request-migrate", Samples.goldenClusterRequestMigrate),
        ("task-status-migration", Samples.goldenTaskStatusMigration),
        ("hello-agent-migration-uri", Samples.goldenHelloMigrationURI),
        ("cluster-request-consolidate", Samples.goldenClusterRequestConsolidate),
        ("cluster-request-cordon", Samples.goldenClusterRequestCordon),
        ("cluster-request-remove-host", Samples.goldenClusterRequestRemoveHost),
        ("consolidation-reply", Samples.goldenConsolidationReply),
        ("cluster-request-add-from-image", Samples.goldenClusterRequestAddFromImage),
        ("catalog-reply", Samples.goldenCatalogReply),
        ("event-subscription", Samples.goldenEventSubscription),
        ("event-notice", Samples.goldenEventNotice),
        ("leader-query", Samples.goldenLeaderQuery),
        ("leader-reply", Samples.goldenLeaderReply),
        ("leader-reply-none", Samples.goldenLeaderReplyNone),
        ("host-assignment-request", Samples.goldenHostAssignmentRequest),
        ("host-assignment-group-manager", Samples.goldenHostAssignmentGroupManager),
        ("group-manager-report", Samples.goldenGroupManagerReport),
        ("group-manager-report-new-samples", Samples.goldenGroupManagerReportNewSamples),
        ("group-manager-event-failed", Samples.goldenGroupManagerEventFailed),
        ("host-order-vmcommand", Samples.goldenHostOrderVMCommand),
        ("host-order-release", Samples.goldenHostOrderRelease),
    ]

    @Test(arguments: golden)
    func encodesToTheFixture(name: String, envelope: WireEnvelope) throws {
        let fixture = try Fixture.bytes(name)
        var encoded = ByteBuffer()
        envelope.encode(into: &encoded)
        #expect(hex(encoded) == hex(fixture), "\(name): encoder output differs from the fixture")
    }

    @Test(arguments: golden)
    func decodesFromTheFixture(name: String, envelope: WireEnvelope) throws {
        var fixture = try Fixture.bytes(name)
        var decoder = WireMessageDecoder()
        #expect(try decoder.decode(buffer: &fixture) == envelope, "\(name): decoded message differs")
        #expect(fixture.readableBytes == 0)
    }

    @Test func everyFixtureIsCovered() throws {
        let names = Set(try Fixture.all(in: "Fixtures").map(\.name))
        let checkedElsewhere: Set = ["heartbeat-unknown-extension"]  // EvolutionTests, decode direction only
        #expect(names == Set(Self.golden.map(\.0)).union(checkedElsewhere))
    }

    @Test func fixtureHeadersHoldTheirPayloadLength() throws {
        for (name, bytes) in try Fixture.all(in: "Fixtures") {
            #expect(
                bytes.getInteger(at: bytes.readerIndex + 9, as: UInt32.self) == UInt32(bytes.readableBytes - 13),
                "\(name)"
            )
            #expect(bytes.getInteger(at: bytes.readerIndex, as: UInt16.self) == WireFrameHeader.magic, "\(name)")
        }
    }
}
