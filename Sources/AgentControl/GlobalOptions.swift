import ArgumentParser
import Transport

/// Options every agentctl command shares.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The agent's HOST:PORT.")
    public var agent = "127.0.0.1:7701"

    @Flag(name: .long, help: "Print JSON (sorted keys) instead of text.")
    public var json = false

    @Option(name: .long, help: "Seconds to wait for the agent to connect and answer.")
    public var timeout: Double = 10

    @OptionGroup(title: "TLS (docs/security.md)")
    public var tls: TLSOptions

    public init() {}

    public mutating func validate() throws {
        guard HostPort(agent) != nil else { throw ValidationError("--agent must be HOST:PORT, got '\(agent)'") }
        guard timeout > 0, timeout.isFinite else {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
    }

    var timeoutDuration: Duration { .milliseconds(Int64(timeout * 1000)) }
}
