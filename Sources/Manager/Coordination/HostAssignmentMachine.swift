/// Which group manager each host's agent joins (Snooze's `groupLeaderScheduler.assignmentPolicy`; docs/ha.md,
/// "Group managers"): the group leader's decisions as events in, actions out, without I/O.
///
/// - A host that asks again while its group manager lives keeps it; one that left (or whose group manager was
///   lost and came back) gets its previous group manager back when it has room, as Snooze gave an LC known by
///   address its old GM.
/// - Otherwise `roundRobin` deals hosts to group managers in turn (in id order, skipping full ones), and `firstFit`
///   gives each host the first group manager in id order with room, filling them one after the other.
/// - A group manager lost (its lease gone) loses its hosts at once: the action names them, so they can be told to
///   ask again (their connections to it are gone anyway) and get another.
/// - Hosts already dealt are moved one at a time (`rebalancingMove`) towards what the policy would deal now: a group
///   manager that joins late, or comes back after its hosts went to others, gets its share.
public struct HostAssignmentMachine: Sendable, Equatable {
    public enum Policy: String, Sendable, CaseIterable {
        case roundRobin = "round-robin"
        case firstFit = "first-fit"
    }

    /// A group manager as the leader knows it: where agents reach it and how many hosts it takes (0: no limit).
    public struct GroupManager: Sendable, Hashable {
        public var id: String
        public var address: String
        public var maxHosts: Int

        public init(id: String, address: String, maxHosts: Int = 0) {
            self.id = id
            self.address = address
            self.maxHosts = maxHosts
        }
    }

    public enum Event: Sendable, Equatable {
        /// A group manager registered (or registered again, perhaps at a new address).
        case groupManagerJoined(GroupManager)
        /// A group manager's registration is gone (it stopped, or its lease expired).
        case groupManagerLost(id: String)
        /// A host's agent asks which group manager to join.
        case hostAsked(hostID: String)
        /// A host left for good (removed by an operator); its group manager is remembered.
        case hostLeft(hostID: String)
        /// A group manager says a host's agent is with it (it reports its hosts when it links to a new leader):
        /// the host stays there. Ignored for a group manager that is not registered.
        case hostReported(hostID: String, groupManagerID: String)
        /// The leader moves a host to another group manager (`rebalancingMove`): when its agent asks again, it is
        /// sent there. Ignored for a group manager that is not registered.
        case hostMoved(hostID: String, to: String)
    }

    /// One host to move to balance the group managers.
    public struct Move: Sendable, Equatable {
        public var hostID: String
        public var from: String
        public var to: String

        public init(hostID: String, from: String, to: String) {
            self.hostID = hostID
            self.from = from
            self.to = to
        }
    }

    public enum Action: Sendable, Equatable {
        case assign(hostID: String, to: GroupManager)
        /// No group manager can take the host now; it should ask again later.
        case refuse(hostID: String, reason: String)
        /// These hosts' group manager is gone: they must ask again.
        case reassign(hostIDs: [String], from: String)
    }

    public let policy: Policy
    /// By id, so that decisions do not depend on the order group managers registered in.
    public private(set) var groupManagers: [GroupManager] = []
    public private(set) var assignments: [String: String] = [:]
    /// The group manager each host had last, kept when it left or its group manager went.
    public private(set) var previous: [String: String] = [:]
    /// The next group manager's id for round robin: the first with an id at or after it.
    private var cursor = ""

    public init(policy: Policy) {
        self.policy = policy
    }

    /// A new leader's machine: each host's last group manager (from the state) is its previous one, given back
    /// when it asks while that group manager lives and has room.
    public init(policy: Policy, previous: [String: String]) {
        self.policy = policy
        self.previous = previous
    }

    public func hostCount(of groupManagerID: String) -> Int {
        assignments.values.count { $0 == groupManagerID }
    }

    func hasRoom(_ groupManager: GroupManager) -> Bool {
        groupManager.maxHosts == 0 || hostCount(of: groupManager.id) < groupManager.maxHosts
    }

    public mutating func handle(_ event: Event) -> [Action] {
        switch event {
        case .groupManagerJoined(let groupManager):
            groupManagers.removeAll { $0.id == groupManager.id }
            groupManagers.append(groupManager)
            groupManagers.sort { $0.id < $1.id }
            return []

        case .groupManagerLost(let id):
            guard groupManagers.contains(where: { $0.id == id }) else { return [] }
            groupManagers.removeAll { $0.id == id }
            let orphans = assignments.filter { $0.value == id }.map(\.key).sorted()
            for host in orphans {
                assignments[host] = nil
                previous[host] = id
            }
            return orphans.isEmpty ? [] : [.reassign(hostIDs: orphans, from: id)]

        case .hostAsked(let host):
            if let current = assignments[host], let groupManager = groupManagers.first(where: { $0.id == current }) {
                return [.assign(hostID: host, to: groupManager)]
            }
            assignments[host] = nil
            if let before = previous[host], let groupManager = groupManagers.first(where: { $0.id == before }),
                hasRoom(groupManager)
            {
                return [assign(host, to: groupManager)]
            }
            guard let chosen = choose() else {
                let reason =
                    groupManagers.isEmpty
                    ? "no group manager is registered"
                    : "every group manager is full (\(groupManagers.count) registered)"
                return [.refuse(hostID: host, reason: reason)]
            }
            if policy == .roundRobin { cursor = chosen.id + "\u{0}" }
            return [assign(host, to: chosen)]

        case .hostLeft(let host):
            if let current = assignments.removeValue(forKey: host) { previous[host] = current }
            return []

        case .hostReported(let host, let id), .hostMoved(let host, let id):
            guard groupManagers.contains(where: { $0.id == id }) else { return [] }
            assignments[host] = id
            previous[host] = nil
            return []
        }
    }

    /// The one move that brings the hosts closer to what the policy deals, or nil when nothing needs to move.
    /// Only `movable` hosts are moved, the first listed first (the caller lists the cheapest to move first), and
    /// only to group managers in `destinations` with room.
    ///
    /// - A group manager over its `maxHosts` (lowered since) gives a host to one with room.
    /// - `roundRobin`: from the group manager with the most hosts to the one with the fewest, while they differ by
    ///   two or more: the spread round robin deals.
    /// - `firstFit`: from the last group manager (in id order) holding a movable host to the first with room before
    ///   it: the filling first fit deals.
    public func rebalancingMove(movable: [String], destinations: Set<String>) -> Move? {
        let counts = Dictionary(uniqueKeysWithValues: groupManagers.map { ($0.id, hostCount(of: $0.id)) })
        // Each group manager's movable hosts, in the caller's order.
        var movableOf: [String: [String]] = [:]
        for host in movable { if let id = assignments[host] { movableOf[id, default: []].append(host) } }
        let open = groupManagers.filter { destinations.contains($0.id) && hasRoom($0) }
        func move(from source: String, to target: GroupManager) -> Move? {
            guard source != target.id, let host = movableOf[source]?.first else { return nil }
            return Move(hostID: host, from: source, to: target.id)
        }
        // Over its limit: to the group manager with the fewest hosts that has room.
        for source in groupManagers where source.maxHosts > 0 && counts[source.id, default: 0] > source.maxHosts {
            let target = open.filter { $0.id != source.id }.min {
                counts[$0.id, default: 0] < counts[$1.id, default: 0]
            }
            if let target, let found = move(from: source.id, to: target) { return found }
        }
        switch policy {
        case .roundRobin:
            guard let target = open.min(by: { counts[$0.id, default: 0] < counts[$1.id, default: 0] }) else {
                return nil
            }
            let fewest = counts[target.id, default: 0]
            // The fullest group manager that has a host to give; ties go to the first in id order.
            let sources = groupManagers.filter { movableOf[$0.id] != nil && counts[$0.id, default: 0] >= fewest + 2 }
            guard let source = sources.max(by: { counts[$0.id, default: 0] < counts[$1.id, default: 0] }) else {
                return nil
            }
            return move(from: source.id, to: target)
        case .firstFit:
            guard let target = open.first else { return nil }
            guard let source = groupManagers.last(where: { $0.id > target.id && movableOf[$0.id] != nil }) else {
                return nil
            }
            return move(from: source.id, to: target)
        }
    }

    private mutating func assign(_ host: String, to groupManager: GroupManager) -> Action {
        assignments[host] = groupManager.id
        previous[host] = nil
        return .assign(hostID: host, to: groupManager)
    }

    private func choose() -> GroupManager? {
        switch policy {
        case .firstFit:
            return groupManagers.first(where: hasRoom)
        case .roundRobin:
            // From the cursor to the end, then from the start: the next in turn with room.
            let start = groupManagers.firstIndex { $0.id >= cursor } ?? 0
            let turn = groupManagers[start...] + groupManagers[..<start]
            return turn.first(where: hasRoom)
        }
    }
}
