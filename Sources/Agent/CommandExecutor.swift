import Commands
import Libvirt
import Logging
import Wire

/// Carries out VM and power commands and turns every outcome into a CommandResult. VM commands go through
/// libvirt; power commands run the configured program (never a shell).
public struct CommandExecutor: Sendable {
    public let connection: LibvirtConnection
    public let power: AgentConfiguration.PowerCommands
    public let logger: Logger

    public init(connection: LibvirtConnection, power: AgentConfiguration.PowerCommands, logger: Logger) {
        self.connection = connection
        self.power = power
        self.logger = logger
    }

    public func execute(_ command: VMCommand) async -> CommandResult {
        do throws(LibvirtError) {
            switch command {
            case .start(let xml):
                // Defined, not transient: the VM survives an agent or libvirtd restart.
                let domain = try await connection.defineDomain(xml: xml)
                // Repeating a start (a restarted manager replaying its work) must not fail or start a second copy.
                if try await domain.isActive() {
                    return .ok("\(domain.name) (\(domain.uuidString)) is already running")
                }
                try await domain.start()
                logger.info(
                    "vm started",
                    metadata: ["torpor.vm": "\(domain.name)", "torpor.uuid": "\(domain.uuidString)"]
                )
                return .ok("started \(domain.name) (\(domain.uuidString))")
            case .suspend(let name):
                try await connection.domain(named: name).suspend()
                return .ok("suspended \(name)")
            case .resume(let name):
                try await connection.domain(named: name).resume()
                return .ok("resumed \(name)")
            case .shutdown(let name):
                try await connection.domain(named: name).shutdown()
                return .ok("shutdown requested for \(name)")
            case .destroy(let name):
                try await connection.domain(named: name).destroy()
                return .ok("destroyed \(name)")
            case .reboot(let name):
                try await connection.domain(named: name).reboot()
                return .ok("reboot requested for \(name)")
            case .undefine(let name):
                try await connection.domain(named: name).undefine()
                logger.info("vm undefined", metadata: ["torpor.vm": "\(name)"])
                return .ok("undefined \(name)")
            case .migrate(let migration):
                return CommandResult(
                    code: .unsupported,
                    message:
                        "this agent does not migrate yet (asked to move \(migration.name) to \(migration.destinationURI))"
                )
            }
        } catch {
            logger.warning(
                "vm command failed",
                metadata: ["torpor.command": "\(command.kind)", "torpor.error": "\(error)"]
            )
            return CommandResult(code: Self.code(for: error), message: "\(error)")
        }
    }

    static func code(for error: LibvirtError) -> CommandResult.Code {
        switch error.errorCode {
        case .noDomain: .notFound
        case .invalidArgument, .xmlError, .xmlDetail, .operationInvalid, .domainExists: .invalidArgument
        default: .hypervisorError
        }
    }

    public func execute(_ command: PowerCommand) async -> CommandResult {
        let argv = power.command(for: command.action)
        let timeout = min(power.timeout, .seconds(Int64(max(command.timeoutSeconds, 1))))
        logger.notice("power action", metadata: ["torpor.action": "\(command.action)", "torpor.command": "\(argv)"])
        do {
            let outcome = try await CommandRunner.run(argv, timeout: timeout)
            switch outcome.termination {
            case .exited(0):
                return CommandResult(
                    code: .ok,
                    message: "\(command.action): \(argv.joined(separator: " ")) exited 0",
                    detail: outcome.standardError
                )
            case .exited(let status):
                return CommandResult(
                    code: .commandFailed,
                    message: "\(command.action): \(argv[0]) exited with status \(status)",
                    detail: outcome.standardError
                )
            case .signalled(let signal):
                return CommandResult(
                    code: .commandFailed,
                    message: "\(command.action): \(argv[0]) killed by signal \(signal)",
                    detail: outcome.standardError
                )
            case .timedOut:
                return CommandResult(
                    code: .timedOut,
                    message: "\(command.action): \(argv[0]) did not finish within \(timeout)",
                    detail: outcome.standardError
                )
            }
        } catch {
            return CommandResult(code: .commandFailed, message: "\(command.action): \(error)")
        }
    }
}

extension VMCommand {
    var kind: String {
        switch self {
        case .start: "start"
        case .suspend: "suspend"
        case .resume: "resume"
        case .shutdown: "shutdown"
        case .destroy: "destroy"
        case .reboot: "reboot"
        case .migrate: "migrate"
        case .undefine: "undefine"
        }
    }
}
