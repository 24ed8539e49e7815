/// Powers one host off and confirms it is off. Success is a confirmation, not a request sent: a driver whose
/// power off cannot be confirmed fails, because a host whose fate is unknown may still be running its VMs.
public protocol FenceDriver: Sendable {
    /// As in configuration and logs: "IPMI", "command".
    var name: String { get }
    func fence() async -> Result<FenceConfirmation, FenceFailure>
}

/// What confirmed the host is off, e.g. "BMC 10.0.0.103:623 reports chassis power off".
public struct FenceConfirmation: Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// Why a driver could not confirm the host is off, naming what it talked to.
public struct FenceFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// The driver for a configuration entry.
func makeFenceDriver(_ driver: HostFenceConfiguration.Driver, settings: FencingConfiguration) -> any FenceDriver {
    switch driver {
    case .ipmi(let bmc):
        IPMIFenceDriver(
            bmc: bmc,
            confirmationTimeout: settings.powerOffTimeout,
            callTimeout: settings.ipmiCallTimeout
        )
    case .command(let argv):
        CommandFenceDriver(argv: argv, timeout: settings.commandTimeout)
    }
}
