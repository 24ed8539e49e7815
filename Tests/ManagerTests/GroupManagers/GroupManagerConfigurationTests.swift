import ConfigFile
import Testing
import Transport

@testable import Manager

/// `role:`, `group_managers:` and `group_manager:` in manager.yaml (docs/manager.md, "Group managers").
@Suite struct GroupManagerConfigurationTests {
    @Test func aManagerHoldsItsAgentsByDefault() throws {
        let configuration = try ManagerConfiguration.load(yaml: "", file: "manager.yaml")
        #expect(configuration.role == .manager)
        #expect(configuration.groupManagers == nil)
        #expect(configuration.groupManager == nil)
        try configuration.checkRole(file: "manager.yaml")
    }

    @Test func theLeaderDealsHostsFirstFit() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: "group_managers: { assignment: first-fit }",
            file: "manager.yaml"
        )
        #expect(configuration.groupManagers?.assignment == .firstFit)
        #expect(configuration.groupManagers?.rebalanceInterval == .seconds(30), "rebalancing is on by default")
        try configuration.checkRole(file: "manager.yaml")
    }

    @Test(arguments: [("0s", Duration.zero), ("2m", .seconds(120)), ("500ms", .milliseconds(500))])
    func theRebalanceIntervalIsRead(text: String, interval: Duration) throws {
        let configuration = try ManagerConfiguration.load(
            yaml: "group_managers: { rebalance_interval: \(text) }",
            file: "manager.yaml"
        )
        #expect(configuration.groupManagers?.rebalanceInterval == interval)
    }

    @Test func aGroupManagerFollowsItsLeaders() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: """
                role: group-manager
                listen: 10.0.0.31:7702
                group_manager:
                  leaders: ["10.0.0.11:7700", "10.0.0.12:7700"]
                  max_hosts: 40
                """,
            file: "manager.yaml"
        )
        #expect(configuration.role == .groupManager)
        #expect(configuration.groupManager?.leaders.map(\.description) == ["10.0.0.11:7700", "10.0.0.12:7700"])
        #expect(configuration.groupManager?.advertise == "10.0.0.31:7702")
        #expect(configuration.groupManager?.maxHosts == 40)
        try configuration.checkRole(file: "manager.yaml")
    }

    @Test(
        arguments: [
            ("group_managers: { assignment: random }", "group_managers.assignment", "round-robin, first-fit"),
            ("group_managers: { assignmnt: first-fit }", "group_managers.assignmnt", "assignment"),
            ("group_managers: { rebalance_interval: often }", "group_managers.rebalance_interval", "duration"),
            ("role: leader", "role", "manager, group-manager"),
            ("group_manager: { max_hosts: 3 }", "group_manager.leaders", "missing"),
            ("group_manager: { leaders: [nowhere] }", "group_manager.leaders", "'nowhere' is not host:port"),
            (
                "listen: 0.0.0.0:7702\ngroup_manager: { leaders: [\"10.0.0.11:7700\"] }", "group_manager.advertise",
                "not an address agents can reach"
            ),
        ]
    )
    func badValuesNameTheKey(yaml: String, key: String, hint: String) {
        #expect {
            try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        } throws: { error in
            (error as? ConfigError)?.key == key && "\(error)".contains(hint)
        }
    }

    @Test(
        arguments: [
            ("role: group-manager", "group_manager", "needs group_manager.leaders"),
            (
                "listen: 10.0.0.31:7702\ngroup_manager: { leaders: [\"10.0.0.11:7700\"] }", "group_manager",
                "only with role: group-manager"
            ),
            (
                "role: group-manager\nlisten: 10.0.0.31:7702\ngroup_manager: { leaders: [\"10.0.0.11:7700\"] }\n"
                    + "group_managers: {}", "group_managers", "only the group leader"
            ),
        ]
    )
    func rolesAndSectionsMustAgree(yaml: String, key: String, hint: String) throws {
        let configuration = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        #expect {
            try configuration.checkRole(file: "manager.yaml")
        } throws: { error in
            (error as? ConfigError)?.key == key && "\(error)".contains(hint)
        }
    }
}
