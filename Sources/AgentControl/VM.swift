import ArgumentParser
import Foundation
import Wire

/// `agentctl vm …`: lifecycle orders for one VM on this agent's host.
struct VM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start, suspend, resume, shut down, destroy, reboot or migrate a VM.",
        subcommands: [
            VMStart.self, VMSuspend.self, VMResume.self, VMShutdown.self, VMDestroy.self, VMReboot.self,
            VMMigrate.self, VMMigrateCancel.self,
        ]
    )
}

/// Sends one VMCommand and prints the CommandResult.
func sendVMCommand(_ command: VMCommand, options: GlobalOptions) async throws {
    let session = AgentSession(options: options)
    let reply = try await session.run { try await session.request(.vmCommand(command), on: $0) }
    guard case .commandResult(let result) = reply else { throw session.unexpected(reply, expected: "CommandResult") }
    guard result.isOK else { throw session.failure("\(result.code): \(result.message)", code: AgentCtlExit.failed) }
    if options.json {
        Output.printJSON(["ok": true, "message": result.message])
    } else {
        print(result.message)
    }
}

struct VMStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Define and start a VM from libvirt XML."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "libvirt domain XML file.") var file: String

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file), let xml = String(data: data, encoding: .utf8)
        else {
            throw AgentSession(options: options).failure("cannot read \(file)", code: AgentCtlExit.usage)
        }
        try await sendVMCommand(.start(domainXML: xml), options: options)
    }
}

struct VMSuspend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "suspend", abstract: "Pause a running VM.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "VM name.") var name: String
    func run() async throws { try await sendVMCommand(.suspend(name: name), options: options) }
}

struct VMResume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused VM.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "VM name.") var name: String
    func run() async throws { try await sendVMCommand(.resume(name: name), options: options) }
}

struct VMShutdown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shutdown", abstract: "Ask a VM's guest to shut down.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "VM name.") var name: String
    func run() async throws { try await sendVMCommand(.shutdown(name: name), options: options) }
}

struct VMDestroy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Stop a VM at once (the definition stays)."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "VM name.") var name: String
    func run() async throws { try await sendVMCommand(.destroy(name: name), options: options) }
}

struct VMReboot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reboot", abstract: "Reboot a VM.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "VM name.") var name: String
    func run() async throws { try await sendVMCommand(.reboot(name: name), options: options) }
}

/// Snooze's method names for `--method`.
enum MigrationMethodOption: String, ExpressibleByArgument, CaseIterable {
    case live
    case copyStorageAll = "copy-storage-all"
    case copyStorageInc = "copy-storage-inc"

    var wireMethod: VMCommand.Migration.Method {
        switch self {
        case .live: .live
        case .copyStorageAll: .liveNonSharedFullDisk
        case .copyStorageInc: .liveNonSharedIncrementalDisk
        }
    }
}

struct VMMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Live-migrate a VM to another host's libvirtd and wait for the outcome.",
        discussion: """
            The agent's watchdog escalates a migration that does not converge and aborts it as its last step; the
            VM then keeps running here. Prints the outcome and every watchdog step with its time.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "VM name.") var name: String
    @Option(name: .long, help: "Destination libvirt URI, e.g. qemu+tcp://10.77.0.2/system.") var to: String
    @Option(name: .long, help: "live (shared storage), copy-storage-all or copy-storage-inc.")
    var method: MigrationMethodOption = .live
    @Option(name: .long, help: "Cap on the watchdog's deadline, seconds (0: the agent's configured deadline only).")
    var deadline: UInt32 = 0
    @Option(name: .long, help: "Seconds to wait for the migration's outcome.")
    var wait: Double = 3600

    func validate() throws {
        guard !to.isEmpty else { throw ValidationError("--to must name the destination's libvirt URI") }
        guard wait > 0, wait.isFinite else { throw ValidationError("--wait must be a positive number of seconds") }
    }

    func run() async throws {
        let migration = VMCommand.Migration(
            name: name,
            destinationURI: to,
            method: method.wireMethod,
            timeoutSeconds: deadline
        )
        let session = AgentSession(options: options)
        let waitDuration = Duration.milliseconds(Int64(wait * 1000))
        // A migration takes as long as it takes: --wait, not --timeout, bounds the answer.
        let reply = try await session.run { connection in
            try await connection.request(.vmCommand(.migrate(migration)), timeout: waitDuration)
        }
        guard case .commandResult(let result) = reply else {
            throw session.unexpected(reply, expected: "CommandResult")
        }
        let steps = result.detail.split(separator: "\n").map(String.init)
        if options.json {
            Output.printJSON(["ok": result.isOK, "code": "\(result.code)", "message": result.message, "steps": steps])
        } else {
            print(result.message)
            for step in steps { print("  \(step)") }
        }
        guard result.isOK else { throw ExitCode(AgentCtlExit.failed) }
    }
}

struct VMMigrateCancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-cancel",
        abstract: "Cancel a VM's running migration; the VM keeps running on this host."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "VM name.") var name: String

    func run() async throws {
        let session = AgentSession(options: options)
        let reply = try await session.run { connection in
            try await session.request(.migrationCancel(MigrationCancel(vmName: name)), on: connection)
        }
        guard case .commandResult(let result) = reply else {
            throw session.unexpected(reply, expected: "CommandResult")
        }
        guard result.isOK else {
            throw session.failure("\(result.code): \(result.message)", code: AgentCtlExit.failed)
        }
        if options.json {
            Output.printJSON(["ok": true, "message": result.message])
        } else {
            print(result.message)
        }
    }
}
