import Commands
import Foundation

/// Sends one wake request to a host. Success means the request went out (the BMC accepted power on, the packet
/// was sent); the wake is complete only when the host's agent rejoins.
public protocol WakeDriver: Sendable {
    var name: String { get }
    func wake() async -> Result<String, WakeDriverFailure>
}

public struct WakeDriverFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The driver for a configuration entry.
func makeWakeDriver(_ driver: HostWakeConfiguration.Driver) -> any WakeDriver {
    switch driver {
    case .ipmi(let address, let user, let passwordFile):
        IPMIWakeDriver(address: address, user: user, passwordFile: passwordFile)
    case .wakeOnLAN(let mac, let broadcast, let port):
        WakeOnLANDriver(mac: mac, broadcast: broadcast, port: port)
    case .command(let argv):
        CommandWakeDriver(argv: argv)
    }
}
