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
}
