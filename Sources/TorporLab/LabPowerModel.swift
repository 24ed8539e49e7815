import ArgumentParser
import Foundation
import TorporCLI

/// `torpor-lab power-model`: feeds each `--bmc` lab host's power sensor from the host's load, so the watts the
/// manager reads through IPMI rise with VMs and drop when a host sleeps. Every second it asks the manager which
/// hosts are up and how many VMs each runs, and rewrites the value file the BMC's sensor polls.
struct LabPowerModel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "power-model",
        abstract: "Drive the lab BMCs' power sensors from the hosts' load (used by lab up --bmc).",
        shouldDisplay: false
    )

    @Option(name: .long, help: "The lab manager's address.")
    var manager: String

    @Option(name: .long, help: "The lab's directory (bmc-N/power.val are written there).")
    var dir: String

    @Option(name: .long, help: "Number of hosts.")
    var hosts: Int

    @Option(name: .long, help: "Seconds between updates.")
    var interval: Double = 1

    /// A host that is on and idle.
    static let idleWatts = 100.0
    /// Added per VM the host runs.
    static let wattsPerVM = 25.0
    /// A host that is off (its BMC and NIC on standby power).
    static let standbyWatts = 8.0

    /// The watts a lab host draws: standby when its agent is gone, else idle plus a share per VM (the sensor's
    /// range ends at 510 W).
    static func watts(on: Bool, vms: Int) -> Double {
        guard on else { return standbyWatts }
        return min(510, idleWatts + wattsPerVM * Double(vms))
    }

    func run() async throws {
        let security = LabTLS.security(in: dir)
        while !Task.isCancelled {
            if let status = await ManagerQuery.probe(manager: manager, timeout: .seconds(2), security: security) {
                for host in status.hosts {
                    guard host.hostID.hasPrefix("host-"), let index = Int(host.hostID.dropFirst("host-".count)),
                        (1...hosts).contains(index)
                    else { continue }
                    let watts = Self.watts(on: host.connected, vms: Int(host.vmCount))
                    // The sensor's m = 2: the file holds watts / 2.
                    try? "\(Int((watts / 2).rounded()))\n".write(
                        toFile: "\(dir)/bmc-\(index)/power.val",
                        atomically: true,
                        encoding: .utf8
                    )
                }
            }
            try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
        }
    }
}
