import ConfigFile
import Foundation
import Testing

@testable import Manager

/// The `events:` section, read strictly.
struct EventsConfigurationTests {
    @Test func noBrokerByDefault() throws {
        #expect(try ManagerConfiguration.load(yaml: "", file: "manager.yaml").events.rabbitmq == nil)
    }

    @Test func everyRabbitMQKeyIsRead() throws {
        let yaml = """
            events:
              rabbitmq:
                host: broker.example.org
                port: 12100
                user: snooze
                password_file: /etc/torpor/rabbitmq.password
                vhost: snooze-vhost
                buffer_events: 500
                retry_initial: 500ms
                retry_max: 1m
            """
        let broker = try #require(try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml").events.rabbitmq)
        #expect(broker.host == "broker.example.org" && broker.port == 12100 && broker.user == "snooze")
        #expect(broker.passwordFile == "/etc/torpor/rabbitmq.password" && broker.virtualHost == "snooze-vhost")
        #expect(
            broker.bufferEvents == 500 && broker.retryInitial == .milliseconds(500)
                && broker.retryMaximum == .seconds(60)
        )
    }

    @Test(arguments: [
        ("events:\n  rabbitmq:\n    port: 5672\n", "events.rabbitmq.host", "missing"),
        ("events:\n  rabbitmq:\n    host: h\n    port: 0\n", "events.rabbitmq.port", "outside"),
        ("events:\n  rabbitmq:\n    host: h\n    pasword_file: /x\n", "events.rabbitmq.pasword_file", "did you mean"),
        (
            "events:\n  rabbitmq:\n    host: h\n    retry_initial: 10s\n    retry_max: 1s\n",
            "events.rabbitmq.retry_max", "at least"
        ),
        ("events:\n  kafka: {}\n", "events.kafka", "unknown key"),
    ])
    func badKeysAreErrorsNamingTheKey(yaml: String, key: String, problem: String) {
        #expect {
            _ = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains(key) && text.contains(problem)
        }
    }

    /// A password file in a fresh directory, with `mode`; the configuration naming it from line 4 of manager.yaml.
    static func broker(
        password: String?,
        mode: Int = 0o600
    ) throws -> (EventsConfiguration.RabbitMQConfiguration, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-rmq-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = "\(directory)/rabbitmq.password"
        if let password {
            _ = FileManager.default.createFile(
                atPath: file,
                contents: Data(password.utf8),
                attributes: [.posixPermissions: mode]
            )
        }
        let yaml = "events:\n  rabbitmq:\n    host: h\n    password_file: \(file)\n"
        return (
            try #require(try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml").events.rabbitmq), directory
        )
    }

    @Test func thePasswordIsTheFilesFirstLine() throws {
        let (broker, directory) = try Self.broker(password: "s3cret\nignored\n")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try broker.readPassword() == "s3cret")
        #expect(try EventsConfiguration.RabbitMQConfiguration(host: "h").readPassword() == "guest")
    }

    @Test(
        arguments: [
            (nil, 0o600, "rabbitmq.password"),
            ("s3cret\n", 0o644, "rabbitmq.password"),
            ("\n", 0o600, "is empty"),
        ] as [(String?, Int, String)]
    )
    func anUnusablePasswordFileIsAConfigurationErrorNamingTheKeyAndLine(
        password: String?,
        mode: Int,
        problem: String
    ) throws {
        let (broker, directory) = try Self.broker(password: password, mode: mode)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect {
            _ = try broker.readPassword()
        } throws: { error in
            let text = "\(error)"
            return error is ConfigError && text.hasPrefix("manager.yaml:4: events.rabbitmq.password_file: ")
                && text.contains(problem)
        }
    }

    @Test func aPasswordFileReadableByOthersStopsTheStart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-rmq-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let password = "\(directory)/rabbitmq.password"
        _ = FileManager.default.createFile(
            atPath: password,
            contents: Data("s3cret\n".utf8),
            attributes: [.posixPermissions: 0o644]
        )
        var configuration = ManagerConfiguration()
        configuration.listen = "127.0.0.1:0"
        configuration.database = "\(directory)/manager.sqlite"
        var broker = EventsConfiguration.RabbitMQConfiguration(host: "127.0.0.1")
        broker.passwordFile = password
        configuration.events.rabbitmq = broker
        await #expect {
            _ = try await ManagerDaemon(configuration: configuration, logger: .init(label: "test")).services()
        } throws: { error in
            // torpor-manager exits 64 on a ConfigError.
            error is ConfigError && "\(error)".contains("events.rabbitmq.password_file")
                && "\(error)".contains(password)
        }
    }
}
