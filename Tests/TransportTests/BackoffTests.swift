import TestSupport
import Testing
import Transport

@Suite struct BackoffTests {
    @Test func defaultsAreHundredMillisecondsDoublingToThirtySeconds() {
        let backoff = Backoff()
        #expect(backoff.initial == .milliseconds(100))
        #expect(backoff.factor == 2)
        #expect(backoff.maximum == .seconds(30))
    }

    @Test func ceilingGrowsByTheFactorUntilTheCap() {
        let backoff = Backoff()
        let expected: [Duration] = [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
            .milliseconds(3200), .milliseconds(6400), .milliseconds(12_800), .milliseconds(25_600), .seconds(30),
            .seconds(30),
        ]
        #expect((0..<expected.count).map { backoff.ceiling(forAttempt: $0) } == expected)
    }

    @Test func ceilingStaysCappedForHugeAttemptCounts() {
        let backoff = Backoff()
        #expect(backoff.ceiling(forAttempt: 10_000) == .seconds(30))
        #expect(backoff.ceiling(forAttempt: Int.max) == .seconds(30))
    }

    @Test func factorOneKeepsTheInitialDelay() {
        let backoff = Backoff(initial: .seconds(1), factor: 1, maximum: .seconds(5))
        #expect(backoff.ceiling(forAttempt: 50) == .seconds(1))
    }

    @Test func delaysStayWithinZeroAndTheCeiling() {
        var backoff = Backoff()
        var generator = SplitMix64(seed: 42)
        for attempt in 0..<200 {
            let ceiling = backoff.ceiling(forAttempt: attempt)
            let delay = backoff.nextDelay(using: &generator)
            #expect(delay >= .zero && delay <= ceiling, "attempt \(attempt): \(delay) outside 0...\(ceiling)")
        }
        #expect(backoff.attempt == 200)
    }

    @Test func fullJitterSpreadsOverTheWholeRange() {
        var generator = SplitMix64(seed: 7)
        let ceiling = Duration.seconds(30)
        var delays: [Duration] = []
        for _ in 0..<1000 {
            var backoff = Backoff()
            for _ in 0..<20 { _ = backoff.nextDelay(using: &generator) }
            delays.append(backoff.nextDelay(using: &generator))
        }
        #expect(delays.min()! < ceiling / 10)
        #expect(delays.max()! > ceiling * 9 / 10)
    }

    @Test func sameSeedGivesTheSameSchedule() {
        func schedule(seed: UInt64) -> [Duration] {
            var backoff = Backoff()
            var generator = SplitMix64(seed: seed)
            return (0..<12).map { _ in backoff.nextDelay(using: &generator) }
        }
        #expect(schedule(seed: 1) == schedule(seed: 1))
        #expect(schedule(seed: 1) != schedule(seed: 2))
    }

    @Test func resetStartsOverFromTheInitialDelay() {
        var backoff = Backoff()
        var generator = SplitMix64(seed: 3)
        for _ in 0..<8 { _ = backoff.nextDelay(using: &generator) }
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect(backoff.nextDelay(using: &generator) <= .milliseconds(100))
    }
}
