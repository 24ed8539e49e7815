import AgentControl
import ArgumentParser
import Foundation
import TorporCLI
import Wire

/// `torpor-lab status`: the recorded processes, whether each still runs, and the manager's host table.
struct LabStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the lab's processes (pid, alive, port) and the manager's hosts if it answers."
    )

    @OptionGroup var options: LabOptions

    func run() async throws {
        let directory = options.directory
        let state: LabState
        do {
            guard let loaded = try LabState.load(from: directory) else {
                throw options.failure("no lab in \(directory.path) (no lab.json)", code: TorporExit.failed)
            }
            state = loaded
        } catch let error as ExitCode {
            throw error
        } catch {
            throw options.failure("cannot read \(LabState.url(in: directory).path): \(error)", code: TorporExit.failed)
        }
        let running = Set(state.processes.filter(LabProcesses.isRunning).map(\.pid))
        let status = await ManagerQuery.probe(
            manager: state.managerAddress,
            timeout: .seconds(3),
            security: LabTLS.security(in: directory.path)
        )
        if options.json {
            var json = Self.json(state, running: running)
            json["managerStatus"] = status.map { HostTable.json($0, address: state.managerAddress) } ?? NSNull()
            Output.printJSON(json)
            return
        }
        var rows = [["PROCESS", "HOST", "ADDRESS", "PID", "ALIVE"]]
        for process in state.processes {
            rows.append([
                process.name, process.hostId ?? "-", process.address, "\(process.pid)",
                running.contains(process.pid) ? "yes" : "no",
            ])
        }
        print("lab in \(state.directory)\n")
        print(Output.table(rows))
        if let daemons = state.libvirtDaemons, !daemons.isEmpty {
            var daemonRows = [["LIBVIRTD", "PID", "ALIVE", "URI", "MIGRATION URI"]]
            for daemon in daemons {
                let pid = LabKVM.pid(of: daemon)
                daemonRows.append([
                    daemon.hostId, pid.map { "\($0)" } ?? "-", pid == nil ? "no" : "yes", daemon.uri,
                    daemon.migrationURI ?? "-",
                ])
            }
            print("")
            print(Output.table(daemonRows))
        }
        print("")
        if let status {
            print(HostTable.text(status, address: state.managerAddress))
        } else {
            print("manager \(state.managerAddress) unreachable")
        }
    }

    static func json(_ state: LabState, running: Set<Int32>) -> [String: Any] {
        var json: [String: Any] = [
            "directory": state.directory,
            // With --ha, every manager's address: the bootstrap list clients follow the leader through.
            "manager": state.managerAddress,
            "processes": state.processes.map { process -> [String: Any] in
                var entry: [String: Any] = [
                    "name": process.name,
                    "pid": Int(process.pid),
                    "port": process.port,
                    "address": process.address,
                    "alive": running.contains(process.pid),
                    "config": process.config,
                    "log": process.log,
                ]
                if let host = process.hostId { entry["hostId"] = host }
                return entry
            },
        ]
        if let daemons = state.libvirtDaemons {
            json["libvirtDaemons"] = daemons.map { daemon -> [String: Any] in
                var entry: [String: Any] = [
                    "hostId": daemon.hostId, "base": daemon.base, "uri": daemon.uri, "alive": false,
                ]
                if let migrationURI = daemon.migrationURI { entry["migrationUri"] = migrationURI }
                if let namespace = daemon.namespace { entry["namespace"] = namespace }
                if let pid = LabKVM.pid(of: daemon) {
                    entry["pid"] = Int(pid)
                    entry["alive"] = true
                }
                return entry
            }
        }
        return json
    }
}
