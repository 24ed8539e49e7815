import AgentControl
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `torpor-lab down`: stops exactly the recorded processes, keeps the logs.
struct LabDown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract:
            "Stop the lab's processes (SIGTERM, SIGKILL after 10 s) and its libvirtds, remove lab.json; logs stay."
    )

    @OptionGroup var options: LabOptions

    func run() async throws {
        let directory = options.directory
        let state: LabState
        do {
            guard let loaded = try LabState.load(from: directory) else {
                if options.json {
                    Output.printJSON(["directory": directory.path, "stopped": [Int](), "killed": [Int]()])
                } else {
                    print("no lab in \(directory.path): nothing to stop")
                }
                return
            }
            state = loaded
        } catch {
            throw options.failure("cannot read \(LabState.url(in: directory).path): \(error)", code: TorporExit.failed)
        }
        // Only processes that still run the recorded binary and configuration: a reused pid is left alone.
        let running = state.processes.filter(LabProcesses.isRunning)
        // Agents first, so the manager does not log them as failed hosts on its way out.
        LabProcesses.signal(SIGTERM, running.filter { $0.hostId != nil })
        _ = await LabProcesses.waitForExit(running.filter { $0.hostId != nil }, timeout: .seconds(5))
        LabProcesses.signal(SIGTERM, running)
        var leftovers = await LabProcesses.waitForExit(running, timeout: .seconds(10))
        if !leftovers.isEmpty {
            LabProcesses.signal(SIGKILL, leftovers)
            leftovers = await LabProcesses.waitForExit(leftovers, timeout: .seconds(5))
        }
        // Then the private libvirtds of a --libvirt kvm lab, each with its guests: exactly those lab.json records.
        let daemons = state.libvirtDaemons ?? []
        var daemonFailures = await LabKVM.stop(daemons).map(\.description)
        // Then the namespaces and bridge of a --wol or --libvirt kvm lab, once nothing runs in them.
        if let network = state.network, leftovers.isEmpty { daemonFailures += await network.remove() }
        guard leftovers.isEmpty else {
            let pids = leftovers.map { String($0.pid) }.joined(separator: ", ")
            throw options.failure("pids \(pids) survived SIGKILL; lab.json kept", code: TorporExit.failed)
        }
        guard daemonFailures.isEmpty else {
            let failures = daemonFailures.joined(separator: "\n")
            throw options.failure("\(failures)\nlab.json kept", code: TorporExit.failed)
        }
        do {
            try FileManager.default.removeItem(at: LabState.url(in: directory))
        } catch {
            throw options.failure("cannot remove lab.json: \(error.localizedDescription)", code: TorporExit.failed)
        }
        if options.json {
            var json: [String: Any] = ["directory": directory.path, "stopped": running.map { Int($0.pid) }]
            if !daemons.isEmpty { json["libvirtdStopped"] = daemons.map(\.base) }
            Output.printJSON(json)
        } else if daemons.isEmpty {
            print("lab in \(directory.path) stopped (\(running.count) processes); logs kept")
        } else {
            let libvirtds = daemons.count == 1 ? "1 libvirtd" : "\(daemons.count) libvirtds"
            print("lab in \(directory.path) stopped (\(running.count) processes, \(libvirtds)); logs kept")
        }
    }
}
