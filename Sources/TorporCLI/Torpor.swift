import AgentControl
import ArgumentParser

/// `torpor`: the user's CLI. Commands are nouns with verbs (`torpor vc start`); every one takes --json. The lab is
/// `torpor-lab`, a tool of its own.
public struct Torpor: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "torpor",
        abstract: "Use a Torpor cluster: virtual clusters, VMs, tasks, hosts and energy.",
        discussion: """
            Every command takes --json. The manager is --manager HOST:PORT, or $TORPOR_MANAGER, or 127.0.0.1:7700.

            Exit codes:
              0   success
              1   the command failed (a daemon answered with a failure)
              64  usage error (bad flags or arguments)
              69  the manager is unreachable
              75  the manager did not answer (or a host did not wake) in time
            """,
        version: "0.1.0",
        subcommands: [
            VirtualCluster.self, VirtualMachine.self, TaskCommand.self, Hosts.self, HostCommand.self,
            EnergyCommand.self, ClusterCommand.self, FlavorCommand.self, ImageCommand.self, Tree.self, Dump.self,
            CACommand.self, EventsCommand.self,
        ]
    )

    public init() {}
}

/// Exit codes, the same as agentctl's (sysexits.h values).
typealias TorporExit = AgentCtlExit
