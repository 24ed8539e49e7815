import Placement

/// The realistic profile's energy saver over the simulated hosts: which are awake, asleep or waking, since when,
/// and each interval's decisions — empty hosts beyond the reserve go to sleep once they have been awake long
/// enough, and sleeping hosts are woken to refill the reserve once they have slept long enough.
struct HostPowerStates {
    enum State {
        case awake
        case asleep
        /// Woken this interval: usable from the next.
        case waking
    }

    let settings: PowerManagement
    var state: [State]
    /// When each host entered its state, seconds from the start; -∞ at the start, so no minimum holds a host.
    var since: [Double]

    /// Hosts with VMs are awake, and the first `reserveHosts` empty ones; the rest asleep.
    init(cluster: SimulatedCluster, settings: PowerManagement) {
        self.settings = settings
        var reserve = settings.reserveHosts
        state = (0..<cluster.hostCount).map { host in
            if !cluster.hostVMs[host].isEmpty { return .awake }
            if reserve > 0 {
                reserve -= 1
                return .awake
            }
            return .asleep
        }
        since = Array(repeating: -.infinity, count: cluster.hostCount)
    }

    var placementStates: [HostState] {
        state.map {
            switch $0 {
            case .awake: .active
            case .asleep: .sleeping
            case .waking: .waking
            }
        }
    }

    /// At the start of an interval: hosts woken in the previous one are awake.
    mutating func enter(time: Double) {
        for host in state.indices where state[host] == .waking {
            state[host] = .awake
            since[host] = time
        }
    }

    /// After the interval's plan: puts empty hosts beyond the reserve to sleep (highest index first) and wakes
    /// sleeping hosts to refill it (lowest index first). Hosts with a migration this interval are left alone.
    mutating func save(cluster: SimulatedCluster, time: Double, touched: [Bool]) -> (slept: [Int], woken: [Int]) {
        let empty = state.indices.filter { state[$0] == .awake && cluster.hostVMs[$0].isEmpty && !touched[$0] }
        var slept: [Int] = []
        var woken: [Int] = []
        if empty.count > settings.reserveHosts {
            for host in empty.reversed() where slept.count < empty.count - settings.reserveHosts {
                guard time - since[host] >= settings.minimumAwakeSeconds else { continue }
                state[host] = .asleep
                since[host] = time
                slept.append(host)
            }
        } else if empty.count < settings.reserveHosts {
            for host in state.indices where woken.count < settings.reserveHosts - empty.count {
                guard state[host] == .asleep, time - since[host] >= settings.minimumAsleepSeconds else { continue }
                state[host] = .waking
                since[host] = time
                woken.append(host)
            }
        }
        return (slept, woken)
    }
}
