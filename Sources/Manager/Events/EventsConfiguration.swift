import ConfigFile
import Foundation
import Trust

/// The manager's `events:` section (docs/snooze-api.md, "Events"): where Snooze's notifications go besides the
/// HTTP front's `/events` and the Wire subscription.
public struct EventsConfiguration: Sendable, Equatable {
    /// Publish to a RabbitMQ broker on Snooze's three topic exchanges (`events.rabbitmq`); nil: no broker.
    public var rabbitmq: RabbitMQConfiguration?

    public init() {}

    public struct RabbitMQConfiguration: Sendable, Equatable {
        public var host: String
        public var port = 5672
        public var user = "guest"
        /// The password, in a file others may not read (checked at start, like the BMC password files); nil:
        /// RabbitMQ's default `guest`.
        public var passwordFile: String?
        /// Where `password_file` was set (configuration file, line), for the error when it cannot be read.
        public var passwordFileSource: (file: String, line: Int?) {
            get { (sourceFile, sourceLine) }
            set { (sourceFile, sourceLine) = newValue }
        }
        private var sourceFile = "manager.yaml"
        private var sourceLine: Int?
        public var virtualHost = "/"
        /// Events held while the broker is unreachable; beyond it the oldest are dropped (and logged).
        public var bufferEvents = 10_000
        /// The first wait after a failure, doubled at each further one up to `retryMaximum`.
        public var retryInitial: Duration = .seconds(1)
        public var retryMaximum: Duration = .seconds(30)

        public init(host: String) { self.host = host }
    }

    static func load(_ section: ConfigSection) throws -> EventsConfiguration {
        var result = EventsConfiguration()
        if let broker = try section.section("rabbitmq") {
            guard let host = try broker.string("host"), !host.isEmpty else {
                throw ConfigError(
                    file: broker.file,
                    line: section.line(of: "rabbitmq"),
                    key: "events.rabbitmq.host",
                    problem: "missing: the broker's host name or address"
                )
            }
            var rabbitmq = RabbitMQConfiguration(host: host)
            if let value = try broker.int("port", in: 1...65535) { rabbitmq.port = value }
            if let value = try broker.string("user") { rabbitmq.user = value }
            if let value = try broker.string("password_file") {
                rabbitmq.passwordFile = value
                rabbitmq.passwordFileSource = (broker.file, broker.line(of: "password_file"))
            }
            if let value = try broker.string("vhost") { rabbitmq.virtualHost = value }
            if let value = try broker.int("buffer_events", in: 1...10_000_000) { rabbitmq.bufferEvents = value }
            if let value = try broker.duration("retry_initial", minimum: .milliseconds(100)) {
                rabbitmq.retryInitial = value
            }
            if let value = try broker.duration("retry_max", minimum: .milliseconds(100)) {
                rabbitmq.retryMaximum = value
            }
            if rabbitmq.retryMaximum < rabbitmq.retryInitial {
                throw ConfigError(
                    file: broker.file,
                    line: broker.line(of: "retry_max"),
                    key: "events.rabbitmq.retry_max",
                    problem: "must be at least retry_initial (\(rabbitmq.retryInitial))"
                )
            }
            result.rabbitmq = rabbitmq
        }
        return result
    }
}

extension EventsConfiguration.RabbitMQConfiguration {
    /// The password: `password_file`'s first line, after checking others may not read it; `guest` without one. An
    /// unreadable or too open file is a configuration error naming the key (torpor-manager exits 64).
    public func readPassword() throws(ConfigError) -> String {
        guard let passwordFile else { return "guest" }
        let data: Data
        do {
            data = try SecretFile.read(passwordFile)
        } catch {
            throw ConfigError(
                file: passwordFileSource.file,
                line: passwordFileSource.line,
                key: "events.rabbitmq.password_file",
                problem: "\(error)"
            )
        }
        let password =
            String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .first.map(String.init) ?? ""
        guard !password.isEmpty else {
            throw ConfigError(
                file: passwordFileSource.file,
                line: passwordFileSource.line,
                key: "events.rabbitmq.password_file",
                problem: "\(passwordFile) is empty: its first line is the broker password"
            )
        }
        return password
    }
}
