import ArgumentParser
import Foundation
import Wire

/// `agentctl vm …`: lifecycle orders for one VM on this agent's host.
struct VM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start, suspend, resume, shut down, destroy or reboot a VM.",
        subcommands: [VMStart.self, VMSuspend.self, VMResume.self, VMShutdown.self, VMDestroy.self, VMReboot.self]
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
