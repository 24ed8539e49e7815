import NIOCore
import Testing
import Wire

@Suite struct ClusterReplyTests {
    static func vm(_ name: String = "web-1", host: String = "host-2", reason: String = "") -> ClusterReply.VM {
        ClusterReply.VM(
            name: name,
            uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f",
            state: "running",
            desiredState: "running",
            hostID: host,
            ipAddress: "10.42.0.7",
            macAddress: "52:54:0a:2a:00:07",
            virtualCPUs: 2,
            memoryBytes: 536_870_912,
            networkRxBytesPerSecond: 1_000_000,
            networkTxBytesPerSecond: .max,
            reason: reason
        )
    }

    @Test func roundTrips() throws {
        let reply = ClusterReply(clusters: [
            .init(name: "web", createdAtUnixMilliseconds: 1_795_000_000_000, vms: [Self.vm(), Self.vm("web-2")]),
            .init(
                name: Samples.unicodeName,
                createdAtUnixMilliseconds: 0,
                vms: [Self.vm("", host: "", reason: "no host has 4 free cores; most free: host-2 with 2")]
            ),
            .init(name: "empty", createdAtUnixMilliseconds: .max, vms: []),
        ])
        try expectRoundTrip(.clusterReply(reply), requestID: 3, flags: .response)
        try expectRoundTrip(.clusterReply(ClusterReply(clusters: [])))
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.clusterReply.rawValue == 0x41)
        #expect(WireMessageType.clusterReply.description == "ClusterReply")
    }

    @Test func minimalVMIsExactlyTheMinimumElementSize() throws {
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(1))  // one cluster
        payload.writeInteger(UInt16(0))  // name ""
        payload.writeInteger(UInt64(0))  // createdAt
        payload.writeInteger(UInt16(1))  // one VM
        payload.writeBytes([UInt8](repeating: 0, count: 42))
        payload.writeInteger(UInt16(0))  // extension area
        let decoded = try decodePayload(.clusterReply, payload)
        #expect(
            decoded
                == .clusterReply(
                    ClusterReply(clusters: [
                        .init(
                            name: "",
                            createdAtUnixMilliseconds: 0,
                            vms: [
                                .init(
                                    name: "",
                                    uuid: "",
                                    state: "",
                                    desiredState: "",
                                    hostID: "",
                                    ipAddress: "",
                                    macAddress: "",
                                    virtualCPUs: 0,
                                    memoryBytes: 0,
                                    networkRxBytesPerSecond: 0,
                                    networkTxBytesPerSecond: 0,
                                    reason: ""
                                )
                            ]
                        )
                    ])
                )
        )
        #expect(hex(payloadBytes(decoded)) == hex(payload))
    }

    @Test func absurdCountsAreRejected() {
        var clusters = ByteBuffer()
        clusters.writeInteger(UInt16(5))
        clusters.writeInteger(UInt16(0))
        #expect(
            throws: WireError.absurdCount(message: .clusterReply, field: "clusters", count: 5, remainingBytes: 2)
        ) {
            try decodePayload(.clusterReply, clusters)
        }
        var vms = ByteBuffer()
        vms.writeInteger(UInt16(1))
        vms.writeInteger(UInt16(0))
        vms.writeInteger(UInt64(0))
        vms.writeInteger(UInt16(3))
        vms.writeInteger(UInt16(0))
        #expect(
            throws: WireError.absurdCount(message: .clusterReply, field: "clusters.vms", count: 3, remainingBytes: 2)
        ) {
            try decodePayload(.clusterReply, vms)
        }
    }

    // Extension tag 0x0001, estimates: one per VM, clusters in order.

    static let estimate = ClusterReply.VMEstimate(
        estimated: ResourceAmounts(
            cpuCores: 0.75,
            memoryBytes: 402_653_184,
            networkRxBytesPerSecond: 12_000,
            networkTxBytesPerSecond: 3_000
        ),
        samples: 15
    )

    @Test func estimatesRoundTrip() throws {
        var estimated = Self.vm("web-1")
        estimated.estimate = Self.estimate
        var unsampled = Self.vm("db-1")
        unsampled.estimate = ClusterReply.VMEstimate(estimated: ResourceAmounts(cpuCores: 2), samples: 0)
        let reply = ClusterReply(clusters: [
            .init(name: "web", createdAtUnixMilliseconds: 1, vms: [estimated, Self.vm("web-2")]),
            .init(name: "empty", createdAtUnixMilliseconds: 2, vms: []),
            .init(name: "db", createdAtUnixMilliseconds: 3, vms: [unsampled]),
        ])
        try expectRoundTrip(.clusterReply(reply), requestID: 3, flags: .response)
    }

    @Test func estimatesTravelInTheExtensionAreaAndAnOldDecoderSkipsThem() throws {
        var vm = Self.vm()
        vm.estimate = ClusterReply.VMEstimate(estimated: ResourceAmounts(cpuCores: 0.5), samples: 3)
        let old = hex(
            payloadBytes(
                .clusterReply(
                    ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [Self.vm()])])
                )
            )
        )
        let area = [
            "0001", "0001", "00000025",  // one field, tag estimates, 37 bytes
            "0001", "01",  // one VM, present
            "3fe0000000000000", "0000000000000000", "0000000000000000", "0000000000000000", "0003",
        ]
        var payload = payloadBytes(
            .clusterReply(ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [vm])]))
        )
        #expect(hex(payload) == String(old.dropLast(4)) + area.joined())
        let fixed = try ClusterReply.decode(from: &payload)
        #expect(try payload.readWireExtensionArea(.clusterReply).map(\.tag) == [0x0001])
        #expect(fixed.clusters.first?.vms.first == Self.vm())
    }

    @Test func estimatesOfAnotherCountAreRejected() {
        var vm = Self.vm()
        vm.estimate = Self.estimate
        let reply = ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [vm, Self.vm("b")])])
        var payload = payloadBytes(.clusterReply(reply))
        // The same estimates after a reply with one VM fewer.
        let fixed = try? ClusterReply.decode(from: &payload)
        #expect(fixed != nil)
        var short = ByteBuffer()
        ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [Self.vm()])]).encode(into: &short)
        short.writeImmutableBuffer(payload)
        #expect(throws: WireError.invalidValue(message: .clusterReply, field: "estimates.count", value: 2)) {
            try decodePayload(.clusterReply, short)
        }
    }

    static let origin = ClusterReply.VMOrigin(
        flavor: "small",
        image: "debian-12",
        overlayPath: "/srv/vms/web-1.qcow2",
        seedPath: "/srv/vms/web-1-seed.iso"
    )

    @Test func originsRoundTripBesideEstimates() throws {
        var both = Self.vm("web-1")
        both.estimate = Self.estimate
        both.origin = Self.origin
        var fromImage = Self.vm("web-2")
        fromImage.origin = ClusterReply.VMOrigin(
            flavor: "",
            image: Samples.unicodeName,
            overlayPath: "/o",
            seedPath: ""
        )
        let reply = ClusterReply(clusters: [
            .init(name: "web", createdAtUnixMilliseconds: 1, vms: [both, fromImage, Self.vm("web-3")])
        ])
        #expect(reply.extensionFields.map(\.tag) == [0x0001, 0x0002])
        try expectRoundTrip(.clusterReply(reply), requestID: 4, flags: .response)
    }

    @Test func originsTravelInTheExtensionAreaAndAnOldDecoderSkipsThem() throws {
        var vm = Self.vm()
        vm.origin = ClusterReply.VMOrigin(flavor: "s", image: "i", overlayPath: "/o", seedPath: "")
        let old = hex(
            payloadBytes(
                .clusterReply(
                    ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [Self.vm()])])
                )
            )
        )
        let area = [
            "0001", "0002", "0000000f",  // one field, tag origins, 15 bytes
            "0001", "01",  // one VM, present
            "000173", "000169", "00022f6f", "0000",  // "s", "i", "/o", ""
        ]
        var payload = payloadBytes(
            .clusterReply(ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [vm])]))
        )
        #expect(hex(payload) == String(old.dropLast(4)) + area.joined())
        let plain = try ClusterReply.decode(from: &payload)
        #expect(try payload.readWireExtensionArea(.clusterReply).map(\.tag) == [0x0002])
        #expect(plain.clusters.first?.vms.first == Self.vm())
    }

    @Test func originsOfAnotherCountOrWithTrailingBytesAreRejected() {
        var vm = Self.vm()
        vm.origin = Self.origin
        let two = ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [vm, Self.vm("b")])])
        var payload = payloadBytes(.clusterReply(two))
        _ = try? ClusterReply.decode(from: &payload)
        var short = ByteBuffer()
        ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [Self.vm()])]).encode(into: &short)
        short.writeImmutableBuffer(payload)
        #expect(throws: WireError.invalidValue(message: .clusterReply, field: "origins.count", value: 2)) {
            try decodePayload(.clusterReply, short)
        }
        // One VM, its origin absent, and a stray byte inside the field.
        var padded = ByteBuffer()
        ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [Self.vm()])]).encode(into: &padded)
        padded.writeBytes(hexBytes("0001 0002 00000004 0001 00 ff").readableBytesView)
        #expect(throws: WireError.invalidValue(message: .clusterReply, field: "origins.length", value: 4)) {
            try decodePayload(.clusterReply, padded)
        }
    }

    @Test func reservationsRoundTripBesideOrigins() throws {
        var vm = Self.vm("web-1")
        vm.origin = Self.origin
        let reply = ClusterReply(clusters: [
            .init(
                name: "web",
                createdAtUnixMilliseconds: 1,
                vms: [vm],
                reservation: .init(untilUnixMilliseconds: 1_800_000_000_000, expired: false)
            ),
            .init(name: "plain", createdAtUnixMilliseconds: 2, vms: []),
            .init(
                name: "ended",
                createdAtUnixMilliseconds: 3,
                vms: [Self.vm("e-1")],
                reservation: .init(untilUnixMilliseconds: 5, expired: true, stoppedAtUnixMilliseconds: .max)
            ),
        ])
        #expect(reply.extensionFields.map(\.tag) == [0x0002, 0x0003])
        try expectRoundTrip(.clusterReply(reply), requestID: 5, flags: .response)
    }

    @Test func reservationsTravelInTheExtensionAreaAndAnOldDecoderSkipsThem() throws {
        let plain = ClusterReply.Cluster(name: "c", createdAtUnixMilliseconds: 0, vms: [])
        var reserved = plain
        reserved.reservation = .init(untilUnixMilliseconds: 0x0102, expired: true, stoppedAtUnixMilliseconds: 0x03)
        let old = hex(payloadBytes(.clusterReply(ClusterReply(clusters: [plain]))))
        let area = [
            "0001", "0003", "00000014",  // one field, tag reservations, 20 bytes
            "0001", "01",  // one cluster, present
            "0000000000000102", "01", "0000000000000003",  // until, expired, stopped at
        ]
        var payload = payloadBytes(.clusterReply(ClusterReply(clusters: [reserved])))
        #expect(hex(payload) == String(old.dropLast(4)) + area.joined())
        let decoded = try ClusterReply.decode(from: &payload)
        #expect(try payload.readWireExtensionArea(.clusterReply).map(\.tag) == [0x0003])
        #expect(decoded.clusters == [plain])
    }

    @Test func reservationsOfAnotherCountAreRejected() {
        var padded = ByteBuffer()
        ClusterReply(clusters: [.init(name: "c", createdAtUnixMilliseconds: 0, vms: [])]).encode(into: &padded)
        // Two reservations (both absent) for one cluster.
        padded.writeBytes(hexBytes("0001 0003 00000004 0002 00 00").readableBytesView)
        #expect(throws: WireError.invalidValue(message: .clusterReply, field: "reservations.count", value: 2)) {
            try decodePayload(.clusterReply, padded)
        }
    }
}
