import ConfigFile
import Testing

@testable import Manager

@Suite struct ManagerPlacementConfigurationTests {
    @Test func defaults() throws {
        let configuration = try ManagerConfiguration.load(yaml: "", file: "manager.yaml")
        #expect(configuration.database == "/var/lib/torpor/manager.sqlite")
        #expect(configuration.placementPolicy == .firstFit)
        #expect(configuration.fillLimit == 1)
        #expect(configuration.vmSubnets.map(\.description) == ["192.168.122.0/24"])
        #expect(configuration.reservedAddresses.map(\.description) == ["192.168.122.1"])
        #expect(configuration.checkTemplateDisks)
    }

    @Test func placementAndAddressKeys() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: """
                database: /tmp/m.sqlite
                placement_policy: best-fit-decreasing
                fill_limit: 0.9
                vm_subnets: [10.42.0.0/24, 10.43.0.0/16]
                reserved_addresses: [10.42.0.1]
                check_template_disks: false
                """,
            file: "manager.yaml"
        )
        #expect(configuration.database == "/tmp/m.sqlite")
        #expect(configuration.placementPolicy == .bestFitDecreasing)
        #expect(configuration.fillLimit == 0.9)
        #expect(configuration.vmSubnets.map(\.description) == ["10.42.0.0/24", "10.43.0.0/16"])
        #expect(configuration.reservedAddresses.map(\.description) == ["10.42.0.1"])
        #expect(!configuration.checkTemplateDisks)
    }

    @Test func powerAwarePlacement() throws {
        let configuration = try ManagerConfiguration.load(yaml: "placement_policy: power-aware", file: "manager.yaml")
        #expect(configuration.placementPolicy == .powerAware)
    }

    @Test(
        arguments: [
            (
                "placement_policy: worst-fit", "placement_policy",
                "not one of first-fit, round-robin, best-fit-decreasing"
            ),
            ("fill_limit: 1.5", "fill_limit", "outside 0.05"),
            ("vm_subnets: [10.42.0.0/33]", "vm_subnets", "prefix length"),
            ("reserved_addresses: [10.42.0.300]", "reserved_addresses", "greater than 255"),
            ("placment_policy: first-fit", "placment_policy", "placement_policy"),
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

/// `hosts.<id>.power`: the models power-aware placement prices each host with.
@Suite struct HostPowerModelConfigurationTests {
    @Test func linearAndSPECPowerModelsPerHost() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: """
                placement_policy: power-aware
                hosts:
                  h1:
                    power: { idle_watts: 50, max_watts: 200 }
                  h2:
                    power:
                      spec_power: [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117]
                  h3: {}
                """,
            file: "manager.yaml"
        )
        #expect(configuration.hostPower["h1"]?.watts == [50, 200])
        #expect(configuration.hostPower["h2"]?.watts.count == 11)
        #expect(configuration.hostPower["h2"]?.watts.last == 117)
        #expect(configuration.hostPower["h3"] == nil)
    }

    @Test(
        arguments: [
            ("power: { idle_watts: 50 }", "hosts.h1.power.max_watts", "needs idle_watts and max_watts"),
            ("power: { idle_watts: 300, max_watts: 200 }", "hosts.h1.power.max_watts", "must not fall"),
            ("power: { spec_power: [1, 2, 3] }", "hosts.h1.power.spec_power", "needs 11 values"),
            ("power: { spec_power: [1, 2, x, 4, 5, 6, 7, 8, 9, 10, 11] }", "hosts.h1.power.spec_power", "'x'"),
            (
                "power: { spec_power: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], idle_watts: 1 }", "hosts.h1.power.spec_power",
                "not both"
            ),
            ("power: { idle_watts: 50, max_watt: 200 }", "hosts.h1.power.max_watt", "did you mean 'max_watts'"),
        ]
    )
    func badModelsNameTheKey(power: String, key: String, hint: String) {
        #expect {
            try ManagerConfiguration.load(yaml: "hosts:\n  h1:\n    \(power)\n", file: "manager.yaml")
        } throws: { error in
            let text = "\(error)"
            return "\(error)".contains(key) && text.contains(hint)
        }
    }
}
