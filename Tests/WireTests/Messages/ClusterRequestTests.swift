import NIOCore
import Testing
import Wire

@Suite struct ClusterRequestTests {
    static let template = "<domain type='test'><name>web-1</name><memory unit='MiB'>64</memory></domain>"

    static let requests: [ClusterRequest] = [
        .define(cluster: "web"),
        .undefine(cluster: Samples.unicodeName),
        .add(
            cluster: "web",
            vms: [
                .init(templateXML: template),
                .init(
                    templateXML: template,
                    nameOverride: "web-2",
                    networkRxBytesPerSecond: 12_500_000,
                    networkTxBytesPerSecond: .max
                ),
            ]
        ),
        .add(cluster: "", vms: []),
        .add(
            cluster: "ha",
            vms: [
                .init(templateXML: template, nameOverride: "db-1", highlyAvailable: true),
                .init(templateXML: template, nameOverride: "db-2"),
            ]
        ),
        .remove(cluster: "web", vm: "web-2"),
        .act(.start, cluster: "web", vm: ""),
        .act(.destroy, cluster: "web", vm: "web-1"),
        .info(cluster: "web"),
        .list,
        .vmInfo(vm: "web-1"),
        .task(id: "t-000017", waitMilliseconds: 0),
        .task(id: "t-000018", waitMilliseconds: .max),
        .migrate(vm: "web-1", to: "host-2", method: .live),
        .migrate(vm: Samples.unicodeName, to: "", method: .liveNonSharedIncrementalDisk),
        .migrateCancel(vm: "web-1"),
    ]

    @Test(arguments: requests)
    func roundTrips(request: ClusterRequest) throws {
        try expectRoundTrip(.clusterRequest(request))
    }

    @Test(arguments: ClusterRequest.VMAction.allCases)
    func everyActionRoundTrips(action: ClusterRequest.VMAction) throws {
        try expectRoundTrip(.clusterRequest(.act(action, cluster: "c", vm: "v")))
    }

    @Test func typeByteAndNames() {
        #expect(WireMessageType.clusterRequest.rawValue == 0x40)
        #expect(WireMessageType.clusterRequest.description == "ClusterRequest")
        #expect(ClusterRequest.VMAction.allCases.map(\.rawValue) == [1, 2, 3, 4, 5])
        #expect(
            ClusterRequest.VMAction.allCases.map(\.description) == [
                "start", "suspend", "resume", "shutdown", "destroy",
            ]
        )
    }

    @Test func listIsOneByteAndTheExtensionArea() {
        #expect(hex(payloadBytes(.clusterRequest(.list))) == "070000")
    }

    @Test func unknownKindAndActionAreRejected() {
        var kind = ByteBuffer()
        kind.writeInteger(UInt8(12))
        #expect(throws: WireError.invalidValue(message: .clusterRequest, field: "kind", value: 12)) {
            try decodePayload(.clusterRequest, kind)
        }
        var action = ByteBuffer()
        action.writeBytes([5, 0, 0, 0, 0, 0, 0])
        #expect(throws: WireError.invalidValue(message: .clusterRequest, field: "action", value: 0)) {
            try decodePayload(.clusterRequest, action)
        }
    }

    @Test func absurdSubmissionCountIsRejected() {
        var payload = ByteBuffer()
        payload.writeInteger(UInt8(3))
        payload.writeInteger(UInt16(0))  // cluster ""
        payload.writeInteger(UInt16(1000))  // 1000 submissions, none present
        payload.writeInteger(UInt16(0))
        #expect(
            throws: WireError.absurdCount(message: .clusterRequest, field: "vms", count: 1000, remainingBytes: 2)
        ) {
            try decodePayload(.clusterRequest, payload)
        }
    }

    @Test func truncatedTemplateIsRejected() {
        var bytes = payloadBytes(.clusterRequest(Self.requests[2]))
        bytes.moveWriterIndex(to: 20)
        #expect(throws: WireError.self) { try decodePayload(.clusterRequest, bytes) }
    }

    /// The HA marks travel in the extension area, only when one is set: a request without them is byte for byte
    /// what an older CLI sends, and a mark count that does not match the VMs is refused.
    @Test func highlyAvailableTravelsInTheExtensionArea() throws {
        let plain = ClusterRequest.add(cluster: "web", vms: [.init(templateXML: Self.template)])
        #expect(plain.extensionFields.isEmpty)
        var marked = ClusterRequest.add(
            cluster: "web",
            vms: [.init(templateXML: Self.template), .init(templateXML: Self.template, highlyAvailable: true)]
        )
        let fields = marked.extensionFields
        #expect(fields.map(\.tag) == [ClusterRequest.ExtensionTag.highlyAvailable])
        #expect(fields.first.map { Array($0.value.readableBytesView) } == [0, 1])
        var short = ByteBuffer()
        short.writeWireBool(true)
        #expect(throws: WireError.self) {
            try marked.apply(
                extensionField: WireExtensionField(tag: ClusterRequest.ExtensionTag.highlyAvailable, value: short)
            )
        }
        // Another kind ignores the tag.
        var list = ClusterRequest.list
        try list.apply(
            extensionField: WireExtensionField(tag: ClusterRequest.ExtensionTag.highlyAvailable, value: short)
        )
        #expect(list == .list)
    }
}
