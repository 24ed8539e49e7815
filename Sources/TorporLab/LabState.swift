import Foundation

/// `lab.json`: what `torpor-lab up` started, so `status` and `down` act on exactly those processes.
struct LabState: Codable {
    struct Process: Codable {
        /// "manager", "agent-1", …
        var name: String
        /// Nil for the manager.
        var hostId: String?
        var pid: Int32
        var port: Int
        /// The resolved binary, compared with /proc/PID/exe so a reused pid is never taken for ours.
        var executable: String
        var config: String
        var log: String
        /// The address it listens on; nil for loopback (labs without --wol, and lab.json files from before).
        var host: String? = nil

        var address: String { "\(host ?? "127.0.0.1"):\(port)" }
    }

    /// A private libvirtd (`scripts/lab-libvirtd start BASE NAME`) that `lab up --libvirt kvm` started for one agent.
    struct LibvirtDaemon: Codable {
        /// The agent it serves: "host-1", …
        var hostId: String
        /// Its state directory, the BASE the script was given; `lab down` runs `lab-libvirtd stop BASE`.
        var base: String
        /// The URI the agent connects to: qemu:///system?socket=BASE/run/libvirt-sock.
        var uri: String
        /// The scripts/lab-libvirtd that started it, so `lab down` stops it with the same script.
        var script: String
        /// The lab network's namespace it runs in, shared with its host ("torpor-17700-1"), and its address on the
        /// lab's bridge, where it also listens on TCP; nil in lab.json files from before.
        var namespace: String? = nil
        var address: String? = nil

        /// The URI the other hosts' libvirtds migrate to: qemu+tcp://ADDRESS/system, over the lab's bridge.
        var migrationURI: String? { address.map { "qemu+tcp://\($0)/system" } }
    }

    var directory: String
    var startedAt: Date
    var manager: Process
    var agents: [Process]
    /// The private libvirtds of a `--libvirt kvm` lab; nil for the test driver (and in lab.json files from before).
    /// Recorded before each daemon starts, so that `lab down` stops one whose start failed half-way.
    var libvirtDaemons: [LibvirtDaemon]?
    /// The ipmi_sim BMCs of a `--bmc` lab; nil otherwise. Their hosts' agents are started and stopped by them, so
    /// an agent's pid changes with every power cycle and is looked up when needed.
    var bmcs: [Process]?
    /// The Wake-on-LAN "NICs" of a `--wol` lab (`torpor-lab nic`, one per host namespace); nil otherwise. They start
    /// their hosts' agents too.
    var nics: [Process]?
    /// `torpor-lab power-model`, which feeds a `--bmc` lab's power sensors from the hosts' load; nil otherwise.
    var powerModel: Process?
    /// The bridge and namespaces of a `--wol` or `--libvirt kvm` lab, recorded before they are created so `lab down`
    /// removes them.
    var network: LabNetwork?
    /// `--ha`: the managers after the first ("manager-2", …), all campaigning in `etcd`; nil otherwise.
    var standbyManagers: [Process]?
    /// `--ha --group-managers N`: the group manager processes that hold the agents for the leader; nil otherwise.
    var groupManagers: [Process]?
    /// `--ha`: the lab's private etcd (Debian's etcd-server), where the managers elect their leader.
    var etcd: Process?

    /// Every manager, the first one first.
    var managers: [Process] { [manager] + (standbyManagers ?? []) }
    /// Where a client reaches the managers: the first's address, or with `--ha` every manager's, a bootstrap list
    /// that `torpor --manager` and the agents follow the leader through.
    var managerAddress: String { managers.map(\.address).joined(separator: ",") }

    /// Processes that start agents: the lab's agents' pids change with every power cycle and are looked up.
    var powerControllers: [Process] { (bmcs ?? []) + (nics ?? []) }

    var processes: [Process] {
        let helpers =
            (standbyManagers ?? []) + (etcd.map { [$0] } ?? []) + (groupManagers ?? [])
            + (powerModel.map { [$0] } ?? [])
        guard bmcs != nil || nics != nil else { return [manager] + helpers + agents }
        return [manager] + helpers + powerControllers + agents.map(LabProcesses.located)
    }

    static func url(in directory: URL) -> URL { directory.appendingPathComponent("lab.json") }

    /// Nil when there is no lab.json; throws when there is one that cannot be read.
    static func load(from directory: URL) throws -> LabState? {
        let url = url(in: directory)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(LabState.self, from: Data(contentsOf: url))
    }

    func save(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(self).write(to: Self.url(in: directory), options: .atomic)
    }
}
