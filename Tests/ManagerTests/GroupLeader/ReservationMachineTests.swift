import Foundation
import Testing

@testable import Manager

/// The reservation machine, table-driven: from a starting reservation, a sequence of events at given times gives
/// actions, a phase and refusals. The clock is the events' times; nothing else is read.
@Suite struct ReservationMachineTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let limits = ReservationMachine.Limits(maximumDuration: .seconds(3600), retryInterval: .seconds(30))

    static func at(_ seconds: Double) -> Date { t0 + seconds }

    enum Event: Sendable, CustomStringConvertible {
        case reserve(until: Double, at: Double)
        case renew(until: Double, at: Double)
        case release(at: Double)
        case tick(at: Double)
        case submitted(task: String)
        case submitFailed(at: Double)
        case taskEnded(task: String, succeeded: Bool, at: Double)

        var description: String {
            switch self {
            case .reserve(let until, let at): "reserve until +\(Int(until)) at +\(Int(at))"
            case .renew(let until, let at): "renew until +\(Int(until)) at +\(Int(at))"
            case .release(let at): "release at +\(Int(at))"
            case .tick(let at): "tick at +\(Int(at))"
            case .submitted(let task): "stop submitted as \(task)"
            case .submitFailed(let at): "stop refused at +\(Int(at))"
            case .taskEnded(let task, let succeeded, let at): "\(task) \(succeeded ? "succeeded" : "failed") at +\(Int(at))"
            }
        }
    }

    /// What one event gives: its actions, or the kind of refusal.
    enum Outcome: Equatable, Sendable {
        case actions([ReservationMachine.Action])
        case notFound
        case conflict
        case invalid
        case expired
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        /// A reservation already stored when the machine starts (a restart).
        var stored: StoredReservation? = nil
        var events: [Event]
        var outcomes: [Outcome]
        var phase: ReservationMachine.Phase?
        var testDescription: String { name }
    }

    static let save = Outcome.actions([.save(cluster: "vc")])
    static let none = Outcome.actions([])
    static let stop = Outcome.actions([.stopVMs(cluster: "vc")])

    static let rows: [Row] = [
        Row(name: "a reservation stays active before its end", events: [.reserve(until: 600, at: 0), .tick(at: 599)],
            outcomes: [save, none], phase: .active),
        Row(
            name: "at its end its VMs are stopped, and once stopped it is recorded",
            events: [
                .reserve(until: 600, at: 0), .tick(at: 600), .submitted(task: "t1"), .tick(at: 605),
                .taskEnded(task: "t1", succeeded: true, at: 610),
            ],
            outcomes: [save, stop, save, none, save],
            phase: .stopped(at: at(610))
        ),
        Row(
            name: "a failed stop is retried after the retry interval",
            events: [
                .reserve(until: 60, at: 0), .tick(at: 60), .submitted(task: "t1"),
                .taskEnded(task: "t1", succeeded: false, at: 70), .tick(at: 99), .tick(at: 100),
                .submitted(task: "t2"), .taskEnded(task: "t2", succeeded: true, at: 110),
            ],
            outcomes: [save, stop, save, none, none, stop, save, save],
            phase: .stopped(at: at(110))
        ),
        Row(
            name: "a refused stop (the cluster migrating) is retried too",
            events: [.reserve(until: 60, at: 0), .tick(at: 61), .submitFailed(at: 61), .tick(at: 91)],
            outcomes: [save, stop, none, stop],
            phase: .stopping(taskID: nil)
        ),
        Row(
            name: "the end of another task changes nothing",
            events: [.reserve(until: 60, at: 0), .tick(at: 60), .submitted(task: "t1"),
                .taskEnded(task: "t9", succeeded: true, at: 70)],
            outcomes: [save, stop, save, none],
            phase: .stopping(taskID: "t1")
        ),
        Row(name: "an end in the past is invalid", events: [.reserve(until: -1, at: 0)], outcomes: [.invalid],
            phase: nil),
        Row(name: "an end now is invalid", events: [.reserve(until: 0, at: 0)], outcomes: [.invalid], phase: nil),
        Row(name: "an end past the maximum is invalid", events: [.reserve(until: 3601, at: 0)],
            outcomes: [.invalid], phase: nil),
        Row(name: "the maximum itself is allowed", events: [.reserve(until: 3600, at: 0)], outcomes: [save],
            phase: .active),
        Row(name: "reserving a reserved cluster is a conflict",
            events: [.reserve(until: 60, at: 0), .reserve(until: 120, at: 1)], outcomes: [save, .conflict],
            phase: .active),
        Row(name: "reserving while its VMs are being stopped is a conflict",
            events: [.reserve(until: 60, at: 0), .tick(at: 60), .reserve(until: 600, at: 61)],
            outcomes: [save, stop, .conflict], phase: .stopping(taskID: nil)),
        Row(
            name: "an ended and stopped reservation can be reserved again",
            events: [
                .reserve(until: 60, at: 0), .tick(at: 60), .submitted(task: "t1"),
                .taskEnded(task: "t1", succeeded: true, at: 65), .reserve(until: 600, at: 70),
            ],
            outcomes: [save, stop, save, save, save],
            phase: .active
        ),
        Row(name: "renew moves the end later", events: [.reserve(until: 60, at: 0), .renew(until: 3000, at: 30),
            .tick(at: 61)], outcomes: [save, save, none], phase: .active),
        Row(name: "renew moves the end earlier", events: [.reserve(until: 600, at: 0), .renew(until: 60, at: 30),
            .tick(at: 60)], outcomes: [save, save, stop], phase: .stopping(taskID: nil)),
        Row(name: "renew past the maximum is invalid",
            events: [.reserve(until: 600, at: 0), .renew(until: 3700, at: 60)], outcomes: [save, .invalid],
            phase: .active),
        Row(name: "renew of no reservation is not found", events: [.renew(until: 60, at: 0)],
            outcomes: [.notFound], phase: nil),
        Row(name: "renew after the end, not yet ticked, is expired",
            events: [.reserve(until: 60, at: 0), .renew(until: 600, at: 60)], outcomes: [save, .expired],
            phase: .active),
        Row(name: "renew of a stopped reservation is expired",
            events: [.reserve(until: 60, at: 0), .tick(at: 60), .submitted(task: "t1"),
                .taskEnded(task: "t1", succeeded: true, at: 62), .renew(until: 600, at: 63)],
            outcomes: [save, stop, save, save, .expired], phase: .stopped(at: at(62))),
        Row(name: "release stops the VMs now",
            events: [.reserve(until: 600, at: 0), .release(at: 30)],
            outcomes: [save, .actions([.save(cluster: "vc"), .stopVMs(cluster: "vc")])],
            phase: .stopping(taskID: nil)),
        Row(name: "release of an ended reservation is expired",
            events: [.reserve(until: 60, at: 0), .tick(at: 60), .release(at: 61)], outcomes: [save, stop, .expired],
            phase: .stopping(taskID: nil)),
        Row(name: "release of no reservation is not found", events: [.release(at: 0)], outcomes: [.notFound],
            phase: nil),
        Row(
            name: "after a restart, a reservation that ended meanwhile is stopped at the first tick",
            stored: StoredReservation(vcName: "vc", until: at(60), createdAt: t0),
            events: [.tick(at: 4000)],
            outcomes: [stop],
            phase: .stopping(taskID: nil)
        ),
        Row(
            name: "after a restart, the stop under way is followed to its end",
            stored: StoredReservation(vcName: "vc", until: at(60), createdAt: t0, stopTaskID: "t1"),
            events: [.tick(at: 4000), .taskEnded(task: "t1", succeeded: true, at: 4001)],
            outcomes: [none, save],
            phase: .stopped(at: at(4001))
        ),
        Row(
            name: "after a restart, a stopped reservation stays stopped",
            stored: StoredReservation(vcName: "vc", until: at(60), createdAt: t0, stopTaskID: "t1", stoppedAt: at(70)),
            events: [.tick(at: 4000)],
            outcomes: [none],
            phase: .stopped(at: at(70))
        ),
    ]

    @Test(arguments: rows) func events(_ row: Row) {
        var machine = ReservationMachine(limits: Self.limits, stored: row.stored.map { [$0] } ?? [])
        var outcomes: [Outcome] = []
        for event in row.events {
            outcomes.append(Self.apply(event, to: &machine))
        }
        #expect(outcomes == row.outcomes)
        #expect(machine.reservations["vc"]?.phase == row.phase)
    }

    static func apply(_ event: Event, to machine: inout ReservationMachine) -> Outcome {
        do throws(ReservationMachine.Refusal) {
            switch event {
            case .reserve(let until, let now):
                return .actions(try machine.reserve(cluster: "vc", until: at(until), now: at(now)))
            case .renew(let until, let now):
                return .actions(try machine.renew(cluster: "vc", until: at(until), now: at(now)))
            case .release(let now): return .actions(try machine.release(cluster: "vc", now: at(now)))
            case .tick(let now): return .actions(machine.tick(now: at(now)))
            case .submitted(let task): return .actions(machine.stopSubmitted(cluster: "vc", taskID: task))
            case .submitFailed(let now):
                return .actions(machine.stopFailed(cluster: "vc", reason: "migrating", now: at(now)))
            case .taskEnded(let task, let succeeded, let now):
                return .actions(
                    machine.stopTaskEnded(cluster: "vc", taskID: task, succeeded: succeeded, reason: "", now: at(now))
                )
            }
        } catch {
            switch error {
            case .notFound: return .notFound
            case .conflict: return .conflict
            case .invalid: return .invalid
            case .expired: return .expired
            }
        }
    }

    @Test func refusalsNameTheClusterAndTimes() {
        var machine = ReservationMachine(limits: Self.limits)
        #expect(throws: ReservationMachine.Refusal.invalid(
            "the end 2027-01-15T09:50:00Z is past the maximum reservation of 1 h (at the latest 2027-01-15T09:00:00Z)"
        )) {
            try machine.reserve(cluster: "vc", until: Self.at(3600 + 3000), now: Self.t0)
        }
        _ = try? machine.reserve(cluster: "vc", until: Self.at(60), now: Self.t0)
        #expect(machine.startRefusal(cluster: "vc", now: Self.at(59)) == nil)
        #expect(
            machine.startRefusal(cluster: "vc", now: Self.at(60))
                == "the reservation of virtual cluster 'vc' ended at 2027-01-15T08:01:00Z: reserve it again "
                + "(torpor vc reserve vc --until TIME) before starting its VMs"
        )
        #expect(machine.startRefusal(cluster: "other", now: Self.at(60)) == nil)
    }

    @Test func theStoredFormKeepsWhatARestartNeeds() {
        var machine = ReservationMachine(limits: Self.limits)
        _ = try? machine.reserve(cluster: "vc", until: Self.at(60), now: Self.t0)
        _ = machine.tick(now: Self.at(60))
        _ = machine.stopSubmitted(cluster: "vc", taskID: "t1")
        let stored = StoredReservation(machine.reservations["vc"]!)
        #expect(stored == StoredReservation(vcName: "vc", until: Self.at(60), createdAt: Self.t0, stopTaskID: "t1"))
        let restarted = ReservationMachine(limits: Self.limits, stored: [stored])
        #expect(restarted.reservations == machine.reservations)
        #expect(restarted.runningStops.map(\.taskID) == ["t1"])
    }

    @Test func clustersThatAreGoneAreForgotten() {
        var machine = ReservationMachine(limits: Self.limits)
        _ = try? machine.reserve(cluster: "vc", until: Self.at(60), now: Self.t0)
        _ = try? machine.reserve(cluster: "kept", until: Self.at(60), now: Self.t0)
        machine.keep(onlyClusters: ["kept"])
        #expect(machine.reservations.keys.sorted() == ["kept"])
    }
}
