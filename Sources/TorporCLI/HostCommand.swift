import AgentControl
import ArgumentParser
import Wire

/// `torpor host wake|sleep|cordon|uncordon|drain|remove HOST`: one host's power and service, through the manager.
struct HostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract:
            "Wake a sleeping host or put an idle one to sleep; take one out of service, drain it, or remove it.",
        subcommands: [
            HostWake.self, HostSleep.self, HostCordon.self, HostUncordon.self, HostDrain.self, HostRemove.self,
        ]
    )
}

/// ManagerOptions with a default timeout long enough for a wake: the manager answers once the host has booted or
/// resumed and its agent is back, which takes minutes on real hardware.
struct HostPowerOptions: ParsableArguments {
    @Option(name: .long, help: "The manager's HOST:PORT (default: $TORPOR_MANAGER, else 127.0.0.1:7700).")
    var manager = ManagerOptions.defaultManager

    @Flag(name: .long, help: "Print JSON (sorted keys) instead of text.")
    var json = false

    @Option(name: .long, help: "Seconds to wait for the manager's answer (the host to be up, or down).")
    var timeout: Double = 600

    @OptionGroup(title: "TLS (docs/security.md)")
    var tls: TLSOptions

    var managerOptions: ManagerOptions {
        var options = ManagerOptions()
        options.manager = manager
        options.json = json
        options.timeout = timeout
        options.tls = tls
        return options
    }

    func validate() throws {
        try managerOptions.validate()
    }

    /// Sends `request` and prints the manager's answer. A failure is printed to standard error (as JSON with
    /// --json) and exits 1, or 75 when the manager gave up waiting for the host.
    func send(_ request: HostPowerRequest) async throws {
        var connecting = managerOptions
        // Only the answer may take minutes: an unreachable manager still fails as fast as for other commands.
        connecting.timeout = min(timeout, 10)
        let session = ClusterClient(options: connecting).session
        let reply = try await session.run { connection in
            try await connection.request(.hostPowerRequest(request), timeout: .seconds(timeout))
        }
        guard case .commandResult(let result) = reply else {
            throw session.unexpected(reply, expected: "CommandResult")
        }
        guard result.isOK else {
            var message = result.message.isEmpty ? "\(result.code)" : result.message
            if !result.detail.isEmpty { message += "\n" + result.detail }
            throw session.failure(message, code: result.code == .timedOut ? TorporExit.timedOut : TorporExit.failed)
        }
        let operation = request.operation == .wake ? "wake" : "sleep"
        if json {
            var output: [String: Any] = ["hostId": request.hostID, "operation": operation, "message": result.message]
            if !result.detail.isEmpty { output["detail"] = result.detail }
            Output.printJSON(output)
        } else {
            print(result.message.isEmpty ? "\(request.hostID): \(operation) done" : result.message)
        }
    }
}

/// `torpor host wake HOST`.
struct HostWake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wake",
        abstract: "Wake a host and wait until its agent is back (exit 75 if the manager gave up waiting)."
    )

    @Argument(help: "The host's id, as `torpor hosts` lists it.") var host: String
    @OptionGroup var options: HostPowerOptions

    func run() async throws {
        try await options.send(.wake(host))
    }
}

/// `torpor host sleep HOST [--action …]`.
struct HostSleep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sleep",
        abstract: "Put a host to sleep; the manager refuses while VMs run on it."
    )

    /// PowerCommand's actions under the names the CLI accepts.
    enum Action: String, CaseIterable, ExpressibleByArgument {
        case suspendToRam = "suspend-to-ram"
        case suspendToDisk = "suspend-to-disk"
        case suspendToBoth = "suspend-to-both"
        case shutdown

        var wire: PowerCommand.Action {
            switch self {
            case .suspendToRam: .suspendToRam
            case .suspendToDisk: .suspendToDisk
            case .suspendToBoth: .suspendToBoth
            case .shutdown: .shutdown
            }
        }
    }

    @Argument(help: "The host's id, as `torpor hosts` lists it.") var host: String
    @Option(name: .long, help: "How the host goes down (default: the action the manager is configured with).")
    var action: Action?
    @OptionGroup var options: HostPowerOptions

    func run() async throws {
        try await options.send(.sleep(host, action: action?.wire))
    }
}
