import ArgumentParser
import Foundation
import Transport
import Wire

/// `agentctl power …`: the host's power as the agent sees it, and power actions sent straight to the agent.
struct Power: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a power action would meet, or suspend, hibernate or shut down the agent's host.",
        discussion: """
            The agent runs its configured command for the action (power: in agent.yaml) after telling its manager. \
            It refuses while any VM is active on the host (exit 1, code conflict, naming the VMs) unless --force.
            """,
        subcommands: [
            PowerStatus.self, PowerSuspend.self, PowerHibernate.self, PowerHybrid.self, PowerShutdown.self,
        ]
    )

    /// The verbs, in the order shown, and the action each sends.
    static let verbs: [(verb: String, action: PowerCommand.Action)] = [
        ("suspend", .suspendToRam), ("hibernate", .suspendToDisk), ("hybrid", .suspendToBoth),
        ("shutdown", .shutdown),
    ]
}

/// `agentctl power status`: the manager link and the VMs that would block a power action. StatusReply carries no
/// power state of its own.
struct PowerStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the manager link and the active VMs a power action would need --force for."
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let session = AgentSession(options: options)
        let reply = try await session.run { connection in
            try await session.request(.statusRequest(StatusRequest()), on: connection)
        }
        guard case .statusReply(let status) = reply else { throw session.unexpected(reply, expected: "StatusReply") }
        if options.json {
            Output.printJSON(Self.json(status))
        } else {
            print(Self.text(status))
        }
    }

    /// VMs libvirt counts as active: the agent refuses to go down under them.
    static func activeVMs(_ status: StatusReply) -> [String] {
        status.vms.filter { $0.state != .shutOff && $0.state != .crashed }.map(\.name).sorted()
    }

    static func json(_ status: StatusReply) -> [String: Any] {
        let active = activeVMs(status)
        return [
            "host": ["hostId": status.hostID, "hostname": status.hostname],
            "manager": [
                "state": Status.linkName(status.manager.state),
                "address": status.manager.address,
                "since": Output.isoTime(milliseconds: status.manager.sinceMilliseconds),
            ],
            "activeVMs": active,
            "forceNeeded": !active.isEmpty,
            "actions": Power.verbs.map { ["verb": $0.verb, "action": "\($0.action)"] },
        ]
    }

    static func text(_ status: StatusReply) -> String {
        let active = activeVMs(status)
        let link = status.manager
        return [
            "host      \(status.hostname) (id \(status.hostID))",
            "manager   \(Status.linkName(link.state))\(link.address.isEmpty ? "" : " \(link.address)") since "
                + Output.isoTime(milliseconds: link.sinceMilliseconds),
            active.isEmpty
                ? "vms       none active: power actions run without --force"
                : "vms       \(active.count) active (\(active.joined(separator: ", "))): power actions need --force",
            "actions   " + Power.verbs.map { "\($0.verb) (\($0.action))" }.joined(separator: ", "),
        ].joined(separator: "\n")
    }
}

/// Options of every power action.
struct PowerActionOptions: ParsableArguments {
    @Flag(name: .long, help: "Go down even while VMs run on the host.")
    var force = false

    @Option(name: .long, help: "Seconds the agent lets its power command run before killing it.")
    var commandTimeout: UInt32 = 10
}

/// Sends one PowerCommand and prints the CommandResult; a refusal or failure exits 1.
func sendPowerCommand(_ action: PowerCommand.Action, _ power: PowerActionOptions, options: GlobalOptions) async throws {
    let command = PowerCommand(action: action, timeoutSeconds: power.commandTimeout, force: power.force)
    let session = AgentSession(options: options)
    // The agent answers after its command ends (and after at most 1 s telling its manager).
    let timeout = options.timeoutDuration + .seconds(Int64(power.commandTimeout) + 1)
    let reply = try await session.run { try await $0.request(.powerCommand(command), timeout: timeout) }
    guard case .commandResult(let result) = reply else { throw session.unexpected(reply, expected: "CommandResult") }
    if options.json {
        var json: [String: Any] = [
            "ok": result.isOK,
            "action": "\(action)",
            "force": power.force,
            "code": "\(result.code)",
            "message": result.message,
            "detail": result.detail,
        ]
        if !result.isOK {
            json["error"] = "\(result.code): \(result.message)"
            json["exitCode"] = Int(AgentCtlExit.failed)
        }
        Output.printJSON(json)
        guard result.isOK else { throw ExitCode(AgentCtlExit.failed) }
        return
    }
    guard result.isOK else {
        let detail = result.detail.isEmpty ? "" : "\n\(result.detail)"
        FileHandle.standardError.write(Data("agentctl: \(result.code): \(result.message)\(detail)\n".utf8))
        throw ExitCode(AgentCtlExit.failed)
    }
    print(result.message)
    if !result.detail.isEmpty { print(result.detail) }
}

struct PowerSuspend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "suspend", abstract: "Suspend to RAM.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var power: PowerActionOptions
    func run() async throws { try await sendPowerCommand(.suspendToRam, power, options: options) }
}

struct PowerHibernate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hibernate", abstract: "Suspend to disk.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var power: PowerActionOptions
    func run() async throws { try await sendPowerCommand(.suspendToDisk, power, options: options) }
}

struct PowerHybrid: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hybrid", abstract: "Suspend to RAM and disk.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var power: PowerActionOptions
    func run() async throws { try await sendPowerCommand(.suspendToBoth, power, options: options) }
}

struct PowerShutdown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shutdown", abstract: "Power the host off.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var power: PowerActionOptions
    func run() async throws { try await sendPowerCommand(.shutdown, power, options: options) }
}
