import AgentControl
import ArgumentParser
import Foundation
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `torpor lab up`: writes the configurations, starts the daemons detached, waits until every agent has joined.
struct LabUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a manager and N agents on loopback and wait until every agent has joined."
    )

    enum LibvirtDriver: String, ExpressibleByArgument, CaseIterable {
        case test, kvm
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
                $\(LabKVM.scriptVariable), else above the torpor executable); `lab down` stops those daemons and \
                their guests. Host capacity is then the real machine's.
                """
        )
    )
    var libvirt = LibvirtDriver.test

    @Option(name: .long, help: "The manager's port; agents listen on the following ones.")
    var basePort = 17700

    @Option(name: .long, help: "Seconds to wait for every agent to join the manager.")
    var timeout: Double = 60

    @Option(name: .long, help: "Placement policy: first-fit, round-robin or best-fit-decreasing.")
    var policy = "first-fit"

    @Option(name: .long, help: "CPU cores of each test-driver host.")
    var hostCores = 4

    @Option(name: .long, help: "Memory of each test-driver host, in MiB.")
    var hostMemoryMib = 8192

    func validate() throws {
        guard (1...64).contains(hosts) else { throw ValidationError("--hosts must be between 1 and 64") }
        guard basePort >= 1, basePort + hosts <= 65535 else {
            throw ValidationError("--base-port leaves no room for \(hosts) agent ports below 65536")
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
        if let existing = try? LabState.load(from: directory) {
            let running =
                existing.processes.filter(LabProcesses.isRunning).map(\.pid)
                + (existing.libvirtDaemons ?? []).compactMap(LabKVM.pid(of:))
            if !running.isEmpty {
                let pids = running.map { String($0) }.joined(separator: ", ")
                throw options.failure(
                    "a lab is already running in \(directory.path) (pids \(pids)); stop it with "
                        + "`torpor lab down --dir \(options.dir)`",
                    code: TorporExit.failed
                )
            }
        }
        let state: LabState
        do {
            let script = libvirt == .kvm ? try LabKVM.preflight() : nil
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

        let managerAddress = "127.0.0.1:\(basePort)"
        var manager = LabState.Process(
            name: "manager",
            hostId: nil,
            pid: 0,
            port: basePort,
            executable: managerBinary,
            config: path("manager.yaml"),
            log: path("manager.log")
        )
        // Short intervals so the lab comes up and notices a stopped agent within seconds.
        try write(
            """
            manager_id: lab-manager
            listen: \(managerAddress)
            heartbeat_interval: 1s
            heartbeat_timeout: 5s
            report_interval: 2s
            ring_capacity: 60
            log_heartbeats: false
            database: \(path("manager.sqlite"))
            placement_policy: \(policy)
            vm_subnets: [10.42.0.0/24]
            reserved_addresses: [10.42.0.1]

            """,
            to: manager.config
        )
        // lab.json is written after each start so that a failure half-way still lets `lab down` stop the rest; each
        // libvirtd is recorded before it starts (its stop is idempotent), the manager's pid stays 0 until it runs.
        var state = LabState(directory: directory.path, startedAt: Date(), manager: manager, agents: [])
        var libvirtURIs: [String: String] = [:]
        if let libvirtScript {
            var daemons: [LabState.LibvirtDaemon] = []
            for index in 1...hosts {
                daemons.append(
                    try LabKVM.daemon(
                        hostId: "host-\(index)",
                        base: directory.appendingPathComponent("libvirt-host-\(index)"),
                        script: libvirtScript
                    )
                )
            }
            state.libvirtDaemons = daemons
            try save(state, in: directory)
            do {
                state.libvirtDaemons = try await LabKVM.start(daemons)
            } catch {
                // Nothing else runs yet: stop the daemons that did start and leave no lab behind.
                let failures = await LabKVM.stop(daemons)
                guard failures.isEmpty else {
                    let stop = failures.map(\.description).joined(separator: "\n")
                    throw LabError(
                        "\(error.description)\nstopping the lab's libvirtds failed too:\n\(stop)\n"
                            + "retry with `torpor lab down --dir \(options.dir)`"
                    )
                }
                try? FileManager.default.removeItem(at: LabState.url(in: directory))
                throw error
            }
            try save(state, in: directory)
            for daemon in state.libvirtDaemons ?? [] { libvirtURIs[daemon.hostId] = daemon.uri }
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
                log: path("agent-\(index).log")
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
                manager: \(managerAddress)
                sample_interval: 1s
                heartbeat_interval: 1s
                log: stderr

                """,
                to: agent.config
            )
            agents.append(agent)
        }

        manager.pid = try LabProcesses.spawnDetached(
            [managerBinary, "--config", manager.config, "--log", "stderr"],
            log: manager.log
        )
        state.manager = manager
        try save(state, in: directory)
        for var agent in agents {
            agent.pid = try LabProcesses.spawnDetached([agentBinary, "--config", agent.config], log: agent.log)
            state.agents.append(agent)
            try save(state, in: directory)
        }
        return state
    }

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

    /// Polls the manager until it lists every lab host as connected; a daemon that dies ends the wait at once.
    private func waitUntilJoined(_ state: LabState) async throws {
        let expected = Set(state.agents.compactMap(\.hostId))
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(timeout * 1000))
        while true {
            // Reap our own children that died, so that they stop counting as running.
            var status: Int32 = 0
            while waitpid(-1, &status, WNOHANG) > 0 {}
            if let dead = state.processes.first(where: { !LabProcesses.isRunning($0) }) {
                throw options.failure(
                    "\(dead.name) (pid \(dead.pid)) exited during start-up; see \(dead.log). "
                        + "Stop the rest with `torpor lab down --dir \(options.dir)`",
                    code: TorporExit.failed
                )
            }
            if let status = await ManagerQuery.probe(manager: state.manager.address, timeout: .seconds(2)) {
                let joined = Set(status.hosts.filter(\.connected).map(\.hostID))
                if joined.isSuperset(of: expected) { return }
            }
            guard clock.now < deadline else {
                throw options.failure(
                    "not every agent joined the manager within \(Int(timeout)) s; logs are in "
                        + "\(state.directory). Stop the lab with `torpor lab down --dir \(options.dir)`",
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
        print("lab up in \(state.directory): manager \(state.manager.address), \(state.agents.count) agents joined")
        print("")
        print(Output.table(rows))
        if let daemons = state.libvirtDaemons, !daemons.isEmpty {
            print("")
            print(Output.table([["LIBVIRTD", "URI"]] + daemons.map { [$0.hostId, $0.uri] }))
        }
        print("")
        print("torpor hosts --manager \(state.manager.address)")
        print("torpor lab down --dir \(options.dir)")
    }
}
