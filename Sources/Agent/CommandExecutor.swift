import Commands
import Foundation
import Libvirt
import Logging
import Synchronization
import Wire

/// Carries out VM and power commands and turns every outcome into a CommandResult. VM commands go through
/// libvirt; power commands run the configured program (never a shell), after telling the manager.
public struct CommandExecutor: Sendable {
    public let connection: LibvirtConnection
    public let power: AgentConfiguration.PowerCommands
    /// Where PowerNotices go; nil sends none.
    public let link: ManagerLinkControl?
    public let logger: Logger
    /// One power action at a time, shared by every copy of this executor.
    private let powerActions = PowerActionGate()
    /// Runs and watches migrations; shared by every copy of the executor.
    public let migrations: MigrationRunner
    /// Power actions are counted by outcome.
    let metrics: AgentMetrics

    public init(
        connection: LibvirtConnection,
        power: AgentConfiguration.PowerCommands,
        link: ManagerLinkControl? = nil,
        migration: MigrationWatchdogConfiguration = .init(),
        logger: Logger,
        metrics: AgentMetrics = .none
    ) {
        self.metrics = metrics
        self.connection = connection
        self.power = power
        self.link = link
        self.logger = logger
        self.migrations = MigrationRunner(
            configuration: migration,
            progress: { progress in _ = link?.send(progress) },
            logger: logger
        )
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
                return await migrations.migrate(migration, on: connection)
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
        // libvirtd is down and the connection could not be reopened: the command did not run.
        case .noConnect: .hypervisorUnavailable
        default: .hypervisorError
        }
    }

    /// Runs the configured command for `command.action`, unless VMs run and it is not forced. `reason` says who
    /// ordered it, for the manager's PowerNotice and the log. Power actions run one at a time: another one that
    /// arrives meanwhile is answered `busy`, so two cannot both find the host idle and both go ahead.
    public func execute(_ command: PowerCommand, reason: String = "manager order") async -> CommandResult {
        let result = await executePower(command, reason: reason)
        metrics.powerActionEnded(command.action, outcome: result.code)
        return result
    }

    private func executePower(_ command: PowerCommand, reason: String) async -> CommandResult {
        if let problem = power.unavailability(of: command.action, path: ProcessInfo.processInfo.environment["PATH"]) {
            logger.warning(
                "power action refused: not offered by this host",
                metadata: [
                    "torpor.action": "\(command.action)", "torpor.reason": "\(reason)", "torpor.error": "\(problem)",
                ]
            )
            return CommandResult(
                code: .unsupported,
                message: "\(command.action) is not offered by this host: \(problem)"
            )
        }
        if let running = powerActions.enter(command.action) {
            logger.warning(
                "power action refused: another one is in progress",
                metadata: [
                    "torpor.action": "\(command.action)", "torpor.reason": "\(reason)", "torpor.running": "\(running)",
                ]
            )
            return CommandResult(
                code: .busy,
                message: "\(command.action) refused: \(running) is already in progress on this host"
            )
        }
        defer { powerActions.leave() }
        let argv = power.command(for: command.action)
        let timeout = min(power.timeout, .seconds(Int64(max(command.timeoutSeconds, 1))))
        var metadata: Logger.Metadata = [
            "torpor.action": "\(command.action)", "torpor.command": "\(argv)", "torpor.reason": "\(reason)",
            "torpor.force": "\(command.force)",
        ]
        if !command.force {
            do {
                let running = try await activeDomains()
                if !running.isEmpty {
                    metadata["torpor.vms"] = "\(running.joined(separator: ","))"
                    logger.warning("power action refused: VMs are running", metadata: metadata)
                    return CommandResult(
                        code: .conflict,
                        message: "\(command.action) refused: VMs running on this host: "
                            + "\(running.joined(separator: ", ")) (force to go down anyway)"
                    )
                }
            } catch {
                // Not knowing is no licence to take VMs down.
                logger.warning("power action refused: cannot list VMs", metadata: metadata)
                return CommandResult(
                    code: Self.code(for: error),
                    message: "\(command.action) refused: cannot tell whether VMs run: \(error)"
                )
            }
        }
        logger.notice("power action", metadata: metadata)
        // Bounded: a dead manager link never delays going down.
        await link?.send(.goingDown(command.action, reason: reason))
        let result = await run(argv, for: command.action, timeout: timeout)
        if !result.isOK {
            logger.error(
                "power action failed; the host stays up",
                metadata: metadata.merging(["torpor.error": "\(result.message)"]) { $1 }
            )
            await link?.send(.resumed(reason: "power action failed: \(result.message)"))
        }
        return result
    }

    /// Names of the domains libvirt reports active (running, paused, …).
    func activeDomains() async throws(LibvirtError) -> [String] {
        var names: [String] = []
        for domain in try await connection.allDomains() {
            if try await domain.isActive() { names.append(domain.name) }
        }
        return names.sorted()
    }

    private func run(_ argv: [String], for action: PowerCommand.Action, timeout: Duration) async -> CommandResult {
        do {
            let outcome = try await CommandRunner.run(argv, timeout: timeout)
            switch outcome.termination {
            case .exited(0):
                return CommandResult(
                    code: .ok,
                    message: "\(action): \(argv.joined(separator: " ")) exited 0",
                    detail: outcome.standardError
                )
            case .exited(let status):
                return CommandResult(
                    code: .commandFailed,
                    message: "\(action): \(argv[0]) exited with status \(status)",
                    detail: outcome.standardError
                )
            case .signalled(let signal):
                return CommandResult(
                    code: .commandFailed,
                    message: "\(action): \(argv[0]) killed by signal \(signal)",
                    detail: outcome.standardError
                )
            case .timedOut:
                return CommandResult(
                    code: .timedOut,
                    message: "\(action): \(argv[0]) did not finish within \(timeout)",
                    detail: outcome.standardError
                )
            }
        } catch {
            return CommandResult(code: .commandFailed, message: "\(action): \(error)")
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

/// The power action in progress, if any.
final class PowerActionGate: Sendable {
    private let running = Mutex<PowerCommand.Action?>(nil)

    /// Takes the gate for `action`; returns the action already holding it instead when there is one.
    func enter(_ action: PowerCommand.Action) -> PowerCommand.Action? {
        running.withLock { running in
            if let current = running { return current }
            running = action
            return nil
        }
    }

    func leave() { running.withLock { $0 = nil } }
}
