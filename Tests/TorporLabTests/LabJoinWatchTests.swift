import Testing

@testable import TorporLab

/// `lab up` waits for every host to join. Before, it waited for one look at the manager's host table in which every
/// host was connected at once: with the energy saver on, under load, early hosts were asleep before the last one
/// joined, and `lab up --bmc` timed out (EnergyLabTests' measured-power lab, with `yes` on one core: "not every
/// agent joined the manager within 60 s"). The second and fourth rows failed that way.
struct LabJoinWatchTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var looks: [[String]]
        var joinedAfter: Int?
        var missing: [String]
        var testDescription: String {
            "\(looks) → \(joinedAfter.map { "joined after look \($0)" } ?? "\(missing) missing")"
        }
    }

    @Test(arguments: [
        Row(looks: [["host-1", "host-2", "host-3"]], joinedAfter: 1, missing: []),
        // host-1 joined, then slept while host-2 and host-3 were still starting.
        Row(looks: [["host-1"], [], ["host-2", "host-3"]], joinedAfter: 3, missing: []),
        Row(looks: [["host-1"], ["host-1", "host-2"], ["host-2"]], joinedAfter: nil, missing: ["host-3"]),
        Row(looks: [["host-3"], ["host-1"], ["host-2"], []], joinedAfter: 3, missing: []),
        // Hosts that are not the lab's (a manager shared by mistake) never count.
        Row(looks: [["host-1", "host-2", "other"]], joinedAfter: nil, missing: ["host-3"]),
        Row(looks: [], joinedAfter: nil, missing: ["host-1", "host-2", "host-3"]),
    ])
    func joinedOnceSeenConnected(_ row: Row) {
        var watch = LabJoinWatch(expected: ["host-1", "host-2", "host-3"])
        var joinedAfter: Int?
        for (index, look) in row.looks.enumerated() where joinedAfter == nil {
            if watch.saw(connected: look) { joinedAfter = index + 1 }
        }
        #expect(joinedAfter == row.joinedAfter)
        #expect(watch.missing == row.missing)
    }
}
