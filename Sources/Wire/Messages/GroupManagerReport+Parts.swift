import NIOCore

extension GroupManagerReport {
    /// The report cut into parts that each fit in a frame of `maximumPayloadLength`, for a group manager whose
    /// hosts do not fit in one (about 150 hosts of 20 VMs with 10 samples each fill 1 MiB). Hosts stay in order,
    /// each whole in one part, and every part carries `agentAddress` and `maxHosts`: the leader applies each part
    /// as a report (the hosts it lists replace what it knew of them), so all the parts together say what the whole
    /// report says. A host too big for a part of its own keeps only its VMs' newest samples, as many as fit, and is
    /// sent without its VMs if even none of their samples fit. Each part carries its hosts' `samplesAreNew` and the
    /// report's `sampleWindow`.
    public func parts(maximumPayloadLength: Int = WireFrameDecoder.defaultMaximumPayloadLength) -> [GroupManagerReport]
    {
        let empty = GroupManagerReport(
            agentAddress: agentAddress,
            maxHosts: maxHosts,
            hosts: [],
            sampleWindow: sampleWindow
        )
        // The `newSamples` field, if any host needs it: its count, tag, length and window, and a byte per host
        // below (one bit would do; a byte keeps the sum simple); the `hypervisorProblems` field's tag, length and
        // count, and each host's entry below.
        let room = maximumPayloadLength - Self.payloadSize(of: empty) - 10 - 8
        var parts: [GroupManagerReport] = []
        var current = empty
        var used = 0
        var scratch = ByteBufferAllocator().buffer(capacity: 16_384)
        for host in hosts {
            var host = host
            var size = Self.size(of: host, scratch: &scratch)
            while size > room, host.vms.contains(where: { !$0.samples.isEmpty }) {
                let kept = host.vms.map(\.samples.count).max().map { $0 / 2 } ?? 0
                for index in host.vms.indices { host.vms[index].samples = Array(host.vms[index].samples.suffix(kept)) }
                size = Self.size(of: host, scratch: &scratch)
            }
            if size > room {
                host.vms = []
                size = Self.size(of: host, scratch: &scratch)
            }
            if used + size > room, !current.hosts.isEmpty {
                parts.append(current)
                current = empty
                used = 0
            }
            current.hosts.append(host)
            used += size
        }
        parts.append(current)
        return parts
    }

    /// The payload's length as a frame carries it (extension area included).
    static func payloadSize(of report: GroupManagerReport) -> Int {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        WireMessage.groupManagerReport(report).encodePayload(into: &buffer)
        return buffer.readableBytes
    }

    private static func size(of host: Host, scratch: inout ByteBuffer) -> Int {
        scratch.clear()
        write(host, into: &scratch)
        return scratch.readableBytes + 1 + 1 + (host.status.hypervisorProblem.map { 2 + $0.utf8.count } ?? 0)
    }
}
