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
        #expect(broker.bufferEvents == 500 && broker.retryInitial == .milliseconds(500) && broker.retryMaximum == .seconds(60))
    }

    @Test(arguments: [
        ("events:\n  rabbitmq:\n    port: 5672\n", "events.rabbitmq.host", "missing"),
        ("events:\n  rabbitmq:\n    host: h\n    port: 0\n", "events.rabbitmq.port", "outside"),
        ("events:\n  rabbitmq:\n    host: h\n    pasword_file: /x\n", "events.rabbitmq.pasword_file", "did you mean"),
        ("events:\n  rabbitmq:\n    host: h\n    retry_initial: 10s\n    retry_max: 1s\n", "events.rabbitmq.retry_max", "at least"),
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

    @Test func aPasswordFileReadableByOthersStopsTheStart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-rmq-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let password = "\(directory)/rabbitmq.password"
        _ = FileManager.default.createFile(atPath: password, contents: Data("s3cret\n".utf8), attributes: [.posixPermissions: 0o644])
        var configuration = ManagerConfiguration()
        configuration.listen = "127.0.0.1:0"
        configuration.database = "\(directory)/manager.sqlite"
        var broker = EventsConfiguration.RabbitMQConfiguration(host: "127.0.0.1")
        broker.passwordFile = password
        configuration.events.rabbitmq = broker
        await #expect {
            _ = try await ManagerDaemon(configuration: configuration, logger: .init(label: "test")).services()
        } throws: { error in
            "\(error)".contains("events.rabbitmq.password_file") && "\(error)".contains(password)
        }
    }
}
