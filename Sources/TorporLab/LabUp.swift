import AgentControl
import ArgumentParser
import Commands
import Foundation
import TorporCLI
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `torpor-lab up`: writes the configurations, starts the daemons detached, waits until every agent has joined.
struct LabUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a manager and N agents on loopback and wait until every agent has joined."
    )

    enum LibvirtDriver: String, ExpressibleByArgument, CaseIterable {
        case test, kvm
    }

    enum LogTarget: String, ExpressibleByArgument, CaseIterable {
        case stderr, journal
    }

    @OptionGroup var options: LabOptions

    @Option(name: .long, help: "Number of agents (hosts host-1 … host-N).")
    var hosts = 1

    @Option(
        name: .long,
        help: ArgumentHelp(
            "libvirt for the agents: test (libvirt's test driver) or kvm (a private libvirtd with KVM per agent).",
            discussion: """
                kvm starts scripts/lab-libvirtd for each agent (needs root and /dev/kvm; the script is found through \
                $\(LabKVM.scriptVariable), else above the torpor executable), each in its host's network namespace \
                on the lab's bridge, listening on TCP there so migrations between hosts cross the bridge; `lab down` \
                stops those daemons and their guests and removes the namespaces. Host capacity is then the real \
                machine's. With --bmc a host's power starts and stops its libvirtd too.
                """
        )
    )
    var libvirt = LibvirtDriver.test

    @Option(name: .long, help: "The manager's port; agents listen on the following ones.")
    var basePort = 17700

    @Option(
        name: .long,
        help: """
            Serve Prometheus metrics (metrics.listen): the manager's /metrics on this port, each agent's on the \
            following ones (host-1 on PORT+1, …). Off unless given.
            """
    )
    var metricsPort: Int?

    @Option(
        name: .long,
        help: """
            Serve the manager's HTTP front with Snooze's REST API and the web view (/ui/) on this port, on the \
            manager's address (http.listen).
            """
    )
    var httpPort: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Publish Snooze's events to the RabbitMQ broker at HOST:PORT (events.rabbitmq).",
            discussion: """
                On Snooze's system, management and monitoring topic exchanges, as --rabbitmq-user with the password \
                in --rabbitmq-password-file (default guest/guest), retried every 0.2–2 s while the broker is away.
                """
        )
    )
    var rabbitmq: String?

    @Option(name: .long, help: "The RabbitMQ user (events.rabbitmq.user).")
    var rabbitmqUser = "guest"

    @Option(
        name: .long,
        help: "A file with the RabbitMQ password, not readable by others (events.rabbitmq.password_file)."
    )
    var rabbitmqPasswordFile: String?

    @Option(name: .long, help: "Seconds to wait for every agent to join the manager.")
    var timeout: Double = 60

    @Option(
        name: .long,
        help: "Where the daemons log: stderr (the lab's log files) or journal (sd-journal, with structured fields)."
    )
    var log = LogTarget.stderr

    @Option(name: .long, help: "Placement policy: first-fit, round-robin or best-fit-decreasing.")
    var policy = "first-fit"

    @Option(name: .long, help: "CPU cores of each test-driver host.")
    var hostCores = 4

    @Option(name: .long, help: "Memory of each test-driver host, in MiB.")
    var hostMemoryMib = 8192

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Give every host an ipmi_sim BMC and turn the energy saver on.",
            discussion: """
                BMC power on starts the host's agent, power off stops it; the agent's power actions ask its own BMC \
                for power off, and the manager wakes hosts through IPMI. BMC ports follow the agents' ports (with --ha, the \
                group managers').
                """
        )
    )
    var bmc = false

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Put every host in its own network namespace with a Wake-on-LAN NIC, and turn the energy saver on.",
            discussion: """
                Needs root. A bridge in the root namespace carries the manager's address; a sleeping host's NIC \
                (`torpor-lab nic`) listens on UDP port 9 and starts the agent when its magic packet arrives. With \
                --bmc as well, hosts are woken through IPMI first and Wake-on-LAN second.
                """
        )
    )
    var wol = false

    @Flag(
        name: .long,
        help: "Switch the manager's relocation off (relocation.enabled: false), so only migrations asked for run."
    )
    var noRelocation = false

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Mutual TLS on every link: a lab CA and certificates in DIR/tls (always with --wol).",
            discussion: """
                The manager, each agent and an operator get certificates from a CA made for the lab \
                (docs/security.md); `lab up` prints the TORPOR_CA, TORPOR_CERT and TORPOR_KEY that agentctl and \
                torpor need. Without it the lab's daemons speak plaintext on 127.0.0.1.
                """
        )
    )
    var tls = false

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Managers that fail over: a private etcd and --managers torpor-manager processes (docs/ha.md).",
            discussion: """
                The managers campaign in an election on the lab's etcd (Debian's etcd-server, on the two ports after \
                the managers'); the elected one runs the group leader, the others stand by and say who leads. Each has \
                its own SQLite file; what carries over a failover is the leader's copy in etcd. The agents, and \
                `torpor --manager A,B,C`, follow the leader through the list of the managers' addresses. The first \
                manager is on --base-port, the others on the ports after the agents'. With --bmc every manager has \
                the BMCs and the power model follows the leader; with --wol every manager listens on the bridge and \
                the leader sends the magic packets.
                """
        )
    )
    var ha = false

    @Option(name: .long, help: "With --ha: how many managers (2–9).")
    var managers = 3

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --ha: group manager processes (0–9) that hold the agents for the leader (docs/ha.md).",
            discussion: """
                Each is a `torpor-manager --role group-manager` on the ports after etcd's, following the managers \
                through their addresses. The leader holds no agent then: it deals the hosts to the group managers \
                round robin, and a host whose group manager dies joins another.
                """
        )
    )
    var groupManagers = 0

    @Option(name: .long, help: "Energy saver (--bmc, --wol): seconds without a VM before a host is put to sleep.")
    var idleTime: Double = 30

    @Option(name: .long, help: "Energy saver (--bmc, --wol): idle hosts always kept awake.")
    var reserved = 1

    @Option(name: .long, help: "Energy saver (--bmc, --wol): seconds a woken host stays up at least.")
    var minimumAwake: Double = 30

    @Option(name: .long, help: "Energy saver (--bmc, --wol): seconds each wake driver has for the host to rejoin.")
    var wakeupTime: Double = 30

    func validate() throws {
        guard (1...64).contains(hosts) else { throw ValidationError("--hosts must be between 1 and 64") }
        if ha {
            guard (2...9).contains(managers) else { throw ValidationError("--managers must be between 2 and 9") }
            guard (0...9).contains(groupManagers) else {
                throw ValidationError("--group-managers must be between 0 and 9")
            }
        } else if managers != 3 {
            throw ValidationError("--managers needs --ha (managers that fail over)")
        } else if groupManagers != 0 {
            throw ValidationError("--group-managers needs --ha (a group leader elected in etcd)")
        }
        let portsNeeded = (bmc ? 3 * hosts : hosts) + (ha ? managers + 2 + groupManagers : 0)
        guard basePort >= 1, basePort + portsNeeded <= 65535 else {
            throw ValidationError("--base-port leaves no room for \(portsNeeded) ports below 65536")
        }
        if let metricsPort, metricsPort < 1 || metricsPort + hosts > 65535 {
            throw ValidationError("--metrics-port leaves no room for \(hosts + 1) ports below 65536")
        }
        guard idleTime >= 0.5, idleTime.isFinite, minimumAwake >= 0, minimumAwake.isFinite else {
            throw ValidationError("--idle-time must be at least 0.5 s and --minimum-awake not negative")
        }
        guard wakeupTime >= 1, wakeupTime.isFinite else { throw ValidationError("--wakeup-time must be at least 1 s") }
        guard reserved >= 0 else { throw ValidationError("--reserved must not be negative") }
        if let httpPort, !(1...65535).contains(httpPort) {
            throw ValidationError("--http-port must be between 1 and 65535")
        }
        if let rabbitmq, Self.hostPort(rabbitmq) == nil {
            throw ValidationError("--rabbitmq must be HOST:PORT with a port between 1 and 65535, not '\(rabbitmq)'")
        }
        if rabbitmq == nil, rabbitmqPasswordFile != nil || rabbitmqUser != "guest" {
            throw ValidationError("--rabbitmq-user and --rabbitmq-password-file need --rabbitmq HOST:PORT")
        }
        guard timeout > 0, timeout.isFinite else {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
        guard ["first-fit", "round-robin", "best-fit-decreasing"].contains(policy) else {
            throw ValidationError("--policy must be first-fit, round-robin or best-fit-decreasing")
        }
        guard (1...4096).contains(hostCores) else { throw ValidationError("--host-cores must be between 1 and 4096") }
        guard (64...16_777_216).contains(hostMemoryMib) else {
            throw ValidationError("--host-memory-mib must be between 64 and 16777216")
        }
    }

    func run() async throws {
        let directory = options.directory
        let existingState = try? LabState.load(from: directory)
        if let existing = existingState {
            let running =
                existing.processes.filter(LabProcesses.isRunning).map(\.pid)
                + (existing.libvirtDaemons ?? []).compactMap(LabKVM.pid(of:))
            if !running.isEmpty {
                let pids = running.map { String($0) }.joined(separator: ", ")
                throw options.failure(
                    "a lab is already running in \(directory.path) (pids \(pids)); stop it with "
                        + "`torpor-lab down --dir \(options.dir)`",
                    code: TorporExit.failed
                )
            }
        }
        let state: LabState
        do {
            let script = libvirt == .kvm ? try LabKVM.preflight() : nil
            if wol || libvirt == .kvm { try await LabNetwork.preflight(for: wol ? "--wol" : "--libvirt kvm") }
            // What a lab that crashed here left behind (lab.json records it before creating it) is ours to remove.
            if let stale = existingState?.network { _ = await stale.remove() }
            state = try await start(in: directory, libvirtScript: script)
        } catch let error as LabError {
            throw options.failure(error.description, code: TorporExit.failed)
        }
        try await waitUntilJoined(state)
        report(state)
    }

    /// Writes the configuration files, starts every daemon and records lab.json. With `libvirtScript` (--libvirt kvm)
    /// each agent first gets a private libvirtd from that script.
    private func start(in directory: URL, libvirtScript: String?) async throws -> LabState {
        let managerBinary = try LabProcesses.binary("torpor-manager")
        let agentBinary = try LabProcesses.binary("torpor-agent")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw LabError("cannot create \(directory.path): \(error.localizedDescription)")
        }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func write(_ text: String, to file: String) throws {
            do {
                try text.write(toFile: file, atomically: true, encoding: .utf8)
            } catch {
                throw LabError("cannot write \(file): \(error.localizedDescription)")
            }
        }

        // Each host's network namespace on a bridge: with --wol its agent and NIC live there and reach the manager
        // (and the BMCs) on the bridge; with --libvirt kvm its libvirtd does, so that migrations cross the bridge.
        let network = wol || libvirtScript != nil ? LabNetwork(basePort: basePort, hosts: hosts) : nil
        let hostNetwork = wol ? network : nil
        let managerHost = hostNetwork?.gateway ?? "127.0.0.1"
        let managerAddress = "\(managerHost):\(basePort)"
        // Plaintext is for loopback only: the --wol lab's bridge addresses need TLS.
        if tls || wol {
            try LabTLS.make(in: directory.path, hosts: hosts)
        } else {
            LabTLS.remove(in: directory.path)
        }
        // With --ha the BMCs' ports come after the other managers', etcd's and the group managers'.
        let bmcPortOffset = ha ? managers + 1 + groupManagers : 0
        let bmcHosts =
            bmc
            ? (1...hosts).map { index in
                LabBMC.Host(
                    index: index,
                    directory: path("bmc-\(index)"),
                    lanPort: basePort + bmcPortOffset + hosts + index,
                    serialPort: basePort + bmcPortOffset + 2 * hosts + index,
                    password: LabBMC.randomPassword(),
                    address: managerHost
                )
            } : []
        var manager = LabState.Process(
            name: "manager",
            hostId: nil,
            pid: 0,
            port: basePort,
            executable: managerBinary,
            config: path("manager.yaml"),
            log: path("manager.log"),
            host: hostNetwork?.gateway
        )
        // --ha: the other managers on the ports after the agents', then etcd's client and peer ports.
        let standbyPorts = ha ? (2...managers).map { basePort + hosts + $0 - 1 } : []
        let etcdPort = basePort + hosts + managers
        // --group-managers: after etcd's client and peer ports.
        let groupManagerPorts = (0..<groupManagers).map { etcdPort + 2 + $0 }
        let managerAddresses = [managerAddress] + standbyPorts.map { "\(managerHost):\($0)" }
        let agentsManager =
            ha
            ? "managers: ["
                + ([managerAddress] + standbyPorts.map { "\(managerHost):\($0)" }).map(Self.quoted)
                .joined(separator: ", ") + "]"
            : "manager: \(managerAddress)"
        let coordination =
            ha
            ? """
            coordination:
              etcd: { endpoints: ["http://127.0.0.1:\(etcdPort)"] }
              lease_ttl: 5s
            \(groupManagers > 0 ? "group_managers: { assignment: round-robin, rebalance_interval: 3s }" : "")
            """ : ""
        // Short intervals so the lab comes up and notices a stopped agent within seconds. With --ha every manager
        // gets the same settings but its own id, address and database file, as on machines of their own: the
        // state that carries over a failover is the copy in etcd (docs/ha.md).
        func managerYAML(id: String, listen: String) -> String {
            """
            manager_id: \(id)
            listen: \(listen)
            heartbeat_interval: 1s
            heartbeat_timeout: 5s
            report_interval: 2s
            ring_capacity: 60
            log_heartbeats: false
            database: \(path(ha ? "\(id).sqlite" : "manager.sqlite"))
            placement_policy: \(policy)
            relocation: { enabled: \(!noRelocation) }
            vm_subnets: [10.42.0.0/24]
            reserved_addresses: [10.42.0.1]
            \(metricsPort.map { "metrics: { listen: \"\(managerHost):\($0)\" }" } ?? "")
            images:
              directory: \(path("images"))
              domain_type: \(libvirt == .kvm ? "kvm" : "test")
              interface_type: ethernet
            \(httpPort.map { "http: { listen: \"\(managerHost):\($0)\", \(Self.httpAPIs) }" } ?? "")
            \(rabbitmqSection())
            \(bmc || wol ? energySection(bmcHosts, network: hostNetwork) : "")
            \(LabTLS.section(in: directory.path, holder: "lab-manager"))
            \(coordination)
            """
        }
        try write(managerYAML(id: ha ? "lab-manager-1" : "lab-manager", listen: managerAddress), to: manager.config)
        // lab.json is written after each start so that a failure half-way still lets `lab down` stop the rest; each
        // libvirtd is recorded before it starts (its stop is idempotent), the manager's pid stays 0 until it runs.
        var state = LabState(directory: directory.path, startedAt: Date(), manager: manager, agents: [])
        if let network {
            // Recorded first: `lab down` removes whatever part of it exists.
            state.network = network
            try save(state, in: directory)
            do {
                try await network.create()
            } catch {
                _ = await network.remove()
                try? FileManager.default.removeItem(at: LabState.url(in: directory))
                throw error
            }
        }
        var libvirtURIs: [String: String] = [:]
        var migrationURIs: [String: String] = [:]
        if let libvirtScript, let network {
            var daemons: [LabState.LibvirtDaemon] = []
            for index in 1...hosts {
                daemons.append(
                    try LabKVM.daemon(
                        hostId: "host-\(index)",
                        base: directory.appendingPathComponent("libvirt-host-\(index)"),
                        script: libvirtScript,
                        namespace: network.namespace(ofHost: index),
                        address: network.address(ofHost: index)
                    )
                )
            }
            state.libvirtDaemons = daemons
            try save(state, in: directory)
            do {
                state.libvirtDaemons = try await LabKVM.start(daemons)
            } catch {
                // Nothing else runs yet: stop the daemons that did start and leave no lab behind.
                var failures = await LabKVM.stop(daemons)
                if failures.isEmpty { failures = await network.remove().map(LabError.init) }
                guard failures.isEmpty else {
                    let stop = failures.map(\.description).joined(separator: "\n")
                    throw LabError(
                        "\(error.description)\nstopping the lab's libvirtds failed too:\n\(stop)\n"
                            + "retry with `torpor-lab down --dir \(options.dir)`"
                    )
                }
                try? FileManager.default.removeItem(at: LabState.url(in: directory))
                throw error
            }
            try save(state, in: directory)
            for daemon in state.libvirtDaemons ?? [] {
                libvirtURIs[daemon.hostId] = daemon.uri
                migrationURIs[daemon.hostId] = daemon.migrationURI
            }
        }

        var agents: [LabState.Process] = []
        for index in 1...hosts {
            let agent = LabState.Process(
                name: "agent-\(index)",
                hostId: "host-\(index)",
                pid: 0,
                port: basePort + index,
                executable: agentBinary,
                config: path("agent-\(index).yaml"),
                log: path("agent-\(index).log"),
                host: hostNetwork?.address(ofHost: index)
            )
            let libvirtURI: String
            if let uri = libvirtURIs["host-\(index)"] {
                libvirtURI = Self.quoted(uri)
            } else {
                // Each host gets its own test-driver node: its capacity, and no VMs but those Torpor starts.
                let node = path("host-\(index)-node.xml")
                libvirtURI = "test://\(node)"
                try write(
                    """
                    <node>
                      <cpu>
                        <mhz>2400</mhz>
                        <model>x86_64</model>
                        <nodes>1</nodes>
                        <sockets>1</sockets>
                        <cores>\(hostCores)</cores>
                        <threads>1</threads>
                        <active>\(hostCores)</active>
                      </cpu>
                      <memory>\(hostMemoryMib * 1024)</memory>
                    </node>

                    """,
                    to: node
                )
            }
            try write(
                """
                host_id: host-\(index)
                hostname: host-\(index)
                libvirt_uri: \(libvirtURI)
                listen: \(agent.address)
                \(agentsManager)
                sample_interval: 1s
                heartbeat_interval: 1s
                # The lab's hosts share this machine: each one's CPU and memory are its own VMs', not the machine's.
                host_metrics: vms
                log: \(log.rawValue)
                \(metricsPort.map { "metrics: { listen: \"\(agent.host ?? "127.0.0.1"):\($0 + index)\" }" } ?? "")
                \(bmc ? powerSection(bmcHosts[index - 1].powerOffScript) : wol ? powerSection(path("nic-\(index)/power-off")) : "")
                \(migrationURIs["host-\(index)"].map(Self.migrationSection) ?? "")
                \(LabTLS.section(in: directory.path, holder: "host-\(index)"))
                """,
                to: agent.config
            )
            agents.append(agent)
        }

        // The manager checks the BMCs' password files when it starts.
        do {
            for host in bmcHosts { try LabBMC.writePassword(host) }
        } catch {
            throw LabError("cannot write a BMC password file: \(error)")
        }
        if ha {
            let etcdBinary = "/usr/bin/etcd"
            guard FileManager.default.isExecutableFile(atPath: etcdBinary) else {
                throw LabError("--ha needs etcd (\(etcdBinary)): scripts/install-deps installs etcd-server")
            }
            // A fresh election: keys left by an earlier lab in this directory would hold it up a lease TTL.
            try? FileManager.default.removeItem(atPath: path("etcd"))
            let client = "http://127.0.0.1:\(etcdPort)"
            let peer = "http://127.0.0.1:\(etcdPort + 1)"
            let etcdPid = try LabProcesses.spawnDetached(
                [
                    etcdBinary, "--name", "torpor-lab", "--data-dir", path("etcd"), "--listen-client-urls", client,
                    "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls",
                    peer, "--initial-cluster", "torpor-lab=\(peer)", "--log-outputs", "stderr",
                ],
                log: path("etcd.log")
            )
            state.etcd = LabState.Process(
                name: "etcd",
                hostId: nil,
                pid: etcdPid,
                port: etcdPort,
                executable: etcdBinary,
                config: path("etcd"),
                log: path("etcd.log")
            )
            try save(state, in: directory)
        }
        manager.pid = try LabProcesses.spawnDetached(
            [managerBinary, "--config", manager.config, "--log", log.rawValue],
            log: manager.log
        )
        state.manager = manager
        try save(state, in: directory)
        for (index, port) in zip(2..., standbyPorts) {
            var standby = LabState.Process(
                name: "manager-\(index)",
                hostId: nil,
                pid: 0,
                port: port,
                executable: managerBinary,
                config: path("manager-\(index).yaml"),
                log: path("manager-\(index).log"),
                host: hostNetwork?.gateway
            )
            try write(managerYAML(id: "lab-manager-\(index)", listen: standby.address), to: standby.config)
            standby.pid = try LabProcesses.spawnDetached(
                [managerBinary, "--config", standby.config, "--log", log.rawValue],
                log: standby.log
            )
            state.standbyManagers = (state.standbyManagers ?? []) + [standby]
            try save(state, in: directory)
        }
        for (index, port) in zip(1..., groupManagerPorts) {
            var groupManager = LabState.Process(
                name: "group-manager-\(index)",
                hostId: nil,
                pid: 0,
                port: port,
                executable: managerBinary,
                config: path("group-manager-\(index).yaml"),
                log: path("group-manager-\(index).log"),
                host: hostNetwork?.gateway
            )
            try write(
                """
                role: group-manager
                manager_id: lab-gm-\(index)
                listen: \(groupManager.address)
                heartbeat_interval: 1s
                heartbeat_timeout: 5s
                report_interval: 2s
                ring_capacity: 60
                group_manager:
                  leaders: [\(managerAddresses.map(Self.quoted).joined(separator: ", "))]
                \(LabTLS.section(in: directory.path, holder: "lab-manager"))
                """,
                to: groupManager.config
            )
            groupManager.pid = try LabProcesses.spawnDetached(
                [managerBinary, "--config", groupManager.config, "--log", log.rawValue],
                log: groupManager.log
            )
            state.groupManagers = (state.groupManagers ?? []) + [groupManager]
            try save(state, in: directory)
        }
        // Agents ask the leader for a group manager as they start: every group manager is linked first, so that the
        // hosts are dealt among all of them.
        for groupManager in state.groupManagers ?? [] {
            try await Self.waitUntilLinked(groupManager, checkLog: log == .stderr, timeout: .seconds(timeout))
        }
        if let network = hostNetwork {
            // Each host's NIC runs in its namespace for the lab's lifetime; without a BMC it powers the host on.
            state.nics = []
            let labBinary = try LabProcesses.binary("torpor-lab")
            for (index, agent) in zip(1..., agents) {
                let nicDirectory = path("nic-\(index)")
                do {
                    try FileManager.default.createDirectory(atPath: nicDirectory, withIntermediateDirectories: true)
                    if !bmc {
                        let script = "\(nicDirectory)/power-off"
                        try ExecutableFile.write(LabBMC.powerOffScript(directory: nicDirectory, bmc: nil), to: script)
                    }
                } catch {
                    throw LabError("cannot write \(nicDirectory): \(error.localizedDescription)")
                }
                let argv =
                    [
                        labBinary, "nic", "--host", "host-\(index)", "--mac", LabNetwork.mac(ofHost: index),
                        "--agent-address", agent.address, "--agent-log", agent.log,
                    ] + (bmc ? [] : ["--power-on"]) + ["--", agentBinary, "--config", agent.config]
                let pid = try LabProcesses.spawnDetached(
                    try network.inNamespace(ofHost: index, argv),
                    log: "\(nicDirectory)/nic.log"
                )
                state.nics?.append(
                    LabState.Process(
                        name: "nic-\(index)",
                        hostId: "host-\(index)",
                        pid: pid,
                        port: 9,
                        executable: labBinary,
                        config: agent.config,
                        log: "\(nicDirectory)/nic.log",
                        host: network.address(ofHost: index)
                    )
                )
                try save(state, in: directory)
            }
            // `ip netns exec` runs first: wait until each NIC really runs, so the start-up watch knows it.
            for nic in state.nics ?? [] { try await Self.waitUntilRunning(nic) }
        }
        if bmc {
            // Each BMC starts its host's agent (startnow): the agents' pids are found when they run.
            state.bmcs = []
            for (index, (agent, host)) in zip(1..., zip(agents, bmcHosts)) {
                let agentArgv = [agentBinary, "--config", agent.config]
                try await LabBMC.prepare(
                    host,
                    agentArgv: try hostNetwork?.inNamespace(ofHost: index, agentArgv) ?? agentArgv,
                    agentLog: agent.log,
                    libvirtd: state.libvirtDaemons?.first { $0.hostId == agent.hostId }
                )
                let pid = try LabProcesses.spawnDetached(try LabBMC.argv(host), log: host.log)
                state.bmcs?.append(
                    LabState.Process(
                        name: "bmc-\(host.index)",
                        hostId: host.hostID,
                        pid: pid,
                        port: host.lanPort,
                        executable: try LabProcesses.binary("ipmi_sim"),
                        config: host.lanConfig,
                        log: host.log
                    )
                )
                state.agents.append(agent)
                try save(state, in: directory)
            }
            let labBinary = try LabProcesses.binary("torpor-lab")
            let modelLog = path("power-model.log")
            let modelPid = try LabProcesses.spawnDetached(
                [
                    labBinary, "power-model", "--manager", managerAddresses.joined(separator: ","), "--dir",
                    directory.path,
                    "--hosts", "\(hosts)",
                ],
                log: modelLog
            )
            state.powerModel = LabState.Process(
                name: "power-model",
                hostId: nil,
                pid: modelPid,
                port: 0,
                executable: labBinary,
                config: directory.path,
                log: modelLog
            )
            try save(state, in: directory)
            return state
        }
        if hostNetwork != nil {
            state.agents = agents
            try save(state, in: directory)
            return state
        }
        for var agent in agents {
            agent.pid = try LabProcesses.spawnDetached([agentBinary, "--config", agent.config], log: agent.log)
            state.agents.append(agent)
            try save(state, in: directory)
        }
        return state
    }

    /// The manager's energy saver and each host's wake drivers: IPMI (--bmc), then Wake-on-LAN (--wol).
    /// The APIs the lab's HTTP front serves (with `--http-port`): Snooze's, Hypervisor-Coordinator's and the web view
    /// (its energy chart sampled every 2 s).
    /// `HOST:PORT` split; nil when it is not that.
    static func hostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), colon > text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        return (String(text[..<colon]), port)
    }

    /// The manager's `events.rabbitmq` section for --rabbitmq; empty without it.
    func rabbitmqSection() -> String {
        guard let rabbitmq, let (host, port) = Self.hostPort(rabbitmq) else { return "" }
        let password = rabbitmqPasswordFile.map { ", password_file: \"\($0)\"" } ?? ""
        return "events: { rabbitmq: { host: \"\(host)\", port: \(port), user: \"\(rabbitmqUser)\"\(password), "
            + "retry_initial: 200ms, retry_max: 2s } }"
    }

    static let httpAPIs =
        "snooze: { enabled: true }, hypervisor_coordinator: { enabled: true }, "
        + "web_view: { enabled: true, sample_interval: 2s }"

    private func energySection(_ bmcHosts: [LabBMC.Host], network: LabNetwork?) -> String {
        var text = """
            energy:
              enabled: true
              idle_time: \(Self.duration(idleTime))
              reserved_hosts: \(reserved)
              minimum_awake: \(Self.duration(minimumAwake))
              minimum_asleep: 5s
              power_on_window: 30s
              evaluation_interval: 1s
              wakeup_time: \(Self.duration(wakeupTime))
              action: suspend-to-ram
              power_reading_interval: 1s
              sdr_cache_directory: \(Self.quoted(options.directory.appendingPathComponent("sdr-cache").path))
            hosts:

            """
        for index in 1...hosts {
            let bmcHost = bmcHosts.isEmpty ? nil : bmcHosts[index - 1]
            let drivers = (bmcHost == nil ? [] : ["ipmi"]) + (network == nil ? [] : ["wol"])
            text += """
                  host-\(index):
                    wake: [\(drivers.joined(separator: ", "))]

                """
            if let bmcHost {
                text += """
                        ipmi:
                          address: \(bmcHost.address):\(bmcHost.lanPort)
                          user: admin
                          password_file: \(Self.quoted(bmcHost.passwordFile))

                    """
            }
            if let network {
                text += """
                        wol:
                          mac: "\(LabNetwork.mac(ofHost: index))"
                          broadcast: \(network.broadcast)
                          port: 9

                    """
            }
        }
        return text
    }

    /// The agent's power actions: the lab script that powers its host off (through its BMC, or by stopping it).
    private func powerSection(_ powerOffScript: String) -> String {
        let script = Self.quoted(powerOffScript)
        return """
            power:
              suspend_to_ram: [\(script), suspend-to-ram]
              suspend_to_disk: [\(script), suspend-to-disk]
              suspend_to_both: [\(script), suspend-to-both]
              shutdown: [\(script), shutdown]

            """
    }

    /// The URI the other hosts' libvirtds migrate to this host at, across the lab's bridge; the agent announces it
    /// to the manager, which hands it to the source agent of a migration here.
    static func migrationSection(_ uri: String) -> String {
        """
        migration:
          destination_uri: \(quoted(uri))

        """
    }

    /// Until the group manager's log says it linked to the leader (with `--log journal` its log is not in the
    /// lab's files: a few seconds, then on).
    private static func waitUntilLinked(
        _ process: LabState.Process,
        checkLog: Bool,
        timeout: Duration
    ) async throws {
        guard checkLog else {
            try await Task.sleep(for: .seconds(5))
            return
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: process.log, encoding: .utf8)) ?? ""
            if text.contains("linked to the group leader") { return }
            guard kill(process.pid, 0) == 0 else {
                throw LabError("\(process.name) stopped before it linked to the leader; see \(process.log)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw LabError("\(process.name) did not link to the leader within \(timeout); see \(process.log)")
    }

    private static func waitUntilRunning(_ process: LabState.Process) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !LabProcesses.isRunning(process) {
            guard ContinuousClock.now < deadline, kill(process.pid, 0) == 0 else {
                throw LabError("\(process.name) (pid \(process.pid)) did not start; see \(process.log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// How `process`, seen not running, ended; nil when it runs after all. A daemon seen not running once (twice in
    /// CI, never reproduced: an agent "exited" with an empty log and no wait status) is looked at for a second
    /// more: reaped there, its wait status says how it ended; still present, /proc says what that pid is now.
    static func confirmExit(of process: LabState.Process, reaped: Int32?) async -> String? {
        if let reaped { return ending(reaped) }
        for _ in 0..<10 {
            var status: Int32 = 0
            if waitpid(process.pid, &status, WNOHANG) == process.pid { return ending(status) }
            if LabProcesses.isRunning(process) { return nil }
            try? await Task.sleep(for: .milliseconds(100))
        }
        let directory = "/proc/\(process.pid)"
        guard FileManager.default.fileExists(atPath: directory) else { return "gone, not our child: status unknown" }
        let state =
            (try? String(contentsOfFile: "\(directory)/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("State:") }.map(String.init) ?? "State: unknown"
        let exe = LabProcesses.executable(of: process.pid) ?? "unreadable"
        let arguments = LabProcesses.commandLine(of: process.pid).joined(separator: " ")
        return "pid still present but not it: \(state), exe \(exe), command line '\(arguments)'"
    }

    /// How a reaped child ended, from its wait status, for start-up failures.
    static func ending(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exit status \((status >> 8) & 0xff)" }
        return "killed by signal \(signal)\(status & 0x80 != 0 ? ", core dumped" : "")"
    }

    static func duration(_ seconds: Double) -> String { "\(Int((seconds * 1000).rounded()))ms" }

    /// A YAML double-quoted scalar (the URI holds '?' and '=', and the path anything).
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private func save(_ state: LabState, in directory: URL) throws {
        do {
            try state.save(to: directory)
        } catch {
            throw LabError("cannot write \(LabState.url(in: directory).path): \(error.localizedDescription)")
        }
    }

    /// Polls the manager until every lab host has been seen connected (a host may be put to sleep once it has
    /// joined); a daemon that dies ends the wait at once.
    private func waitUntilJoined(_ state: LabState) async throws {
        var watch = LabJoinWatch(expected: Set(state.agents.compactMap(\.hostId)))
        var endings: [pid_t: Int32] = [:]
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(timeout * 1000))
        while true {
            // Reap our own children that died, so that they stop counting as running, keeping how each ended.
            var status: Int32 = 0
            while true {
                let pid = waitpid(-1, &status, WNOHANG)
                guard pid > 0 else { break }
                endings[pid] = status
            }
            let watched =
                state.bmcs == nil && state.nics == nil ? state.processes : [state.manager] + state.powerControllers
            for dead in watched where !LabProcesses.isRunning(dead) {
                guard let ending = await Self.confirmExit(of: dead, reaped: endings[dead.pid]) else { continue }
                throw options.failure(
                    "\(dead.name) (pid \(dead.pid)) exited during start-up (\(ending)); "
                        + "see \(dead.log). "
                        + "Stop the rest with `torpor-lab down --dir \(options.dir)`",
                    code: TorporExit.failed
                )
            }
            if let status = await ManagerQuery.probe(
                manager: state.managerAddress,
                timeout: .seconds(2),
                security: LabTLS.security(in: options.directory.path)
            ),
                watch.saw(connected: status.hosts.filter(\.connected).map(\.hostID))
            {
                return
            }
            guard clock.now < deadline else {
                throw options.failure(
                    "\(watch.missing.joined(separator: ", ")) did not join the manager within \(Int(timeout)) s; logs are in "
                        + "\(state.directory). Stop the lab with `torpor-lab down --dir \(options.dir)`",
                    code: TorporExit.timedOut
                )
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    private func report(_ state: LabState) {
        if options.json {
            Output.printJSON(LabStatus.json(state, running: Set(state.processes.map(\.pid))))
            return
        }
        var rows = [["PROCESS", "HOST", "ADDRESS", "PID", "LOG"]]
        for process in state.processes {
            rows.append([process.name, process.hostId ?? "-", process.address, "\(process.pid)", process.log])
        }
        print("lab up in \(state.directory): manager \(state.managerAddress), \(state.agents.count) agents joined")
        print("")
        print(Output.table(rows))
        if let daemons = state.libvirtDaemons, !daemons.isEmpty {
            print("")
            print(
                Output.table(
                    [["LIBVIRTD", "URI", "MIGRATION URI"]]
                        + daemons.map { [$0.hostId, $0.uri, $0.migrationURI ?? "-"] }
                )
            )
        }
        print("")
        let environment = LabTLS.environment(in: options.directory.path)
        if !environment.isEmpty {
            print(
                "export "
                    + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            )
        }
        print("torpor hosts --manager \(state.managerAddress)")
        print("torpor-lab down --dir \(options.dir)")
    }
}
