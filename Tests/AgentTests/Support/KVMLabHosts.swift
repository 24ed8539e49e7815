import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `torpor-lab up --libvirt kvm` lab: each host's private libvirtd with KVM in the host's network namespace on the
/// lab's bridge, so migrations between hosts cross it; tiny guests on them.
extension LabUnderTest {
    /// Why a KVM lab cannot run here, or nil: /dev/kvm, root (mounts, namespaces, taps) and `ip`.
    static let kvmLabProblem: String? = {
        if let problem = KVMLab.kvmProblem { return problem }
        guard geteuid() == 0 else { return "not root (scripts/lab-libvirtd mounts, creates namespaces and taps)" }
        guard ProcessRunner.resolve("ip") != nil else { return "`ip` (iproute2) not found" }
        return nil
    }()

    /// One host's libvirtd as lab.json records it.
    struct LibvirtHost: Sendable {
        var hostId: String
        var base: String
        var socketURI: String
        var migrationURI: String
        var namespace: String
        var address: String
    }

    /// `torpor-lab up --libvirt kvm --hosts N` (plus `extra`), with scripts/lab-libvirtd from this source tree.
    static func kvm(hosts: Int, extra: [String] = [], portsPerHost: Int = 1) async throws -> LabUnderTest {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            key != "NOTIFY_SOCKET" && !key.hasPrefix("WATCHDOG_") && !key.hasPrefix("LISTEN_")
        }
        environment["TORPOR_LAB_LIBVIRTD"] = KVMLab.script
        // Cold libvirtd starts (~9 s each, all at once) on a loaded 2-core machine: give them minutes.
        return try await up(
            hosts: hosts,
            extra: ["--libvirt", "kvm", "--timeout", "150"] + extra,
            portsPerHost: portsPerHost,
            environment: environment,
            timeout: .seconds(300)
        )
    }

    /// The lab's libvirtds, host-1 first.
    func libvirtHosts() throws -> [LibvirtHost] {
        let daemons = try #require(labState()?["libvirtDaemons"] as? [[String: Any]], "lab.json records no libvirtd")
        return try daemons.map { daemon in
            let address = try #require(daemon["address"] as? String, "\(daemon)")
            return LibvirtHost(
                hostId: try #require(daemon["hostId"] as? String),
                base: try #require(daemon["base"] as? String),
                socketURI: try #require(daemon["uri"] as? String),
                migrationURI: "qemu+tcp://\(address)/system",
                namespace: try #require(daemon["namespace"] as? String, "\(daemon)"),
                address: address
            )
        }
    }

    /// `virsh -c HOST'S SOCKET URI ARGUMENTS…` against host `index` (1-based).
    @discardableResult
    func virsh(_ index: Int, _ arguments: String...) async throws -> ProcessOutput {
        try await ProcessRunner.check(
            ["virsh", "-q", "-c", try libvirtHosts()[index - 1].socketURI] + arguments,
            timeout: .seconds(60)
        )
    }

    /// A 64 MiB guest's domain XML booting `bootSector` from a 1 MiB read-only disk in the lab's directory, which
    /// every host's libvirtd sees (a read-only disk migrates without copying). Returns the template's path.
    func guestTemplate(_ name: String, bootSector: [UInt8] = MigrationPair.haltingBootSector) throws -> String {
        let disk = directory.appendingPathComponent("\(name).img")
        try MigrationPair.bootDisk(bootSector).write(to: disk)
        let xml = MigrationPair.guestXML(name, disk: disk.path, readOnly: true)
        let file = directory.appendingPathComponent("\(name).xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    /// Defines and starts a guest on host `index` behind the manager's back (it adopts it from the inventory).
    func startGuest(_ name: String, on index: Int, bootSector: [UInt8] = MigrationPair.haltingBootSector) async throws {
        try await virsh(index, "define", try guestTemplate(name, bootSector: bootSector))
        try await virsh(index, "start", name)
    }

    /// The guest's state on each host, host-1 first ("absent" when that libvirtd does not know it).
    func guestStates(_ name: String) async throws -> [String] {
        var states: [String] = []
        for host in try libvirtHosts() {
            let output = try await ProcessRunner.run(["virsh", "-q", "-c", host.socketURI, "domstate", name])
            states.append(output.succeeded ? output.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : "absent")
        }
        return states
    }

    /// Running (not paused) on host `index` (1-based) and absent from every other host.
    func expectRunningExactlyOnce(
        _ name: String,
        on index: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let states = try await guestStates(name)
        var expected = Array(repeating: "absent", count: states.count)
        expected[index - 1] = "running"
        #expect(states == expected, "\(name) per host: \(states)", sourceLocation: sourceLocation)
    }

    /// Bytes the bridge sent into host `index`'s namespace: the tx counter of the host's veth end on the bridge.
    func bytesSentToHost(_ index: Int) throws -> Int {
        let network = try #require(labState()?["network"] as? [String: Any], "lab.json records no network")
        let bridge = try #require(network["bridge"] as? String)
        let veth = "tl\(bridge.dropFirst("tlb".count))h\(index)"
        let text = try String(contentsOfFile: "/sys/class/net/\(veth)/statistics/tx_bytes", encoding: .utf8)
        return try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}
