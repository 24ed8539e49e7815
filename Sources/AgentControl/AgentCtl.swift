import ArgumentParser

/// `agentctl`: an operator's window into one agent, and with `agentctl manager` into the manager.
public struct AgentCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "agentctl",
        abstract: "Inspect and command a Torpor agent.",
        discussion: """
            Every command takes --agent HOST:PORT (default 127.0.0.1:7701) and --json.
            `agentctl manager [--manager HOST:PORT]` (default 127.0.0.1:7700) asks the manager instead: its hosts, \
            whether they are connected, their last heartbeat and report, and how full their report rings are.
            `agentctl power suspend|hibernate|hybrid|shutdown [--force]` orders the agent's host down; the agent \
            refuses while VMs run unless --force.

            Exit codes:
              0   success
              1   the agent answered with a failure
              64  usage error (bad flags or arguments)
              69  the agent (or manager) is unreachable
              75  the agent (or manager) did not answer in time
            """,
        version: "0.1.0",
        subcommands: [Status.self, Samples.self, Ping.self, VM.self, Power.self, ManagerStatus.self]
    )

    // Declared here too so `agentctl --agent HOST:PORT status` works as well as `agentctl status --agent …`.
    @OptionGroup public var options: GlobalOptions

    public init() {}
}

/// Exit codes shared by every command (sysexits.h values).
public enum AgentCtlExit {
    public static let ok: Int32 = 0
    public static let failed: Int32 = 1
    public static let usage: Int32 = 64
    public static let unreachable: Int32 = 69
    public static let timedOut: Int32 = 75
}
