import ConfigFile
import Transport

/// The `metrics:` section of agent.yaml and manager.yaml (docs/agent.md, docs/manager.md): where `/metrics` is
/// served. Absent, or without `listen`, no listener runs.
public struct MetricsConfiguration: Sendable, Equatable {
    /// `metrics.listen`: HOST:PORT; port 0 picks a free port (for tests).
    public var listen: HostPort?

    public init(listen: HostPort? = nil) {
        self.listen = listen
    }

    public static func load(_ section: ConfigSection) throws -> MetricsConfiguration {
        var result = MetricsConfiguration()
        if let text = try section.string("listen") {
            guard let address = HostPort(text, allowsPortZero: true) else {
                throw ConfigError(
                    file: section.file,
                    line: section.line(of: "listen"),
                    key: "\(section.path).listen",
                    problem: "'\(text)' is not HOST:PORT with a port from 0 to 65535"
                )
            }
            result.listen = address
        }
        return result
    }
}
