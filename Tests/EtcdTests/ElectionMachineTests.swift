import Etcd
import TestSupport
import Testing

/// The election's decisions, table-driven, without etcd: each case is a list of (event, expected actions) steps
/// from a fresh machine with a 6 s lease (keepalive every 2 s, leading safe for 4 s after a confirmed send).
@Suite("election state machine")
struct ElectionMachineTests {
    typealias Event = ElectionMachine.Event
    typealias Action = ElectionMachine.Action

    static let settings = ElectionMachine.Settings(ttlSeconds: 6, retryDelay: .milliseconds(500))

    static func s(_ seconds: Double) -> Duration { .milliseconds(Int(seconds * 1000)) }

    /// A fresh machine's way to leadership: lease 7 sent at 0 s, key at revision 10, no predecessor.
    static let toLeading: [(Event, [Action])] = [
        (.start(now: .zero), [.grantLease(ttlSeconds: 6)]),
        (.leaseGranted(lease: 7, sentAt: .zero), [.createKey(lease: 7)]),
        (.keyCreated(lease: 7, revision: 10), [.findPredecessor(revision: 10)]),
        (.ranked(revision: 10, predecessor: nil, readAt: 10, now: s(0.1)), [.startLeading, .watchOwnKey]),
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var steps: [(Event, [Action])]
        var leadingAtEnd: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "the oldest key leads", steps: toLeading, leadingAtEnd: true),
        Case(
            name: "a younger key watches its predecessor and leads when it goes",
            steps: [
                (.start(now: .zero), [.grantLease(ttlSeconds: 6)]),
                (.leaseGranted(lease: 8, sentAt: .zero), [.createKey(lease: 8)]),
                (.keyCreated(lease: 8, revision: 12), [.findPredecessor(revision: 12)]),
                (
                    .ranked(revision: 12, predecessor: "e/7", readAt: 12, now: s(0.1)),
                    [.watchPredecessor(key: "e/7", fromRevision: 13, revision: 12)]
                ),
                (.tick(now: s(2)), [.keepAlive(lease: 8)]),
                (.keepAliveConfirmed(lease: 8, sentAt: s(2)), []),
                (.predecessorGone(revision: 12), [.findPredecessor(revision: 12)]),
                (.ranked(revision: 12, predecessor: nil, readAt: 14, now: s(3)), [.startLeading, .watchOwnKey]),
            ],
            leadingAtEnd: true
        ),
        Case(
            name: "keepalives every third of the TTL, one at a time",
            steps: toLeading + [
                (.tick(now: s(1)), []),
                (.tick(now: s(2)), [.keepAlive(lease: 7)]),
                (.tick(now: s(3)), []),  // still in flight
                (.keepAliveConfirmed(lease: 7, sentAt: s(2)), []),
                (.tick(now: s(3.9)), []),
                (.tick(now: s(4)), [.keepAlive(lease: 7)]),
            ],
            leadingAtEnd: true
        ),
        Case(
            name: "a leader whose keepalives fail steps down at 2/3 of the TTL after its last confirmed send",
            steps: toLeading + [
                (.tick(now: s(2)), [.keepAlive(lease: 7)]),
                (.keepAliveConfirmed(lease: 7, sentAt: s(2)), []),
                (.tick(now: s(4)), [.keepAlive(lease: 7)]),
                (.keepAliveFailed(lease: 7, expired: false, now: s(5)), []),
                (.tick(now: s(5.5)), [.keepAlive(lease: 7)]),  // retried after the retry delay
                (.keepAliveFailed(lease: 7, expired: false, now: s(5.9)), []),
                // 2 s + 4 s: etcd keeps the lease until at least 2 s + 6 s, so nobody else can lead before.
                (
                    .tick(now: s(6)),
                    [
                        .stopLeading(.leaseUnconfirmed), .cancelWatch, .revokeLease(lease: 7),
                        .grantLease(ttlSeconds: 6),
                    ]
                ),
            ],
            leadingAtEnd: false
        ),
        Case(
            name: "a hung keepalive does not keep a leader leading",
            steps: toLeading + [
                (.tick(now: s(2)), [.keepAlive(lease: 7)]),
                (.tick(now: s(3.99)), []),
                (
                    .tick(now: s(4)),
                    [
                        .stopLeading(.leaseUnconfirmed), .cancelWatch, .revokeLease(lease: 7),
                        .grantLease(ttlSeconds: 6),
                    ]
                ),
                // The hung call comes back late: it is for a lease we gave up.
                (.keepAliveConfirmed(lease: 7, sentAt: s(2)), []),
            ],
            leadingAtEnd: false
        ),
        Case(
            name: "etcd saying the lease expired ends leading at once",
            steps: toLeading + [
                (.tick(now: s(2)), [.keepAlive(lease: 7)]),
                (
                    .keepAliveFailed(lease: 7, expired: true, now: s(2.1)),
                    [
                        .stopLeading(.leaseExpired), .cancelWatch, .revokeLease(lease: 7),
                        .grantLease(ttlSeconds: 6),
                    ]
                ),
            ],
            leadingAtEnd: false
        ),
        Case(
            name: "a deleted own key ends leading",
            steps: toLeading + [
                (
                    .keyLost(now: s(1)),
                    [.stopLeading(.keyLost), .cancelWatch, .revokeLease(lease: 7), .grantLease(ttlSeconds: 6)]
                )
            ],
            leadingAtEnd: false
        ),
        Case(
            name: "no leading on a lease already past its safe span when ranked first",
            steps: [
                (.start(now: .zero), [.grantLease(ttlSeconds: 6)]),
                (.leaseGranted(lease: 7, sentAt: .zero), [.createKey(lease: 7)]),
                (.keyCreated(lease: 7, revision: 10), [.findPredecessor(revision: 10)]),
                (
                    .ranked(revision: 10, predecessor: nil, readAt: 10, now: s(4.5)),
                    [.cancelWatch, .revokeLease(lease: 7), .grantLease(ttlSeconds: 6)]
                ),
            ],
            leadingAtEnd: false
        ),
        Case(
            name: "a failed call while campaigning backs off, then starts over",
            steps: [
                (.start(now: .zero), [.grantLease(ttlSeconds: 6)]),
                (.callFailed(now: s(1)), [.cancelWatch]),
                (.tick(now: s(1.2)), []),
                (.tick(now: s(1.5)), [.grantLease(ttlSeconds: 6)]),
                (.leaseGranted(lease: 9, sentAt: s(1.5)), [.createKey(lease: 9)]),
                (.callFailed(now: s(2)), [.cancelWatch, .revokeLease(lease: 9)]),
            ],
            leadingAtEnd: false
        ),
        Case(
            name: "stale answers for an abandoned lease or key are ignored",
            steps: toLeading + [
                (
                    .keyLost(now: s(1)),
                    [.stopLeading(.keyLost), .cancelWatch, .revokeLease(lease: 7), .grantLease(ttlSeconds: 6)]
                ),
                (.keyCreated(lease: 7, revision: 10), []),
                (.keepAliveFailed(lease: 7, expired: true, now: s(1.1)), []),
                (.leaseGranted(lease: 11, sentAt: s(1)), [.createKey(lease: 11)]),
                (.ranked(revision: 10, predecessor: nil, readAt: 10, now: s(1.2)), []),
                (.keyCreated(lease: 11, revision: 20), [.findPredecessor(revision: 20)]),
                (.predecessorGone(revision: 10), []),
            ],
            leadingAtEnd: false
        ),
        Case(
            name: "resigning steps down and gives the lease back; later events do nothing",
            steps: toLeading + [
                (.resign, [.stopLeading(.resigned), .cancelWatch, .revokeLease(lease: 7)]),
                (.tick(now: s(10)), []),
                (.start(now: s(11)), []),
            ],
            leadingAtEnd: false
        ),
        Case(
            name: "a grant that returns after resigning is given back",
            steps: [
                (.start(now: .zero), [.grantLease(ttlSeconds: 6)]),
                (.resign, [.cancelWatch]),
                (.leaseGranted(lease: 5, sentAt: .zero), [.revokeLease(lease: 5)]),
            ],
            leadingAtEnd: false
        ),
    ]

    @Test(arguments: cases)
    func decisions(_ testCase: Case) {
        var machine = ElectionMachine(settings: Self.settings)
        for (index, (event, expected)) in testCase.steps.enumerated() {
            let actions = machine.handle(event)
            #expect(actions == expected, "step \(index): \(event)")
        }
        #expect(machine.isLeading == testCase.leadingAtEnd)
    }

    /// Whatever the keepalives do, a leader never leads past 2/3 of the TTL after the send of its last confirmed
    /// keepalive (etcd expires the lease no earlier than a full TTL after it).
    @Test func neverLeadsPastTheSafeSpan() {
        var generator = SplitMix64(seed: 14)
        for _ in 0..<200 {
            var machine = ElectionMachine(settings: Self.settings)
            for (event, _) in Self.toLeading { _ = machine.handle(event) }
            var lastConfirmedSend = Duration.zero
            var inFlight: Duration?
            var now = Self.s(0.1)
            while now < .seconds(60), machine.isLeading {
                now += .milliseconds(Int(generator.next() % 400) + 1)
                if let sentAt = inFlight, generator.next() % 3 == 0 {
                    let ok = generator.next() % 4 != 0
                    _ = machine.handle(
                        ok
                            ? .keepAliveConfirmed(lease: 7, sentAt: sentAt)
                            : .keepAliveFailed(lease: 7, expired: false, now: now)
                    )
                    if ok { lastConfirmedSend = max(lastConfirmedSend, sentAt) }
                    inFlight = nil
                }
                let actions = machine.handle(.tick(now: now))
                if actions.contains(.keepAlive(lease: 7)) { inFlight = now }
                if machine.isLeading {
                    #expect(
                        now < lastConfirmedSend + Self.s(4),
                        "leading at \(now), last confirmed send \(lastConfirmedSend)"
                    )
                }
            }
        }
    }
}

