import ArgumentParser
import Foundation
import Wire

/// `torpor vc boot VC-IN.XML --cpus N --key KEY [--vcname NAME]`: pragma_boot (docs/pragma.md).
struct VCBoot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Boot a pragma virtual cluster from its vc-in.xml: a frontend, then enough computes for N CPUs.",
        discussion: """
            The manager checks that the frontend and the computes fit before anything starts, gives each node its \
            addresses, MACs, its own overlay of its image and a contextualization ISO with its vc-out.xml, starts \
            the frontend, waits for the vc-in.xml's boot_dependency, then starts the computes. `torpor vc info`, \
            `shutdown` and `clean` (or `undefine`) work on it as on any virtual cluster.
            """
    )

    @Argument(help: "The vc-in.xml: a frontend and a compute libvirt domain, the boot dependency, the networks.")
    var vcIn: String
    @Option(name: .long, help: "CPUs of compute nodes to start (0: the frontend alone).") var cpus: UInt32 = 0
    @Option(name: .long, help: "An SSH public key file authorized on the nodes (pragma_boot's --key).") var key: String
    @Option(name: .long, help: "The virtual cluster's name (default: the frontend domain's).") var vcname: String?
    // ManagerOptions' own, but its TLS key is --tls-key here: --key is pragma_boot's SSH key.
    @Option(name: .long, help: "The manager's HOST:PORT (default: $TORPOR_MANAGER, else 127.0.0.1:7700).")
    var manager = ManagerOptions.defaultManager
    @Flag(name: .long, help: "Print JSON (sorted keys) instead of text.") var json = false
    @Option(name: .long, help: "Seconds to wait for the manager to connect and answer.") var timeout: Double = 10
    @Option(name: .long, help: "The cluster CA bundle (PEM) (default: $TORPOR_CA).") var ca: String?
    @Option(name: .long, help: "Your operator certificate (PEM) (default: $TORPOR_CERT).") var cert: String?
    @Option(name: .long, help: "Your certificate's private key (default: $TORPOR_KEY).") var tlsKey: String?
    @OptionGroup var wait: TaskWaitOptions

    func run() async throws {
        var arguments = ["--manager", manager, "--timeout", "\(timeout)"] + (json ? ["--json"] : [])
        if let ca { arguments += ["--ca", ca] }
        if let cert { arguments += ["--cert", cert] }
        if let tlsKey { arguments += ["--key", tlsKey] }
        let options = try ManagerOptions.parse(arguments)
        let client = ClusterClient(options: options)
        let xml: String
        do {
            xml = try String(contentsOfFile: vcIn, encoding: .utf8)
        } catch {
            throw client.session.failure("cannot read \(vcIn): \(error.localizedDescription)", code: TorporExit.usage)
        }
        guard xml.utf8.count <= Int(UInt16.max) else {
            throw client.session.failure("\(vcIn) is over 64 KiB: not a vc-in.xml", code: TorporExit.usage)
        }
        let text: String
        do {
            text = try String(contentsOfFile: key, encoding: .utf8)
        } catch {
            throw client.session.failure(
                "cannot read SSH key file \(key): \(error.localizedDescription)",
                code: TorporExit.usage
            )
        }
        let keys = VCAdd.publicKeys(in: text)
        guard !keys.isEmpty else {
            throw client.session.failure("\(key) holds no SSH public key", code: TorporExit.usage)
        }
        let request = ClusterRequest.PragmaBoot(cluster: vcname ?? "", vcIn: xml, cpus: cpus, sshKeys: keys)
        // The manager checks the images and makes every node's overlay and ISO before it answers.
        let reply = try await client.request(.bootPragma(request), answerWithin: 60 + Double(cpus) * 2)
        guard case .taskStatus(let accepted) = reply else {
            throw client.session.unexpected(reply, expected: "TaskStatus")
        }
        guard !wait.noWait, !accepted.state.isFinished else {
            try client.report(accepted)
            return
        }
        try client.report(
            try await client.wait(for: accepted.id, timeout: wait.waitTimeout, showProgress: !options.json)
        )
    }
}
