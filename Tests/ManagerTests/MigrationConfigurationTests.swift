import ConfigFile
import Testing

@testable import Manager

/// The manager's `migration:` section.
@Suite struct MigrationConfigurationTests {
    @Test func defaults() throws {
        let configuration = try ManagerConfiguration.load(yaml: "", file: "manager.yaml").migration
        #expect(configuration.maximumOutgoingPerHost == 2)
        #expect(configuration.maximumIncomingPerHost == 2)
        #expect(configuration.maximumPerCluster == 8)
        #expect(configuration.timeout == .zero)
        #expect(configuration.progressWriteInterval == .seconds(5))
        #expect(configuration.outcomeWait == .seconds(300))
    }

    @Test func everyKey() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: """
                migration:
                  max_outgoing_per_host: 1
                  max_incoming_per_host: 3
                  max_per_cluster: 20
                  timeout: 10m
                  progress_write_interval: 1s
                  outcome_wait: 2m
                """,
            file: "manager.yaml"
        ).migration
        #expect(configuration.limits == .init(outgoingPerHost: 1, incomingPerHost: 3, perCluster: 20))
        #expect(configuration.timeout == .seconds(600))
        #expect(configuration.progressWriteInterval == .seconds(1))
        #expect(configuration.outcomeWait == .seconds(120))
    }

    @Test(
        arguments: [
            ("migration:\n  max_per_cluster: 0", "migration.max_per_cluster"),
            ("migration:\n  max_outgoing_per_host: two", "migration.max_outgoing_per_host"),
            ("migration:\n  timeout: soon", "migration.timeout"),
            ("migration:\n  outcome_wait: 0s", "migration.outcome_wait"),
            ("migration:\n  max_incomming_per_host: 2", "migration.max_incomming_per_host"),
        ]
    )
    func badValuesNameTheKey(yaml: String, key: String) {
        do {
            _ = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
            Issue.record("accepted: \(yaml)")
        } catch let error as ConfigError {
            #expect(error.key == key, "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
