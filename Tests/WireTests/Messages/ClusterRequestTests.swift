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
        .consolidate(dryRun: true),
        .consolidate(dryRun: false),
        .flavorList,
        .flavorCreate(.init(name: "small", virtualCPUs: 2, memoryBytes: 1 << 30, diskBytes: 0)),
        .flavorCreate(.init(name: Samples.unicodeName, virtualCPUs: .max, memoryBytes: .max, diskBytes: .max)),
        .flavorDelete(name: "small"),
        .imageList,
        .imageAdd(name: "debian-12", path: "/srv/images/debian-12.qcow2"),
        .imageRemove(name: "debian-12"),
        .addFromImage(cluster: "web", .init(flavor: "small", image: "debian-12", names: ["web-1"])),
        .addFromImage(
            cluster: "",
            .init(
                flavor: "",
                image: "",
                names: [],
                sshKeys: ["ssh-ed25519 AAAA a@b", "ssh-rsa BBBB"],
                networkRxBytesPerSecond: .max,
                networkTxBytesPerSecond: 1,
                highlyAvailable: true
            )
        ),
        .bootPragma(.init(cluster: "calit2", vcIn: "<vc version='0.1'/>", cpus: 2, sshKeys: ["ssh-rsa AAAA r@h"])),
        .bootPragma(.init(cluster: "", vcIn: "", cpus: .max, sshKeys: [])),
        .reserve(cluster: "web", untilUnixMilliseconds: 1_800_000_000_000),
        .reserve(cluster: "", untilUnixMilliseconds: .max),
        .renewReservation(cluster: "web", untilUnixMilliseconds: 0),
        .releaseReservation(cluster: "web"),
        .cordon(host: "host-2", reason: "new DIMMs"),
        .cordon(host: "", reason: ""),
        .cordon(host: Samples.unicodeName, reason: Samples.unicodeName),
        .uncordon(host: "host-2"),
        .removeHost(host: "host-9", confirmedOff: false),
        .removeHost(host: "", confirmedOff: true),
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

    @Test func consolidateIsKindTwelveAndABool() {
        #expect(hex(payloadBytes(.clusterRequest(.consolidate(dryRun: false)))) == "0c000000")
        #expect(throws: WireError.invalidValue(message: .clusterRequest, field: "dryRun", value: 2)) {
            try decodePayload(.clusterRequest, hexBytes("0c02 0000"))
        }
        #expect(throws: WireError.truncated(message: .clusterRequest, field: "dryRun")) {
            try decodePayload(.clusterRequest, hexBytes("0c"))
        }
    }

    @Test func catalogKindsAreThirteenToNineteen() {
        #expect(hex(payloadBytes(.clusterRequest(.flavorList))) == "0d0000")
        #expect(hex(payloadBytes(.clusterRequest(.imageList))) == "100000")
        #expect(hex(payloadBytes(.clusterRequest(.flavorDelete(name: "a")))) == "0f0001610000")
        #expect(hex(payloadBytes(.clusterRequest(.imageRemove(name: "a")))) == "120001610000")
        #expect(
            hex(payloadBytes(.clusterRequest(.imageAdd(name: "a", path: "/b")))) == "1100016100022f620000"
        )
        #expect(
            hex(
                payloadBytes(
                    .clusterRequest(.flavorCreate(.init(name: "a", virtualCPUs: 1, memoryBytes: 2, diskBytes: 3)))
                )
            )
                == "0e000161" + "0001" + "0000000000000002" + "0000000000000003" + "0000"
        )
    }

    @Test func truncatedCatalogRequestsAreRejected() {
        // flavorCreate without its disk size.
        #expect(throws: WireError.truncated(message: .clusterRequest, field: "flavor.resources")) {
            try decodePayload(.clusterRequest, hexBytes("0e 0001 61 0001 0000000000000002"))
        }
        // imageAdd without its path.
        #expect(throws: WireError.self) { try decodePayload(.clusterRequest, hexBytes("11 0001 61")) }
        // reserve without its end.
        #expect(throws: WireError.self) { try decodePayload(.clusterRequest, hexBytes("15 0001 61 0000")) }
        // addFromImage claiming 500 names with 4 bytes left.
        #expect(
            throws: WireError.absurdCount(message: .clusterRequest, field: "names", count: 500, remainingBytes: 4)
        ) {
            try decodePayload(.clusterRequest, hexBytes("13 0000 0000 0000 01f4 0000 0000"))
        }
        // addFromImage with a highlyAvailable byte that is not a bool.
        var bytes = payloadBytes(
            .clusterRequest(Self.requests.first { if case .addFromImage = $0 { true } else { false } }!)
        )
        bytes = bytes.settingByte(7, at: bytes.readableBytes - 3)
        #expect(throws: WireError.invalidValue(message: .clusterRequest, field: "highlyAvailable", value: 7)) {
            try decodePayload(.clusterRequest, bytes)
        }
    }

    @Test func cordonIsKindTwentyFourAndUncordonTwentyFive() {
        #expect(
            hex(payloadBytes(.clusterRequest(.cordon(host: "a", reason: "b")))) == "18" + "000161" + "000162" + "0000"
        )
        #expect(hex(payloadBytes(.clusterRequest(.uncordon(host: "a")))) == "19" + "000161" + "0000")
        #expect(throws: WireError.truncated(message: .clusterRequest, field: "reason")) {
            try decodePayload(.clusterRequest, hexBytes("18 0001 61"))
        }
        #expect(throws: WireError.truncated(message: .clusterRequest, field: "host")) {
            try decodePayload(.clusterRequest, hexBytes("19 0002 61"))
        }
        #expect(throws: WireError.invalidUTF8(message: .clusterRequest, field: "reason")) {
            try decodePayload(.clusterRequest, hexBytes("18 0001 61 0002 c080 0000"))
        }
    }

    @Test func removeHostIsKindTwentySix() {
        #expect(
            hex(payloadBytes(.clusterRequest(.removeHost(host: "a", confirmedOff: true)))) == "1a" + "000161" + "01"
                + "0000"
        )
        #expect(throws: WireError.truncated(message: .clusterRequest, field: "host")) {
            try decodePayload(.clusterRequest, hexBytes("1a 0002 61"))
        }
        #expect(throws: WireError.invalidUTF8(message: .clusterRequest, field: "host")) {
            try decodePayload(.clusterRequest, hexBytes("1a 0002 c080 00 0000"))
        }
        #expect(throws: WireError.truncated(message: .clusterRequest, field: "confirmedOff")) {
            try decodePayload(.clusterRequest, hexBytes("1a 0001 61"))
        }
        #expect(throws: WireError.invalidValue(message: .clusterRequest, field: "confirmedOff", value: 2)) {
            try decodePayload(.clusterRequest, hexBytes("1a 0001 61 02 0000"))
        }
    }

    @Test func unknownKindAndActionAreRejected() {
        var kind = ByteBuffer()
        kind.writeInteger(UInt8(27))
        #expect(throws: WireError.invalidValue(message: .clusterRequest, field: "kind", value: 27)) {
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
