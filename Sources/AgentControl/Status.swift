import ArgumentParser
import Foundation
import Trust
import Wire

/// `agentctl status`: host, capacity, manager link, and each VM's latest sample.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the agent's host, capacity, manager link and VMs.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let session = AgentSession(options: options)
        let (reply, certificate) = try await session.run { connection in
            (try await session.request(.statusRequest(StatusRequest()), on: connection), connection.peer.certificate)
        }
        guard case .statusReply(let status) = reply else { throw session.unexpected(reply, expected: "StatusReply") }
        if options.json {
            var json = Self.json(status)
            if let certificate {
                json["certificate"] = [
                    "role": certificate.role.rawValue, "name": certificate.name, "serial": certificate.serial,
                    "notValidAfter": ISO8601DateFormatter().string(from: certificate.notValidAfter),
                    "daysLeft": certificate.daysLeft(at: Date()),
                ]
            }
            Output.printJSON(json)
        } else {
            print(Self.text(status))
            // The agent's TLS certificate, so its expiry is seen before it bites (plaintext: none).
            if let certificate { print("certificate: \(certificate) \(describeExpiry(certificate))") }
        }
    }

    static func linkName(_ state: StatusReply.ManagerLink.State) -> String {
        switch state {
        case .notConfigured: "not configured"
        case .connecting: "connecting"
        case .connected: "connected"
        case .disconnected: "disconnected"
        }
    }

    static func json(_ status: StatusReply) -> [String: Any] {
        var host: [String: Any] = [
            "hostId": status.hostID,
            "hostname": status.hostname,
            "agentVersion": status.agentVersion,
            "uptimeSeconds": Int(clamping: status.uptimeSeconds),
            "capacity": [
                "cores": Int(status.capacity.cores),
                "memoryBytes": Int(clamping: status.capacity.memoryBytes),
                "nicRxBytesPerSecond": Int(clamping: status.capacity.nicRxBytesPerSecond),
                "nicTxBytesPerSecond": Int(clamping: status.capacity.nicTxBytesPerSecond),
            ],
        ]
        if let sample = status.host {
            host["usage"] = [
                "cpuCores": Double(sample.cpuCoresInUse),
                "memoryBytes": Int(clamping: sample.memoryInUseBytes),
                "networkRxBytesPerSecond": Double(sample.networkRxBytesPerSecond),
                "networkTxBytesPerSecond": Double(sample.networkTxBytesPerSecond),
            ]
        }
        // What the agent's latest sampling round found.
        host["hypervisorAnswers"] = status.hypervisorProblem == nil
        if let problem = status.hypervisorProblem { host["hypervisorProblem"] = problem }
        return [
            "host": host,
            "manager": [
                "state": linkName(status.manager.state),
                "address": status.manager.address,
                "since": Output.isoTime(milliseconds: status.manager.sinceMilliseconds),
            ],
            "vms": status.vms.map { vm -> [String: Any] in
                var entry: [String: Any] = [
                    "name": vm.name,
                    "uuid": vm.uuid.description,
                    "state": Output.stateName(vm.state),
                    "nics": vm.nics.map { nic -> [String: Any] in
                        [
                            "name": nic.name,
                            "rxBytes": Int(clamping: nic.rxBytes),
                            "txBytes": Int(clamping: nic.txBytes),
                            "rxBytesPerSecond": nic.rxBytesPerSecond,
                            "txBytesPerSecond": nic.txBytesPerSecond,
                        ]
                    },
                ]
                if let latest = vm.latest { entry["latest"] = Output.metricsJSON(latest) }
                return entry
            },
        ]
    }

    static func text(_ status: StatusReply) -> String {
        var lines = [
            "host      \(status.hostname) (id \(status.hostID)), agent \(status.agentVersion), up \(status.uptimeSeconds) s",
            "capacity  \(status.capacity.cores) cores, \(Output.bytes(Double(status.capacity.memoryBytes))) memory, "
                + "NIC \(Output.bytes(Double(status.capacity.nicRxBytesPerSecond)))/s",
        ]
        if let host = status.host {
            lines.append(
                "usage     \(String(format: "%.2f", host.cpuCoresInUse)) cores, \(Output.bytes(Double(host.memoryInUseBytes))) memory"
            )
        }
        if let problem = status.hypervisorProblem {
            lines.append("libvirt   does not answer: \(problem)")
        }
        let link = status.manager
        lines.append(
            "manager   \(linkName(link.state))\(link.address.isEmpty ? "" : " \(link.address)") since "
                + Output.isoTime(milliseconds: link.sinceMilliseconds)
        )
        guard !status.vms.isEmpty else { return lines.joined(separator: "\n") }
        var rows = [["VM", "STATE", "CPU", "MEMORY", "RX/s", "TX/s", "DISK R/s", "DISK W/s"]]
        for vm in status.vms {
            if let m = vm.latest {
                rows.append([
                    vm.name, Output.stateName(vm.state), String(format: "%.3f", m.cpuCoresInUse),
                    Output.bytes(Double(m.memoryInUseBytes)), Output.bytes(m.networkRxBytesPerSecond),
                    Output.bytes(m.networkTxBytesPerSecond), Output.bytes(m.diskReadBytesPerSecond),
                    Output.bytes(m.diskWriteBytesPerSecond),
                ])
            } else {
                rows.append([vm.name, Output.stateName(vm.state), "-", "-", "-", "-", "-", "-"])
            }
        }
        return lines.joined(separator: "\n") + "\n\n" + Output.table(rows)
    }
}
