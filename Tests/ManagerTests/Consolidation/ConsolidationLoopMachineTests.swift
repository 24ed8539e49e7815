import Testing

@testable import Manager

/// The loop's decisions, event by event: what it plans, starts, discards and refuses, and when.
@Suite struct ConsolidationLoopMachineTests {
    typealias Machine = ConsolidationLoopMachine
    typealias Summary = Machine.PlanSummary

    static let frees = Summary(moves: 3, hostsFreed: 1, costSeconds: 60)
    static let relief = Summary(moves: 1, hostsFreed: 0, costSeconds: 30)

    /// Each step: an event and the actions it must give, then the phase after it.
    struct Step: CustomStringConvertible, Sendable {
        var event: Machine.Event
        var actions: [Machine.Action]
        var phase: Machine.Phase
        var description: String { "\(event)" }
    }

    static let scenarios: [(String, Bool, [Step])] = [
        (
            "relocation on a refresh, its migrations run, the next refresh plans again once they ended",
            true,
            [
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
                Step(
                    event: .planned(.relocation, relief),
                    actions: [.start(.relocation)],
                    phase: .starting(.relocation)
                ),
                Step(event: .migrationsStarted(["t-1"]), actions: [], phase: .migrating(.relocation, ["t-1"])),
                Step(event: .estimatesRefreshed, actions: [], phase: .migrating(.relocation, ["t-1"])),
                Step(event: .migrationEnded("t-1"), actions: [], phase: .idle),
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
            ]
        ),
        (
            "a relocation that finds nothing goes back to idle",
            true,
            [
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
                Step(
                    event: .planned(
                        .relocation,
                        Summary(moves: 0, hostsFreed: 0, costSeconds: 0, reason: "no host over MAX")
                    ),
                    actions: [.discard(.relocation, reason: "no host over MAX")],
                    phase: .idle
                ),
            ]
        ),
        (
            "relocation switched off: refreshes plan nothing, the schedule still consolidates",
            false,
            [
                Step(event: .estimatesRefreshed, actions: [], phase: .idle),
                Step(event: .scheduleFired, actions: [.plan(.consolidation)], phase: .planning(.consolidation)),
            ]
        ),
        (
            "a scheduled consolidation that frees a host within the budget starts",
            true,
            [
                Step(event: .scheduleFired, actions: [.plan(.consolidation)], phase: .planning(.consolidation)),
                Step(
                    event: .planned(.consolidation, frees),
                    actions: [.start(.consolidation)],
                    phase: .starting(.consolidation)
                ),
                Step(
                    event: .migrationsStarted(["t-1", "t-2", "t-3"]),
                    actions: [.announceReconfiguration(.started)],
                    phase: .migrating(.consolidation, ["t-1", "t-2", "t-3"])
                ),
                Step(event: .migrationEnded("t-2"), actions: [], phase: .migrating(.consolidation, ["t-1", "t-3"])),
                // An id the loop never started changes nothing.
                Step(event: .migrationEnded("t-9"), actions: [], phase: .migrating(.consolidation, ["t-1", "t-3"])),
                Step(event: .migrationEnded("t-1"), actions: [], phase: .migrating(.consolidation, ["t-3"])),
                Step(event: .migrationEnded("t-3"), actions: [.announceReconfiguration(.ended)], phase: .idle),
            ]
        ),
        (
            "a host over MAX or under MIN is announced when it gets there, not at each refresh it stays there",
            true,
            [
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
                Step(
                    event: .planned(.relocation, Summary(moves: 0, hostsFreed: 0, costSeconds: 0, reason: "stuck", overloaded: ["h1"])),
                    actions: [.announceAnomaly(host: "h1", .overloaded), .discard(.relocation, reason: "stuck")],
                    phase: .idle
                ),
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
                Step(
                    event: .planned(.relocation, Summary(moves: 0, hostsFreed: 0, costSeconds: 0, reason: "stuck", overloaded: ["h1"])),
                    actions: [.discard(.relocation, reason: "stuck")],
                    phase: .idle
                ),
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
                Step(
                    event: .planned(
                        .relocation,
                        Summary(moves: 1, hostsFreed: 1, costSeconds: 9, overloaded: ["h3"], underloaded: ["h1", "h2"])
                    ),
                    actions: [
                        .announceAnomaly(host: "h1", .underloaded), .announceAnomaly(host: "h2", .underloaded),
                        .announceAnomaly(host: "h3", .overloaded), .start(.relocation),
                    ],
                    phase: .starting(.relocation)
                ),
                // A relocation round is not Snooze's reconfiguration: nothing announced as it starts or ends.
                Step(event: .migrationsStarted(["t-1"]), actions: [], phase: .migrating(.relocation, ["t-1"])),
                Step(event: .migrationEnded("t-1"), actions: [], phase: .idle),
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
                Step(
                    event: .planned(.relocation, Summary(moves: 0, hostsFreed: 0, costSeconds: 0, reason: "calm")),
                    actions: [.discard(.relocation, reason: "calm")],
                    phase: .idle
                ),
                // Back within its thresholds in between: h3 over MAX again is news again.
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
                Step(
                    event: .planned(.relocation, Summary(moves: 0, hostsFreed: 0, costSeconds: 0, reason: "stuck", overloaded: ["h3"])),
                    actions: [.announceAnomaly(host: "h3", .overloaded), .discard(.relocation, reason: "stuck")],
                    phase: .idle
                ),
            ]
        ),
        (
            "a consolidation plan's own anomalies are not relocation's: none announced from it",
            true,
            [
                Step(event: .scheduleFired, actions: [.plan(.consolidation)], phase: .planning(.consolidation)),
                Step(
                    event: .planned(.consolidation, Summary(moves: 3, hostsFreed: 1, costSeconds: 60, underloaded: ["h1"])),
                    actions: [.start(.consolidation)],
                    phase: .starting(.consolidation)
                ),
                Step(
                    event: .migrationsStarted(["t-1"]),
                    actions: [.announceReconfiguration(.started)],
                    phase: .migrating(.consolidation, ["t-1"])
                ),
                Step(event: .scheduleFired, actions: [], phase: .migrating(.consolidation, ["t-1"])),
                // The round ends, then the consolidation the schedule asked for meanwhile is planned.
                Step(
                    event: .migrationEnded("t-1"),
                    actions: [.announceReconfiguration(.ended), .plan(.consolidation)],
                    phase: .planning(.consolidation)
                ),
            ]
        ),
        (
            "no plan that frees no host",
            true,
            [
                Step(event: .scheduleFired, actions: [.plan(.consolidation)], phase: .planning(.consolidation)),
                Step(
                    event: .planned(.consolidation, Summary(moves: 2, hostsFreed: 0, costSeconds: 10)),
                    actions: [.discard(.consolidation, reason: "the plan frees no host")],
                    phase: .idle
                ),
            ]
        ),
        (
            "no plan over the budget",
            true,
            [
                Step(
                    event: .consolidationRequested,
                    actions: [.plan(.consolidation)],
                    phase: .planning(.consolidation)
                ),
                Step(
                    event: .planned(.consolidation, Summary(moves: 40, hostsFreed: 5, costSeconds: 4_000)),
                    actions: [
                        .discard(
                            .consolidation,
                            reason:
                                "the plan costs 67 min of migration, over the budget of 10 min (consolidation.budget)"
                        )
                    ],
                    phase: .idle
                ),
            ]
        ),
        (
            "the schedule firing during relocation migrations consolidates once they end",
            true,
            [
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
                Step(event: .scheduleFired, actions: [], phase: .planning(.relocation)),
                Step(
                    event: .planned(.relocation, relief),
                    actions: [.start(.relocation)],
                    phase: .starting(.relocation)
                ),
                Step(event: .migrationsStarted(["t-1"]), actions: [], phase: .migrating(.relocation, ["t-1"])),
                Step(
                    event: .migrationEnded("t-1"),
                    actions: [.plan(.consolidation)],
                    phase: .planning(.consolidation)
                ),
            ]
        ),
        (
            "an on-demand consolidation while migrations run is refused, naming them",
            true,
            [
                Step(event: .estimatesRefreshed, actions: [.plan(.relocation)], phase: .planning(.relocation)),
                Step(
                    event: .planned(.relocation, relief),
                    actions: [.start(.relocation)],
                    phase: .starting(.relocation)
                ),
                Step(
                    event: .migrationsStarted(["t-1", "t-2"]),
                    actions: [],
                    phase: .migrating(.relocation, ["t-1", "t-2"])
                ),
                Step(
                    event: .consolidationRequested,
                    actions: [.refuse(reason: "2 migrations of a relocation plan still run")],
                    phase: .migrating(.relocation, ["t-1", "t-2"])
                ),
            ]
        ),
        (
            "a plan none of whose migrations could start goes back to idle",
            true,
            [
                Step(
                    event: .consolidationRequested,
                    actions: [.plan(.consolidation)],
                    phase: .planning(.consolidation)
                ),
                Step(
                    event: .planned(.consolidation, frees),
                    actions: [.start(.consolidation)],
                    phase: .starting(.consolidation)
                ),
                Step(event: .migrationsStarted([]), actions: [], phase: .idle),
            ]
        ),
        (
            "planning that fails (state unreadable) goes back to idle; a stale plan is ignored",
            true,
            [
                Step(event: .scheduleFired, actions: [.plan(.consolidation)], phase: .planning(.consolidation)),
                Step(event: .planned(.relocation, relief), actions: [], phase: .planning(.consolidation)),
                Step(event: .planningFailed(.consolidation), actions: [], phase: .idle),
            ]
        ),
    ]

    @Test(arguments: scenarios)
    func scenario(name: String, relocationEnabled: Bool, steps: [Step]) {
        var machine = Machine(relocationEnabled: relocationEnabled, budgetSeconds: 600)
        for (index, step) in steps.enumerated() {
            let actions = machine.handle(step.event)
            #expect(actions == step.actions, "\(name), step \(index + 1): \(step.event)")
            #expect(machine.phase == step.phase, "\(name), step \(index + 1): \(step.event)")
        }
    }

    @Test(arguments: [
        (Machine.PlanKind.relocation, Summary(moves: 1, hostsFreed: 0, costSeconds: 5_000), nil as String?),
        (.relocation, Summary(moves: 0, hostsFreed: 0, costSeconds: 0), "nothing to move"),
        (.consolidation, Summary(moves: 2, hostsFreed: 1, costSeconds: 600), nil),
        (.consolidation, Summary(moves: 2, hostsFreed: 1, costSeconds: 601), "over the budget of 10 min"),
        (.consolidation, Summary(moves: 2, hostsFreed: 0, costSeconds: 1), "frees no host"),
        (
            .consolidation, Summary(moves: 0, hostsFreed: 0, costSeconds: 0, reason: "every host is needed"),
            "every host is needed"
        ),
    ])
    func verdict(kind: Machine.PlanKind, summary: Summary, refusal: String?) {
        let machine = Machine(relocationEnabled: true, budgetSeconds: 600)
        let verdict = machine.verdict(kind, summary)
        if let refusal {
            #expect(verdict?.contains(refusal) == true, "\(verdict ?? "runs")")
        } else {
            #expect(verdict == nil)
        }
    }
}
