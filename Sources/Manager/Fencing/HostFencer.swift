import Logging

// Fencing: making sure a host whose fate is unknown is off before its VMs are started anywhere else.
//
// API (for the group leader):
//
//     let fencer = HostFencer(configuration: configuration, logger: logger)
//     fencer.canFence("host-3")                    // Bool: the host has at least one fence driver
//     let outcome = await fencer.fence("host-3")   // FenceOutcome, never throws; may take a minute or more
//     switch outcome {
//     case .fenced(let hostID, let driver, let took, let confirmation): …   // off, confirmed: restart its VMs
//     case .notFenced(let hostID, let reason): …   // every driver failed; `reason` names each: restart nothing
//     case .noDriver(let hostID): …                // no `fence` entry: restart nothing
//     }
//     "\(outcome)"                                 // one line for logs, tasks and `torpor vm info`
//
// Only `.fenced` allows the host's VMs to be started elsewhere. `fence` runs the host's drivers in their configured
// order and stops at the first that confirms the host is off; a driver confirms or fails (`FenceDriver`), there
// is no "sent". Child processes run through `CommandRunner`. Calling `fence` again for a host already off is
// harmless (the IPMI driver confirms an off chassis), so the caller needs no lock, but it should not fence a host
// again while a call for it is running. `drivers:` in the other initialiser takes any `FenceDriver` (tests). Configuration: `hosts.<id>.fence`, `hosts.<id>.fence_command`
// and the `fencing:` section (docs/energy.md, "Fencing").

/// Fences hosts with their configured drivers, in order.
public struct HostFencer: Sendable {
    private let drivers: [String: [any FenceDriver]]
    private let logger: Logger

    /// `drivers` by host id, each list in the order to try.
    public init(drivers: [String: [any FenceDriver]], logger: Logger) {
        self.drivers = drivers.filter { !$0.value.isEmpty }
        self.logger = logger
    }

    /// The drivers of manager.yaml's `hosts.<id>.fence` entries, with the `fencing:` section's timeouts.
    public init(configuration: ManagerConfiguration, logger: Logger) {
        self.init(
            drivers: configuration.hostFence.mapValues { host in
                host.drivers.map { makeFenceDriver($0, settings: configuration.fencing) }
            },
            logger: logger
        )
    }

    /// Whether the host has a driver: without one its VMs are never restarted elsewhere.
    public func canFence(_ hostID: String) -> Bool { drivers[hostID] != nil }

    /// The names of the host's drivers, in order (empty without a `fence` entry).
    public func driverNames(of hostID: String) -> [String] { drivers[hostID]?.map(\.name) ?? [] }

    /// Powers the host off with its drivers, in order, until one confirms it is off.
    public func fence(_ hostID: String) async -> FenceOutcome {
        guard let drivers = drivers[hostID] else {
            let outcome = FenceOutcome.noDriver(hostID: hostID)
            logger.warning(
                "cannot fence the host",
                metadata: [.host: "\(hostID)", .error: "\(outcome)"]
            )
            return outcome
        }
        let clock = ContinuousClock()
        let start = clock.now
        var failures: [String] = []
        for driver in drivers {
            logger.notice(
                "fencing the host",
                metadata: [.host: "\(hostID)", .driver: "\(driver.name)"]
            )
            switch await driver.fence() {
            case .success(let confirmation):
                let outcome = FenceOutcome.fenced(
                    hostID: hostID,
                    driver: driver.name,
                    took: clock.now - start,
                    confirmation: confirmation.description
                )
                logger.notice(
                    "host fenced",
                    metadata: [
                        .host: "\(hostID)", .driver: "\(driver.name)",
                        .confirmation: "\(confirmation)", .duration: "\(clock.now - start)",
                    ]
                )
                return outcome
            case .failure(let failure):
                logger.error(
                    "fence driver failed",
                    metadata: [
                        .host: "\(hostID)", .driver: "\(driver.name)", .error: "\(failure)",
                    ]
                )
                failures.append("\(driver.name): \(failure)")
            }
            if Task.isCancelled {
                failures.append("cancelled")
                break
            }
        }
        let outcome = FenceOutcome.notFenced(hostID: hostID, reason: failures.joined(separator: "; "))
        logger.error("cannot fence the host", metadata: [.host: "\(hostID)", .error: "\(outcome)"])
        return outcome
    }
}
