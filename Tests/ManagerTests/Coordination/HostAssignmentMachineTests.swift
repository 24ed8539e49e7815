import TestSupport
import Testing

@testable import Manager

/// Which group manager a host joins (`HostAssignmentMachine`), table-driven: event sequences in, the actions of the
/// last event out, for both policies.
@Suite struct HostAssignmentMachineTests {
    typealias Machine = HostAssignmentMachine
    static let gm1 = Machine.GroupManager(id: "gm-1", address: "10.0.0.11:7710")
    static let gm2 = Machine.GroupManager(id: "gm-2", address: "10.0.0.12:7710")
    static let gm3 = Machine.GroupManager(id: "gm-3", address: "10.0.0.13:7710")
    static let smallGM1 = Machine.GroupManager(id: "gm-1", address: "10.0.0.11:7710", maxHosts: 2)
    static let smallGM2 = Machine.GroupManager(id: "gm-2", address: "10.0.0.12:7710", maxHosts: 1)

    static func joined(_ groupManagers: Machine.GroupManager...) -> [Machine.Event] {
        groupManagers.map { .groupManagerJoined($0) }
    }

    static func asked(_ hosts: String...) -> [Machine.Event] {
        hosts.map { .hostAsked(hostID: $0) }
    }

    /// (what, policy, events, the actions of the last event)
    static let cases: [(String, Machine.Policy, [Machine.Event], [Machine.Action])] = [
        (
            "no group manager: refused, saying so", .roundRobin, asked("h1"),
            [.refuse(hostID: "h1", reason: "no group manager is registered")]
        ),
        (
            "round robin deals in id order, whatever the registration order", .roundRobin,
            joined(gm3, gm1, gm2) + asked("h1", "h2", "h3", "h4"), [.assign(hostID: "h4", to: gm1)]
        ),
        (
            "round robin: the third host to the third", .roundRobin, joined(gm1, gm2, gm3) + asked("h1", "h2", "h3"),
            [.assign(hostID: "h3", to: gm3)]
        ),
        (
            "first fit fills the first group manager", .firstFit, joined(gm1, gm2) + asked("h1", "h2", "h3"),
            [.assign(hostID: "h3", to: gm1)]
        ),
        (
            "first fit passes to the next when the first is full", .firstFit,
            joined(smallGM1, gm2) + asked("h1", "h2", "h3"), [.assign(hostID: "h3", to: gm2)]
        ),
        (
            "round robin skips a full group manager", .roundRobin,
            joined(gm1, smallGM2, gm3) + asked("h1", "h2", "h3", "h4", "h5"), [.assign(hostID: "h5", to: gm3)]
        ),
        (
            "every group manager full: refused, saying so", .firstFit,
            joined(smallGM1, smallGM2) + asked("h1", "h2", "h3", "h4"),
            [.refuse(hostID: "h4", reason: "every group manager is full (2 registered)")]
        ),
        (
            "a host asking again keeps its group manager", .roundRobin, joined(gm1, gm2) + asked("h1", "h2", "h1"),
            [.assign(hostID: "h1", to: gm1)]
        ),
        (
            "a lost group manager's hosts are named, to ask again", .roundRobin,
            joined(gm1, gm2) + asked("h1", "h2", "h3") + [.groupManagerLost(id: "gm-1")],
            [.reassign(hostIDs: ["h1", "h3"], from: "gm-1")]
        ),
        (
            "they then join one that lives", .roundRobin,
            joined(gm1, gm2) + asked("h1", "h2", "h3") + [.groupManagerLost(id: "gm-1")] + asked("h1"),
            [.assign(hostID: "h1", to: gm2)]
        ),
        (
            "a group manager that comes back gets a host that asks before it had another back", .roundRobin,
            joined(gm1, gm2) + asked("h1") + [.groupManagerLost(id: "gm-1")] + joined(gm1) + asked("h1"),
            [.assign(hostID: "h1", to: gm1)]
        ),
        (
            "a host that left and returns gets its group manager back", .roundRobin,
            joined(gm1, gm2) + asked("h1", "h2") + [.hostLeft(hostID: "h2")] + asked("h3", "h2"),
            [.assign(hostID: "h2", to: gm2)]
        ),
        (
            "a group manager registering again at a new address: its hosts are sent there", .roundRobin,
            joined(gm1) + asked("h1")
                + joined(Machine.GroupManager(id: "gm-1", address: "10.0.0.99:7710")) + asked("h1"),
            [.assign(hostID: "h1", to: Machine.GroupManager(id: "gm-1", address: "10.0.0.99:7710"))]
        ),
        (
            "losing an unknown group manager changes nothing", .roundRobin,
            joined(gm1) + asked("h1") + [.groupManagerLost(id: "gm-9")], []
        ),
        (
            "losing a group manager with no hosts names nobody", .roundRobin,
            joined(gm1, gm2) + asked("h1") + [.groupManagerLost(id: "gm-2")], []
        ),
        (
            "a host a group manager reports (a new leader's first link) stays with it when it asks", .roundRobin,
            joined(gm1, gm2) + [.hostReported(hostID: "h1", groupManagerID: "gm-2")] + asked("h1"),
            [.assign(hostID: "h1", to: gm2)]
        ),
        (
            "a reported host counts toward its group manager's limit", .firstFit,
            joined(smallGM1, gm2) + [
                .hostReported(hostID: "h1", groupManagerID: "gm-1"),
                .hostReported(hostID: "h2", groupManagerID: "gm-1"),
            ] + asked("h3"),
            [.assign(hostID: "h3", to: gm2)]
        ),
        (
            "a host reported by an unregistered group manager is dealt like any other", .roundRobin,
            joined(gm1) + [.hostReported(hostID: "h1", groupManagerID: "gm-9")] + asked("h1"),
            [.assign(hostID: "h1", to: gm1)]
        ),
        (
            "a reported host's group manager lost: it is named with the others", .roundRobin,
            joined(gm1, gm2) + [.hostReported(hostID: "h7", groupManagerID: "gm-1")] + asked("h1")
                + [.groupManagerLost(id: "gm-1")],
            [.reassign(hostIDs: ["h1", "h7"], from: "gm-1")]
        ),
    ]

    @Test(arguments: cases.indices)
    func decisions(index: Int) {
        let (what, policy, events, expected) = Self.cases[index]
        var machine = Machine(policy: policy)
        var last: [Machine.Action] = []
        for event in events { last = machine.handle(event) }
        #expect(last == expected, "\(what)")
    }

    /// Whatever happens, no group manager holds more hosts than its limit, and every assignment names a live one.
    @Test(arguments: Machine.Policy.allCases)
    func limitsAndLivenessHoldUnderAnyEvents(policy: Machine.Policy) {
        var generator = SplitMix64(seed: 20_261_204)
        let groupManagers = [Self.smallGM1, Self.smallGM2, Self.gm3]
        var machine = Machine(policy: policy)
        for _ in 0..<5_000 {
            let event: Machine.Event
            switch generator.next() % 10 {
            case 0: event = .groupManagerJoined(groupManagers[Int(generator.next() % 3)])
            case 1: event = .groupManagerLost(id: groupManagers[Int(generator.next() % 3)].id)
            case 2: event = .hostLeft(hostID: "h\(generator.next() % 12)")
            default: event = .hostAsked(hostID: "h\(generator.next() % 12)")
            }
            for action in machine.handle(event) {
                if case .assign(let host, let groupManager) = action {
                    #expect(machine.assignments[host] == groupManager.id)
                }
            }
            let live = Set(machine.groupManagers.map(\.id))
            #expect(machine.assignments.values.allSatisfy(live.contains))
            for groupManager in machine.groupManagers where groupManager.maxHosts > 0 {
                #expect(machine.hostCount(of: groupManager.id) <= groupManager.maxHosts)
            }
        }
    }
}
