import AgentControl
import ArgumentParser
import Foundation
import Transport

/// Options every command that talks to the manager shares.
struct ManagerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: """
            The manager's HOST:PORT, or a comma-separated list of managers that fail over: the one that leads is \
            asked (default: $TORPOR_MANAGER, else 127.0.0.1:7700).
            """
    )
    var manager = ManagerOptions.defaultManager

    @Flag(name: .long, help: "Print JSON (sorted keys) instead of text.")
    var json = false

    @Option(name: .long, help: "Seconds to wait for the manager to connect and answer.")
    var timeout: Double = 10

    @OptionGroup(title: "TLS (docs/security.md)")
    var tls: TLSOptions

    /// Shared with options that differ only in their defaults (HostPowerOptions).
    static var defaultManager: String { ProcessInfo.processInfo.environment["TORPOR_MANAGER"] ?? "127.0.0.1:7700" }

    func validate() throws {
        guard AgentSession.addresses(manager) != nil else {
            throw ValidationError("--manager must be HOST:PORT or a comma-separated list of them, got '\(manager)'")
        }
        guard timeout > 0, timeout.isFinite else {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
    }
}
