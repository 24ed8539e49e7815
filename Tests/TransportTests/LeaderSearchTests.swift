import TestSupport
import Testing
import Transport
import Wire

/// `LeaderSearch`'s decisions, as sequences of events and the action each gets, no I/O.
@Suite struct LeaderSearchTests {
    static let a = HostPort(host: "10.0.0.11", port: 7700)
    static let b = HostPort(host: "10.0.0.12", port: 7700)
    static let c = HostPort(host: "10.0.0.13", port: 7700)
    static func elected(_ address: HostPort, _ id: String = "m") -> LeaderReply.Leader {
        .elected(managerID: id, address: "\(address)")
    }

    /// One step: the event, and the action expected (`wait` matched by kind: the jitter is random).
    enum Expected: Equatable {
        case dial(HostPort)
        case follow
        case wait
    }

    static func run(_ steps: [(LeaderSearch.Event, Expected)], bootstrap: [HostPort] = [a, b, c]) {
        var search = LeaderSearch(bootstrap: bootstrap)
        var generator = SystemRandomNumberGenerator()
        for (index, (event, expected)) in steps.enumerated() {
            let action = search.handle(event, using: &generator)
            let got: Expected =
                switch action {
                case .dial(let address): .dial(address)
                case .follow: .follow
                case .wait: .wait
                }
            #expect(got == expected, "step \(index): \(event)")
        }
    }

    static let scenarios: [(String, [(LeaderSearch.Event, Expected)])] = [
        ("the first bootstrap leads", [(.start, .dial(a)), (.answered(elected(a), byLeader: true), .follow)]),
        (
            "a standby names the leader, which confirms",
            [
                (.start, .dial(a)), (.answered(elected(c), byLeader: false), .dial(c)),
                (.answered(elected(c), byLeader: true), .follow),
            ]
        ),
        (
            "unreachable bootstraps are skipped in order",
            [(.start, .dial(a)), (.unreachable, .dial(b)), (.answered(elected(b), byLeader: true), .follow)]
        ),
        (
            "nobody leads anywhere: a wait after the round, then the round again from the top",
            [
                (.start, .dial(a)), (.answered(.nobody, byLeader: false), .dial(b)), (.unreachable, .dial(c)),
                (.answered(.nobody, byLeader: false), .wait), (.timerFired, .dial(a)),
                (.answered(elected(b), byLeader: false), .dial(b)), (.answered(elected(b), byLeader: true), .follow),
            ]
        ),
        (
            "the leader is lost: wait, then ask the list again",
            [
                (.start, .dial(a)), (.answered(elected(a), byLeader: true), .follow), (.leaderLost, .wait),
                (.timerFired, .dial(a)), (.unreachable, .dial(b)), (.answered(elected(c), byLeader: false), .dial(c)),
                (.answered(elected(c), byLeader: true), .follow),
            ]
        ),
        (
            "redirects are chased at most twice, then the next bootstrap",
            [
                (.start, .dial(a)), (.answered(elected(b), byLeader: false), .dial(b)),
                (.answered(elected(c), byLeader: false), .dial(c)),
                (.answered(elected(a), byLeader: false), .dial(b)),
            ]
        ),
        (
            "a manager naming itself without leading (its Welcome is another's) is not chased",
            [(.start, .dial(a)), (.answered(elected(a), byLeader: false), .dial(b))]
        ),
        (
            "a leader address that is not host:port is skipped",
            [
                (.start, .dial(a)), (.answered(.elected(managerID: "m", address: "nowhere"), byLeader: false), .dial(b)),
            ]
        ),
    ]

    @Test(arguments: scenarios)
    func decides(name: String, steps: [(LeaderSearch.Event, Expected)]) {
        Self.run(steps)
    }

    @Test func aSingleAddressIsAskedAgainAfterEachWait() {
        Self.run(
            [
                (.start, .dial(Self.a)), (.unreachable, .wait), (.timerFired, .dial(Self.a)), (.unreachable, .wait),
                (.timerFired, .dial(Self.a)), (.answered(Self.elected(Self.a), byLeader: true), .follow),
            ],
            bootstrap: [Self.a]
        )
    }

    @Test func waitsGrowWithinTheBackoffAndStartOverOnceALeaderIsFollowed() {
        let backoff = Backoff(initial: .milliseconds(100), factor: 2, maximum: .seconds(1))
        var search = LeaderSearch(bootstrap: [Self.a], backoff: backoff)
        var generator = SplitMix64(seed: 14)
        _ = search.handle(.start, using: &generator)
        for attempt in 0..<8 {
            guard case .wait(let delay) = search.handle(.unreachable, using: &generator) else {
                Issue.record("attempt \(attempt): expected a wait")
                return
            }
            #expect(delay <= backoff.ceiling(forAttempt: attempt))
            #expect(search.handle(.timerFired, using: &generator) == .dial(Self.a))
        }
        #expect(search.backoff.attempt == 8)
        #expect(search.handle(.answered(Self.elected(Self.a), byLeader: true), using: &generator) == .follow)
        #expect(search.isFollowing)
        #expect(search.backoff.attempt == 0)
        guard case .wait(let delay) = search.handle(.leaderLost, using: &generator) else {
            Issue.record("expected a wait after losing the leader")
            return
        }
        #expect(delay <= .milliseconds(100))
        #expect(!search.isFollowing)
    }
}
