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
