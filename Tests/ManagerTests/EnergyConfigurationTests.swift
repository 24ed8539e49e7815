import ConfigFile
import Energy
import Foundation
import Testing

@testable import Manager

@Suite struct EnergyConfigurationTests {
    @Test func offByDefaultWithDocumentedDefaults() throws {
        let configuration = try ManagerConfiguration.load(yaml: "", file: "manager.yaml")
        let energy = configuration.energy
        #expect(!energy.enabled)
        #expect(energy.wakeupTime == .seconds(300))
        #expect(energy.powerReadingInterval == .seconds(10))
        #expect(energy.sdrCacheDirectory == "/var/cache/torpor/sdr")
        #expect(energy.idleWatts == nil)
        #expect(configuration.hostWake.isEmpty)
    }

    @Test func everyKeyIsRead() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: """
                energy:
                  enabled: true
                  idle_time: 90s
                  reserved_hosts: 2
                  reserved_load_fraction: 0.1
                  minimum_awake: 5m
                  minimum_asleep: 2m
                  power_on_window: 30s
                  action: shutdown
                  evaluation_interval: 2s
                  wakeup_time: 120s
                  power_command_timeout: 20s
                  power_reading_interval: 5s
                  sdr_cache_directory: /tmp/sdr
                  idle_watts: 140
                hosts:
                  host-3:
                    wake: [ipmi, wol, command]
                    ipmi: {address: "10.0.0.103:623", user: admin, password_file: /etc/torpor/bmc-3}
                    wol: {mac: "52:54:00:12:34:56", broadcast: 10.0.0.255, port: 7}
                    command: [/usr/local/sbin/wake, host-3]
                  host-4:
                    wake: [wol]
                    wol: {mac: "52-54-00-12-34-57"}
                    ipmi: {address: "10.0.0.104", user: ops, password_file: /etc/torpor/bmc-4}
                """,
            file: "manager.yaml"
        )
        let energy = configuration.energy
        #expect(energy.enabled)
        #expect(energy.policy.idleTime == .seconds(90))
        #expect(energy.policy.reservedHosts == 2)
        #expect(energy.policy.reservedLoadFraction == 0.1)
        #expect(energy.policy.minimumAwake == .seconds(300))
        #expect(energy.policy.minimumAsleep == .seconds(120))
        #expect(energy.policy.powerOnWindow == .seconds(30))
        #expect(energy.policy.action == .shutdown)
        #expect(energy.evaluationInterval == .seconds(2))
        #expect(energy.wakeupTime == .seconds(120))
        #expect(energy.powerCommandTimeout == .seconds(20))
        #expect(energy.powerReadingInterval == .seconds(5))
        #expect(energy.sdrCacheDirectory == "/tmp/sdr")
        #expect(energy.idleWatts == 140)

        let host3 = try #require(configuration.hostWake["host-3"])
        #expect(
            host3.drivers == [
                .ipmi(address: "10.0.0.103:623", user: "admin", passwordFile: "/etc/torpor/bmc-3"),
                .wakeOnLAN(mac: "52:54:00:12:34:56", broadcast: "10.0.0.255", port: 7),
                .command(["/usr/local/sbin/wake", "host-3"]),
            ]
        )
        #expect(host3.drivers.map(\.name) == ["IPMI", "Wake-on-LAN", "command"])
        // A BMC not used for waking is still read for power.
        let host4 = try #require(configuration.hostWake["host-4"])
        #expect(host4.drivers == [.wakeOnLAN(mac: "52-54-00-12-34-57", broadcast: "255.255.255.255", port: 9)])
        #expect(
            host4.bmc
                == HostWakeConfiguration.BMCAccess(
                    address: "10.0.0.104",
                    user: "ops",
                    passwordFile: "/etc/torpor/bmc-4"
                )
        )
        #expect(PowerMonitor(configuration: configuration, logger: .init(label: "test")).hasSources)
    }

    /// The Debian package's manager.yaml with every commented-out setting switched on is a valid configuration.
    @Test func theShippedExampleParsesWithEverySettingOn() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("packaging/debian/conf/manager.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        // A commented-out setting is '#', indentation, a lower-case key and a colon; prose is anything else.
        let setting = /^#( *)([a-z0-9_-]+):( |$)/
        let enabled = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.firstMatch(of: setting) != nil ? String(line.dropFirst()) : String(line)
        }
        let configuration = try ManagerConfiguration.load(yaml: enabled.joined(separator: "\n"), file: file.path)
        #expect(configuration.hostWake["host-3"]?.drivers.map(\.name) == ["IPMI", "Wake-on-LAN"])
        #expect(configuration.hostWake["host-3"]?.bmc?.passwordFile == "/etc/torpor/bmc/host-3.password")
        #expect(!configuration.energy.enabled)
        #expect(configuration.hostFence["host-3"]?.drivers.map(\.name) == ["IPMI", "command"])
    }

    @Test(
        arguments: [
            ("energy: {power_reading_interval: 10ms}", "energy.power_reading_interval", "shorter than the minimum"),
            ("energy: {idle_watts: -3}", "energy.idle_watts", "outside"),
            ("energy: {action: hibernate}", "energy.action", "suspend-to-ram"),
            ("energy: {sdr_cache: /tmp}", "energy.sdr_cache", "unknown key"),
            ("hosts: {h: {wake: [ipmi]}}", "hosts.h.ipmi", "wake lists ipmi"),
            ("hosts: {h: {ipmi: {address: x}}}", "hosts.h.ipmi", "address, user and password_file"),
            ("hosts: {h: {wake: [wol], wol: {mac: 52:54:00}}}", "hosts.h.wol.mac", "not a MAC address"),
            ("hosts: {h: {wake: [bmc]}}", "hosts.h.wake", "not one of ipmi, wol, command"),
        ]
    )
    func badValuesNameTheKey(yaml: String, key: String, hint: String) {
        #expect {
            try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        } throws: { error in
            let text = "\(error)"
            return (error as? ConfigError)?.key == key && text.contains(hint)
        }
    }
}
