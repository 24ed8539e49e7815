import TestSupport
import Testing

@testable import Manager

/// Which host the leader moves to balance its group managers (`HostAssignmentMachine.rebalancingMove`),
/// table-driven: hosts reported where they are, the movable ones and the destinations, the move out.
@Suite struct HostAssignmentRebalancingTests {
    typealias Machine = HostAssignmentMachine
    typealias Move = Machine.Move

    static func machine(
        _ policy: Machine.Policy,
        _ groupManagers: [Machine.GroupManager],
        _ hosts: [String: String]
    ) -> Machine {
        var machine = Machine(policy: policy)
        for groupManager in groupManagers { _ = machine.handle(.groupManagerJoined(groupManager)) }
        for (host, id) in hosts.sorted(by: { $0.key < $1.key }) {
            _ = machine.handle(.hostReported(hostID: host, groupManagerID: id))
        }
        return machine
    }

    static let gm1 = HostAssignmentMachineTests.gm1
    static let gm2 = HostAssignmentMachineTests.gm2
    static let gm3 = HostAssignmentMachineTests.gm3
    static let all = ["gm-1", "gm-2", "gm-3"]

    /// `count` hosts h1…, all on `id`.
    static func on(_ id: String, _ count: Int, from first: Int = 1) -> [String: String] {
        Dictionary(uniqueKeysWithValues: (first..<first + count).map { ("h\($0)", id) })
    }

    /// (what, policy, group managers, hosts, movable in order, destinations, the move)
    static let cases:
        [(String, Machine.Policy, [Machine.GroupManager], [String: String], [String], Set<String>, Move?)] =
            [
                (
                    "balanced: nothing moves", .roundRobin, [gm1, gm2],
                    on("gm-1", 2).merging(on("gm-2", 2, from: 3)) { a, _ in a },
                    ["h1", "h2", "h3", "h4"], ["gm-1", "gm-2"], nil
                ),
                (
                    "one apart is balanced for round robin", .roundRobin, [gm1, gm2],
                    on("gm-1", 3).merging(on("gm-2", 2, from: 4)) { a, _ in a }, ["h1", "h2", "h3"], ["gm-1", "gm-2"],
                    nil
                ),
                (
                    "a group manager back with none: the first movable host of the fullest goes to it", .roundRobin,
                    [gm1, gm2], on("gm-2", 4), ["h3", "h1", "h2", "h4"], ["gm-1", "gm-2"],
                    Move(hostID: "h3", from: "gm-2", to: "gm-1")
                ),
                (
                    "a group manager not yet settled gets nothing", .roundRobin, [gm1, gm2], on("gm-2", 4),
                    ["h1", "h2", "h3", "h4"], ["gm-2"], nil
                ),
                (
                    "no movable host on the fullest: nothing moves", .roundRobin, [gm1, gm2], on("gm-2", 4), [],
                    ["gm-1", "gm-2"], nil
                ),
                (
                    "to the emptiest, from the fullest", .roundRobin, [gm1, gm2, gm3],
                    on("gm-1", 3).merging(on("gm-2", 5, from: 4)) { a, _ in a }, (1...8).map { "h\($0)" }, Set(all),
                    Move(hostID: "h4", from: "gm-2", to: "gm-3")
                ),
                (
                    "a full destination is skipped", .roundRobin,
                    [gm1, Machine.GroupManager(id: "gm-2", address: "x:1", maxHosts: 1), gm3],
                    on("gm-1", 5).merging(on("gm-2", 1, from: 6)) { a, _ in a }.merging(on("gm-3", 3, from: 7)) {
                        a,
                        _ in a
                    },
                    (1...9).map { "h\($0)" }, Set(all), Move(hostID: "h1", from: "gm-1", to: "gm-3")
                ),
                (
                    "over its lowered limit: a host goes to one with room, whatever the policy", .firstFit,
                    [gm1, Machine.GroupManager(id: "gm-2", address: "x:1", maxHosts: 1)],
                    on("gm-1", 1).merging(on("gm-2", 3, from: 2)) { a, _ in a }, ["h2", "h3", "h4"], ["gm-1", "gm-2"],
                    Move(hostID: "h2", from: "gm-2", to: "gm-1")
                ),
                (
                    "first fit: the last group manager's host goes to the first with room", .firstFit,
                    [Machine.GroupManager(id: "gm-1", address: "x:1", maxHosts: 3), gm2, gm3],
                    on("gm-1", 1).merging(on("gm-2", 1, from: 2)) { a, _ in a }.merging(on("gm-3", 1, from: 3)) {
                        a,
                        _ in a
                    },
                    ["h1", "h2", "h3"], Set(all), Move(hostID: "h3", from: "gm-3", to: "gm-1")
                ),
                (
                    "first fit: filled in order, nothing moves", .firstFit,
                    [Machine.GroupManager(id: "gm-1", address: "x:1", maxHosts: 2), gm2],
                    on("gm-1", 2).merging(on("gm-2", 3, from: 3)) { a, _ in a }, (1...5).map { "h\($0)" },
                    ["gm-1", "gm-2"], nil
                ),
                (
                    "first fit: an unsettled first group manager is passed over", .firstFit, [gm1, gm2, gm3],
                    on("gm-3", 2), ["h1", "h2"], ["gm-2", "gm-3"], Move(hostID: "h1", from: "gm-3", to: "gm-2")
                ),
            ]

    @Test(arguments: cases.indices)
    func moves(index: Int) {
        let (what, policy, groupManagers, hosts, movable, destinations, expected) = Self.cases[index]
        let machine = Self.machine(policy, groupManagers, hosts)
        #expect(machine.rebalancingMove(movable: movable, destinations: destinations) == expected, "\(what)")
    }

    /// Moving as told until nothing moves: round robin ends with its group managers at most one apart, first fit
    /// filled in order, in no more moves than hosts, and never past a limit.
    @Test(arguments: Machine.Policy.allCases)
    func movesEndBalanced(policy: Machine.Policy) {
        var generator = SplitMix64(seed: 20_261_205)
        for _ in 0..<200 {
            let groupManagers = (1...Int(1 + generator.next() % 4)).map { index in
                Machine.GroupManager(id: "gm-\(index)", address: "x:\(index)", maxHosts: Int(generator.next() % 3) * 4)
            }
            var hosts: [String: String] = [:]
            for index in 0..<Int(generator.next() % 20) {
                hosts["h\(index)"] = groupManagers[Int(generator.next() % UInt64(groupManagers.count))].id
            }
            var machine = Self.machine(policy, groupManagers, hosts)
            let everyone = Set(groupManagers.map(\.id))
            var moves = 0
            while let move = machine.rebalancingMove(movable: machine.assignments.keys.sorted(), destinations: everyone)
            {
                #expect(move.from != move.to)
                _ = machine.handle(.hostMoved(hostID: move.hostID, to: move.to))
                moves += 1
                if moves > hosts.count { break }
            }
            #expect(moves <= hosts.count, "\(groupManagers) \(hosts)")
            let counts = groupManagers.map { machine.hostCount(of: $0.id) }
            let withRoom = groupManagers.filter(machine.hasRoom).map { machine.hostCount(of: $0.id) }
            for groupManager in groupManagers where groupManager.maxHosts > 0 {
                let count = machine.hostCount(of: groupManager.id)
                // Over the limit only when no other has room.
                #expect(
                    count <= groupManager.maxHosts
                        || groupManagers.allSatisfy { $0.id == groupManager.id || !machine.hasRoom($0) }
                )
            }
            if policy == .roundRobin, let fewest = withRoom.min() {
                #expect(counts.allSatisfy { $0 <= fewest + 1 }, "\(groupManagers) → \(counts)")
            }
        }
    }
}
