import AgentControl
import ArgumentParser
import Foundation
import Wire

/// `torpor vc add VC TEMPLATE…`.
struct VCAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add VMs to a virtual cluster from libvirt domain templates (they start with `vc start`).",
        discussion: """
            Every template is checked before anything is stored: malformed XML, a missing <name> or <memory>, a \
            name or UUID already taken, or a disk file that does not exist rejects the whole request. Each VM gets \
            an address from the manager's subnets, carried in its first interface's MAC (docs/addresses.md).
            """
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Argument(help: "libvirt domain XML files.") var templates: [String]
    @Option(name: .long, help: "Name the VM NAME (with --count, NAME-1 … NAME-N); the template's UUID is dropped.")
    var name: String?
    @Option(name: .long, help: "Make N VMs from the one template (needs --name).") var count = 1
    @Option(name: .long, help: "Network receive bandwidth each VM needs, bytes/s.") var networkRx: UInt64 = 0
    @Option(name: .long, help: "Network transmit bandwidth each VM needs, bytes/s.") var networkTx: UInt64 = 0
    @Flag(
        name: .customLong("ha"),
        help: "Highly available: when its host fails, restart it elsewhere once the host is fenced."
    )
    var highlyAvailable = false
    @OptionGroup var options: ManagerOptions

    func validate() throws {
        guard !templates.isEmpty else { throw ValidationError("give at least one template file") }
        guard (1...1000).contains(count) else { throw ValidationError("--count must be between 1 and 1000") }
        if count > 1 || name != nil {
            guard templates.count == 1 else { throw ValidationError("--name and --count take exactly one template") }
        }
        if count > 1, name == nil { throw ValidationError("--count needs --name") }
    }

    func run() async throws {
        var submissions: [ClusterRequest.VMSubmission] = []
        for path in templates {
            let xml: String
            do {
                xml = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ClusterClient(options: options).session.failure(
                    "cannot read template \(path): \(error.localizedDescription)",
                    code: TorporExit.usage
                )
            }
            let names: [String] =
                switch (name, count) {
                case (nil, _): [""]
                case (let name?, 1): [name]
                case (let name?, let count): (1...count).map { "\(name)-\($0)" }
                }
            for vmName in names {
                submissions.append(
                    .init(
                        templateXML: xml,
                        nameOverride: vmName,
                        networkRxBytesPerSecond: networkRx,
                        networkTxBytesPerSecond: networkTx,
                        highlyAvailable: highlyAvailable
                    )
                )
            }
        }
        let client = ClusterClient(options: options)
        try client.report(try await client.task(.add(cluster: cluster, vms: submissions)))
    }
}
