import Energy
import Testing

@testable import Manager

/// The host power machine, table-driven: given a state, an event gives an action and a new state.
@Suite struct HostPowerMachineTests {
    static let t0 = ContinuousClock.now
    static let t1 = t0 + .seconds(5)

    static func machine(_ state: EnergyHost.PowerState, announced: Bool = false) -> HostPowerMachine {
        var machine = HostPowerMachine(state: state, since: t0)
        machine.goingDownAnnounced = announced
        return machine
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var given: HostPowerMachine
        var event: HostPowerMachine.Event
        var action: HostPowerMachine.Action
        var state: EnergyHost.PowerState
        var testDescription: String { "\(given.state) + \(event) → \(action), \(state)" }
    }

    static let rows: [Row] = [
        Row(given: machine(.active), event: .powerDownOrdered, action: .markInRegistry(.sleeping), state: .sleeping),
        Row(given: machine(.sleeping), event: .powerCommandEnded(.accepted), action: .none, state: .sleeping),
        // A power command that never arrived leaves the host up, never tracked asleep.
        Row(
            given: machine(.sleeping),
            event: .powerCommandEnded(.notDelivered("h1 is not connected")),
            action: .stayedUp(reason: "h1 is not connected"),
            state: .active
        ),
        // ...unless the agent announced it was going down: the order arrived, the answer went down with the host.
        Row(
            given: machine(.sleeping, announced: true),
            event: .powerCommandEnded(.notDelivered("connection closed")),
            action: .none,
            state: .sleeping
        ),
        Row(
            given: machine(.sleeping),
            event: .powerCommandEnded(.refused("a domain is active")),
            action: .stayedUp(reason: "a domain is active"),
            state: .active
        ),
        // A late answer for a host already woken again changes nothing.
        Row(given: machine(.waking), event: .powerCommandEnded(.refused("x")), action: .none, state: .waking),
        Row(given: machine(.active), event: .goingDownAnnounced, action: .none, state: .sleeping),
        Row(given: machine(.waking), event: .goingDownAnnounced, action: .none, state: .waking),
        Row(given: machine(.sleeping), event: .resumedAnnounced, action: .none, state: .active),
        Row(given: machine(.waking), event: .resumedAnnounced, action: .none, state: .waking),
        Row(given: machine(.sleeping), event: .joined, action: .none, state: .active),
        // A wake in progress ends with `woke`, not with the join.
        Row(given: machine(.waking), event: .joined, action: .none, state: .waking),
        Row(
            given: machine(.sleeping),
            event: .wakeStarted(activity: "waking"),
            action: .markInRegistry(.waking),
            state: .waking
        ),
        Row(given: machine(.waking), event: .woke, action: .none, state: .active),
        Row(given: machine(.waking), event: .wakeFailed, action: .markInRegistry(.failed), state: .failed),
        Row(given: machine(.failed), event: .wakeRetried, action: .none, state: .sleeping),
        Row(given: machine(.active), event: .wakeRetried, action: .none, state: .active),
    ]

    @Test(arguments: rows) func transition(_ row: Row) {
        var machine = row.given
        #expect(machine.handle(row.event, at: Self.t1) == row.action)
        #expect(machine.state == row.state)
    }

    @Test func sleepAndWakeTimesAreKept() {
        var machine = Self.machine(.active)
        _ = machine.handle(.powerDownOrdered, at: Self.t1)
        #expect(machine.sleptAt == Self.t1)
        // The agent's notice for the leader's own order keeps the order's time.
        _ = machine.handle(.goingDownAnnounced, at: Self.t1 + .seconds(1))
        #expect(machine.sleptAt == Self.t1)
        _ = machine.handle(.wakeStarted(activity: "waking h1 via IPMI"), at: Self.t1 + .seconds(60))
        #expect(machine.wakeActivity == "waking h1 via IPMI")
        _ = machine.handle(.woke, at: Self.t1 + .seconds(90))
        #expect(machine.wokeAt == Self.t1 + .seconds(90))
        #expect(machine.sleptAt == Self.t1)
        #expect(machine.idleSince == Self.t1 + .seconds(90))
        #expect(machine.wakeActivity == nil)
    }

    @Test func idleSinceFollowsOccupancyAndCommandsCount() {
        var machine = Self.machine(.active)
        _ = machine.handle(.occupied(vms: 0), at: Self.t0)
        _ = machine.handle(.occupied(vms: 0), at: Self.t1)
        #expect(machine.idleSince == Self.t0)
        _ = machine.handle(.occupied(vms: 2), at: Self.t1)
        #expect(machine.idleSince == nil)
        _ = machine.handle(.commandStarted, at: Self.t1)
        _ = machine.handle(.commandStarted, at: Self.t1)
        _ = machine.handle(.commandEnded, at: Self.t1)
        #expect(machine.commandsInFlight == 1)
        _ = machine.handle(.commandEnded, at: Self.t1)
        _ = machine.handle(.commandEnded, at: Self.t1)
        #expect(machine.commandsInFlight == 0)
    }

    @Test func aHostWithAnActiveDomainIsNotIdleForThePolicy() {
        var machine = Self.machine(.active)
        _ = machine.handle(.occupied(vms: 0), at: Self.t0)
        let idle = machine.energyHost(
            id: "h1",
            registryState: .active,
            connected: true,
            vmCount: 0,
            incomingVMs: 0,
            supportedActions: [.suspendToRam],
            capacityCores: 8,
            usedCores: 0,
            origin: Self.t0
        )
        #expect(idle.idleSince == .zero)
        #expect(!idle.isBusy)
        // The store says stopped, libvirt still lists the guest: counted, so the host is busy.
        let listed = machine.energyHost(
            id: "h1",
            registryState: .active,
            connected: true,
            vmCount: 1,
            incomingVMs: 0,
            supportedActions: [.suspendToRam],
            capacityCores: 8,
            usedCores: 0,
            origin: Self.t0
        )
        #expect(listed.isBusy)
        #expect(listed.idleSince == nil)
    }
}
