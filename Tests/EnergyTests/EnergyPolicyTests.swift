import TestSupport
import Testing

@testable import Energy

@Suite struct EnergyPolicyTests {
    static func idle(_ id: String, since: Duration = .zero, woke: Duration? = nil) -> EnergyHost {
        EnergyHost(id: id, state: .active, idleSince: since, wokeAt: woke)
    }

    static func actions(_ decisions: [EnergyDecision]) -> [String: EnergyDecision.Action] {
        Dictionary(uniqueKeysWithValues: decisions.map { ($0.hostID, $0.action) })
    }

    @Test func fourIdleHostsOneReservedThreeGoDown() {
        let hosts = (1...4).map { Self.idle("host-\($0)") }
        let (decisions, _) = EnergyPolicy().evaluate(hosts, at: .seconds(120))
        let down = decisions.filter { if case .powerDown = $0.action { true } else { false } }
        #expect(down.count == 3)
        #expect(down.allSatisfy { $0.action == .powerDown(.suspendToRam) })
        #expect(down.allSatisfy { $0.reason == "idle for 120 s (≥ 120 s), not reserved" })
        let kept = decisions.first { $0.action == .none }
        #expect(kept?.reason == "reserved (1 idle host kept awake)")
    }

    @Test(
        arguments: [
            (EnergyHost(id: "h", state: .active, vmCount: 2, idleSince: nil), "runs 2 VMs"),
            (EnergyHost(id: "h", state: .active, incomingVMs: 1, idleSince: .zero), "receiving 1 VM"),
            (EnergyHost(id: "h", state: .active, commandsInFlight: 1, idleSince: .zero), "a command is in flight"),
            (EnergyHost(id: "h", state: .active, idleSince: .seconds(100)), "idle for 100 s of 120 s"),
            (
                EnergyHost(id: "h", state: .active, idleSince: .zero, wokeAt: .seconds(50)),
                "woke 150 s ago; stays up at least 300 s"
            ),
            (EnergyHost(id: "h", state: .sleeping), "asleep"),
            (EnergyHost(id: "h", state: .waking), "waking"),
            (EnergyHost(id: "h", state: .failed), "failed"),
            (
                EnergyHost(id: "h", state: .active, idleSince: .zero, supportedActions: []),
                "no power-saving action available"
            ),
        ]
    )
    func hostsThatStayUpSayWhy(host: EnergyHost, reason: String) {
        var configuration = EnergyPolicyConfiguration()
        configuration.reservedHosts = 0
        // A second, idle host keeps the reserve (when there is one) off the host under test.
        let (decisions, _) = EnergyPolicy(configuration: configuration).evaluate([host], at: .seconds(200))
        #expect(decisions == [EnergyDecision(hostID: "h", action: .none, reason: reason)])
    }

    @Test(
        arguments: [
            (PowerAction.suspendToRam, Set(PowerAction.allCases), PowerAction.suspendToRam),
            (.suspendToDisk, [.suspendToRam, .shutdown], .suspendToRam),
            (.suspendToRam, [.shutdown], .shutdown),
            (.shutdown, [.suspendToDisk, .shutdown], .shutdown),
            (.suspendToBoth, [.suspendToDisk, .shutdown], .suspendToDisk),
        ] as [(PowerAction, Set<PowerAction>, PowerAction)]
    )
    func actionFollowsConfigurationAndCapabilities(
        wanted: PowerAction,
        supported: Set<PowerAction>,
        chosen: PowerAction
    ) {
        var configuration = EnergyPolicyConfiguration()
        configuration.action = wanted
        configuration.reservedHosts = 0
        let host = EnergyHost(id: "h", state: .active, idleSince: .zero, supportedActions: supported)
        #expect(
            Self.actions(EnergyPolicy(configuration: configuration).evaluate([host], at: .seconds(500)).decisions)
                == ["h": .powerDown(chosen)]
        )
    }

    @Test func reserveKeepsTheMostRecentlyWokenHost() {
        let hosts = [Self.idle("a"), Self.idle("b", woke: .seconds(10)), Self.idle("c")]
        let (decisions, _) = EnergyPolicy().evaluate(hosts, at: .seconds(400))
        #expect(
            Self.actions(decisions) == ["a": .powerDown(.suspendToRam), "b": .none, "c": .powerDown(.suspendToRam)]
        )
    }

    @Test func reserveByLoadKeepsMoreHosts() {
        var configuration = EnergyPolicyConfiguration()
        configuration.reservedLoadFraction = 0.5
        let busy = (1...3).map {
            EnergyHost(id: "busy-\($0)", state: .active, vmCount: 4, capacityCores: 8, usedCores: 8)
        }
        // 24 cores in use × 0.5 = 12 cores = 2 hosts of 8 in reserve.
        let idle = (1...4).map { EnergyHost(id: "idle-\($0)", state: .active, idleSince: .zero, capacityCores: 8) }
        let (decisions, _) = EnergyPolicy(configuration: configuration).evaluate(busy + idle, at: .seconds(600))
        #expect(decisions.filter { $0.action == .none && $0.reason.hasPrefix("reserved") }.count == 2)
        #expect(decisions.filter { $0.action == .powerDown(.suspendToRam) }.count == 2)
    }

    @Test func reserveIsRefilledAfterThePowerOnWindowAndMinimumAsleep() {
        let policy = EnergyPolicy()
        let hosts = [
            EnergyHost(id: "busy", state: .active, vmCount: 1),
            EnergyHost(id: "s1", state: .sleeping, sleptAt: .seconds(0)),
            EnergyHost(id: "s2", state: .sleeping, sleptAt: .seconds(500)),
        ]
        let first = policy.evaluate(hosts, at: .seconds(550))
        #expect(first.state.reserveShortSince == .seconds(550))
        #expect(!first.decisions.contains { $0.action == .wake }, "the power-on window has not passed")
        let second = policy.evaluate(hosts, at: .seconds(585), state: first.state)
        // s2 slept 85 s ago (< 120 s): only s1 may be woken.
        #expect(Self.actions(second.decisions) == ["busy": .none, "s1": .wake, "s2": .none])
        #expect(second.decisions.first { $0.hostID == "s1" }?.reason == "reserve: 0 of 1 idle hosts awake for 35 s")
        let enough = policy.evaluate([Self.idle("a")] + hosts, at: .seconds(600), state: second.state)
        #expect(enough.state.reserveShortSince == nil)
    }

    @Test func aSleepingHostNothingCanWakeNeverRefillsTheReserve() {
        let policy = EnergyPolicy()
        let hosts = [
            EnergyHost(id: "busy", state: .active, vmCount: 1),
            EnergyHost(id: "stranded", state: .sleeping, sleptAt: .seconds(0), canWake: false),
        ]
        let first = policy.evaluate(hosts, at: .seconds(550))
        #expect(first.state.reserveShortSince == nil, "no host could refill it: the shortfall is not timed")
        let later = policy.evaluate(hosts, at: .seconds(5_000), state: first.state)
        #expect(Self.actions(later.decisions) == ["busy": .none, "stranded": .none])
        let wakeable = EnergyHost(id: "s1", state: .sleeping, sleptAt: .seconds(0))
        let second = policy.evaluate(hosts + [wakeable], at: .seconds(600))
        let third = policy.evaluate(hosts + [wakeable], at: .seconds(700), state: second.state)
        #expect(Self.actions(third.decisions) == ["busy": .none, "stranded": .none, "s1": .wake])
    }

    /// Random event sequences: VMs arrive and leave, migrations and commands start and end, hosts sleep and wake,
    /// time passes; after every evaluation the decisions are applied. The invariants must hold throughout.
    @Test(arguments: 0..<40)
    func randomSequencesKeepTheInvariants(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed) &+ 0x9E37_79B9)
        var configuration = EnergyPolicyConfiguration()
        configuration.idleTime = .seconds(Int64(random.next(in: 1...60)))
        configuration.reservedHosts = random.next(in: 0...3)
        configuration.minimumAwake = .seconds(Int64(random.next(in: 0...120)))
        configuration.minimumAsleep = .seconds(Int64(random.next(in: 0...120)))
        configuration.powerOnWindow = .seconds(Int64(random.next(in: 0...30)))
        configuration.reservedLoadFraction = random.next(in: 0...2) == 0 ? 0.5 : 0
        let policy = EnergyPolicy(configuration: configuration)
        var hosts = (0..<random.next(in: 1...8)).map {
            EnergyHost(id: "h\($0)", state: .active, idleSince: .zero, capacityCores: 4)
        }
        var state = EnergyPolicy.State()
        var now = Duration.zero
        for _ in 0..<300 {
            now += .seconds(Int64(random.next(in: 0...20)))
            let index = random.next(in: 0...(hosts.count - 1))
            switch random.next(in: 0...6) {
            case 0 where hosts[index].state == .active:
                hosts[index].vmCount += 1
                hosts[index].usedCores += 1
                hosts[index].idleSince = nil
            case 1 where hosts[index].vmCount > 0:
                hosts[index].vmCount -= 1
                hosts[index].usedCores -= 1
                if hosts[index].vmCount == 0 { hosts[index].idleSince = now }
            case 2 where hosts[index].state == .active: hosts[index].incomingVMs += 1
            case 3 where hosts[index].incomingVMs > 0:
                hosts[index].incomingVMs -= 1
                hosts[index].vmCount += 1
                hosts[index].idleSince = nil
            case 4: hosts[index].commandsInFlight = hosts[index].commandsInFlight > 0 ? 0 : 1
            case 5 where hosts[index].state == .sleeping:
                // Capacity demanded: woken regardless of the policy.
                hosts[index].state = .active
                hosts[index].wokeAt = now
                hosts[index].idleSince = now
            default: break
            }
            let awakeIdleBefore = hosts.filter { $0.state == .active && !$0.isBusy }.count
            let result = policy.evaluate(hosts, at: now, state: state)
            state = result.state
            let reserve = policy.reserveSize(hosts)
            var poweredDown = 0
            for decision in result.decisions {
                guard let index = hosts.firstIndex(where: { $0.id == decision.hostID }) else { continue }
                let host = hosts[index]
                switch decision.action {
                case .powerDown:
                    #expect(!host.isBusy, "seed \(seed): powered down a busy host: \(host) — \(decision)")
                    #expect(host.state == .active, "seed \(seed): \(host)")
                    if let woke = host.wokeAt {
                        #expect(now - woke >= configuration.minimumAwake, "seed \(seed): cycled \(host)")
                    }
                    hosts[index].state = .sleeping
                    hosts[index].sleptAt = now
                    poweredDown += 1
                case .wake:
                    #expect(host.state == .sleeping, "seed \(seed): \(decision)")
                    hosts[index].state = .active
                    hosts[index].wokeAt = now
                    hosts[index].idleSince = now
                case .none:
                    break
                }
            }
            #expect(
                awakeIdleBefore - poweredDown >= min(reserve, awakeIdleBefore),
                "seed \(seed): reserve of \(reserve) broken (\(awakeIdleBefore) idle, \(poweredDown) powered down)"
            )
        }
    }
}
