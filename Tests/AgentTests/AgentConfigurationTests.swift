import ConfigFile
import Testing
import Transport
import Wire

@testable import Agent

@Suite struct AgentConfigurationTests {
    @Test func defaultsWhenFileIsEmpty() throws {
        let config = try AgentConfiguration.load(yaml: "", file: "agent.yaml")
        #expect(config.libvirtURI == "qemu:///system")
        #expect(config.sampleInterval == .seconds(3))
        #expect(config.ringCapacity == 60)
        #expect(config.power.suspendToRam == ["systemctl", "suspend"])
        #expect(config.power.command(for: .shutdown) == ["systemctl", "poweroff"])
        #expect(config.manager == nil)
        #expect(config.hostMetrics == .proc)
    }

    @Test func fullFile() throws {
        let config = try AgentConfiguration.load(
            yaml: """
                host_id: rack1-h3
                libvirt_uri: test:///default
                listen: 127.0.0.1:7801
                manager: "[::1]:7700"
                sample_interval: 1s
                ring_capacity: 30
                release_startup_pages_after: 0s
                nic_capacity_mbit: 10000
                host_metrics: vms
                power:
                  suspend_to_ram: [/usr/local/bin/record, ram]
                  timeout: 5s
                wake:
                  mac: "52:54:00:12:34:56"
                  bmc: 127.0.0.1:9623
                  drivers: [ipmi, wol]
                """,
            file: "agent.yaml"
        )
        #expect(config.hostID == "rack1-h3")
        #expect(config.listen == HostPort(host: "127.0.0.1", port: 7801))
        #expect(config.manager == HostPort(host: "::1", port: 7700))
        #expect(config.power.suspendToRam == ["/usr/local/bin/record", "ram"])
        #expect(config.power.timeout == .seconds(5))
        #expect(config.wake.macAddress == [0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
        #expect(config.wake.drivers == [.ipmi, .wakeOnLAN])
        #expect(config.capacityNICBytesPerSecond == 1_250_000_000)
        #expect(config.hostMetrics == .vms)
        #expect(config.releaseStartupPagesAfter == .zero)
        #expect(AgentConfiguration(hostname: "h").releaseStartupPagesAfter == .seconds(10))
    }

    @Test(arguments: [
        ("libvirt_url: test:///default\n", "libvirt_url", "did you mean 'libvirt_uri'"),
        ("listen: nowhere\n", "listen", "is not host:port"),
        ("ring_capacity: 1\n", "ring_capacity", "outside"),
        ("wake:\n  mac: 12:34\n", "wake.mac", "not a MAC address"),
        ("wake:\n  drivers: [smoke-signal]\n", "wake.drivers", "not one of ipmi, wol, command"),
        ("power:\n  shutdown: ['']\n", "power.shutdown", "program name is empty"),
        ("log: syslog\n", "log", "not one of"),
        ("host_metrics: cpu\n", "host_metrics", "not one of"),
        ("release_startup_pages_after: soon\n", "release_startup_pages_after", "duration"),
    ])
    func badInputNamesTheKey(yaml: String, key: String, problem: String) throws {
        let error = try #require(throws: ConfigError.self) {
            try AgentConfiguration.load(yaml: yaml, file: "agent.yaml")
        }
        #expect(error.key == key)
        #expect(error.description.contains(problem))
    }
}

/// `migration.destination_uri`: the URI announced in Hello for incoming migrations.
@Suite struct AgentMigrationURITests {
    @Test func theDefaultIsLibvirtsTCPTransportAtTheAdvertisedAddress() throws {
        let config = try AgentConfiguration.load(yaml: "", file: "agent.yaml")
        #expect(config.migrationDestinationURI == nil)
        #expect(config.migrationURI(advertisedAddress: "10.0.0.7:7701") == "qemu+tcp://10.0.0.7/system")
        #expect(config.migrationURI(advertisedAddress: "[fd00::7]:7701") == "qemu+tcp://[fd00::7]/system")
        #expect(config.migrationURI(advertisedAddress: "kvm-07.lab:7701") == "qemu+tcp://kvm-07.lab/system")
        #expect(config.migrationURI(advertisedAddress: "") == "")
    }

    @Test func theConfiguredURIWins() throws {
        let config = try AgentConfiguration.load(
            yaml: """
                migration:
                  destination_uri: qemu+tls://kvm-07.lab/system
                  step_interval: 5s
                """,
            file: "agent.yaml"
        )
        #expect(config.migrationDestinationURI == "qemu+tls://kvm-07.lab/system")
        #expect(config.migrationURI(advertisedAddress: "10.0.0.7:7701") == "qemu+tls://kvm-07.lab/system")
        #expect(config.migration.stepInterval == .seconds(5))
    }

    @Test(arguments: ["kvm-07.lab", "qemu+tcp://kvm 07/system", "''"])
    func aValueThatIsNotAURIIsRefusedNamingTheKey(value: String) {
        do {
            _ = try AgentConfiguration.load(yaml: "migration:\n  destination_uri: \(value)", file: "agent.yaml")
            Issue.record("accepted \(value)")
        } catch let error as ConfigError {
            #expect(error.key == "migration.destination_uri", "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
