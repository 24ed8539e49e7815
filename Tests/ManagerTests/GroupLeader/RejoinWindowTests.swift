import Testing

@testable import Manager

/// `RejoinWindow` fed what a placement sees, poll by poll: when it waits and when it places, and what it names as
/// missing. Quiet period 10 s, at most 30 s; times are seconds after the window opened.
@Suite struct RejoinWindowTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var expected: Set<String>
        var polls: [(Int, Set<String>, RejoinWindow.Step)]
        var testDescription: String { name }
    }

    static let all: Set<String> = ["host-1", "host-2", "host-3"]

    static let cases: [Case] = [
        Case(
            name: "every host back at once: place",
            expected: all,
            polls: [(0, [], .wait), (2, all, .place(missing: []))]
        ),
        Case(
            name: "nothing expected (a new cluster): place at once",
            expected: [],
            polls: [(0, [], .place(missing: []))]
        ),
        Case(
            name: "nobody back in the quiet period: place naming every host",
            expected: all,
            polls: [(5, [], .wait), (9, [], .wait), (10, [], .place(missing: all))]
        ),
        Case(
            name: "hosts trickling in keep it open past the first quiet period",
            expected: all,
            polls: [
                (8, ["host-1"], .wait), (15, ["host-1"], .wait), (17, ["host-1", "host-2"], .wait),
                (26, ["host-1", "host-2"], .wait), (27, all, .place(missing: [])),
            ]
        ),
        Case(
            name: "one host gone for good: closes a quiet period after the last arrival",
            expected: all,
            polls: [
                (3, ["host-1", "host-2"], .wait), (12, ["host-1", "host-2"], .wait),
                (13, ["host-1", "host-2"], .place(missing: ["host-3"])),
            ]
        ),
        Case(
            name: "arrivals never keep it open past the maximum",
            expected: all,
            polls: [
                (9, ["host-1"], .wait), (18, ["host-1", "host-2"], .wait),
                (30, ["host-1", "host-2"], .place(missing: ["host-3"])),
            ]
        ),
        Case(
            name: "closed stays closed: a host that leaves afterwards makes nobody wait",
            expected: all,
            polls: [(1, all, .place(missing: [])), (2, ["host-1"], .place(missing: []))]
        ),
        Case(
            name: "a host back that was not expected changes nothing",
            expected: ["host-1"],
            polls: [(4, ["host-9"], .wait), (10, ["host-9"], .place(missing: ["host-1"]))]
        ),
    ]

    @Test(arguments: cases)
    func steps(_ testCase: Case) {
        let opened = ContinuousClock.now
        var window = RejoinWindow(opened: opened, quiet: .seconds(10), maximum: .seconds(30))
        for (at, ready, expect) in testCase.polls {
            let step = window.step(expected: testCase.expected, ready: ready, at: opened + .seconds(at))
            #expect(step == expect, "at \(at) s with \(ready.sorted())")
        }
        #expect(window.isClosed)
    }

    @Test func aMaximumBelowTheQuietPeriodIsTheQuietPeriod() {
        let opened = ContinuousClock.now
        let window = RejoinWindow(opened: opened, quiet: .seconds(10), maximum: .seconds(1))
        #expect(window.deadline == opened + .seconds(10))
    }
}
