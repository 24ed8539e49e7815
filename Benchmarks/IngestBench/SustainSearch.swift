/// Finds the largest number of agents one core sustains: measures the sizes asked for, then bisects between the
/// largest sustained and the smallest that was not, a few times. Events in (a size's verdict), actions out (what
/// to measure next, or the answer); no I/O, so it is tested table-driven.
public struct SustainSearch: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// Every report processed within its interval.
        case sustained
        /// The server fell behind: reports missing or late.
        case notSustained
        /// The simulated agents could not send on time: this size says nothing about the server.
        case agentsSaturated
    }

    public enum Action: Sendable, Equatable {
        case measure(agents: Int)
        case done(Answer)
    }

    public struct Answer: Sendable, Equatable {
        /// The largest size sustained; nil when none was.
        public var largestSustained: Int?
        /// The smallest size the server did not sustain; nil when every size measured was sustained (the limit is
        /// above `largestSustained`).
        public var smallestNotSustained: Int?
        /// The agents' side saturated at some size, so the search could not go higher.
        public var limitedByAgents: Bool

        public init(largestSustained: Int?, smallestNotSustained: Int?, limitedByAgents: Bool) {
            self.largestSustained = largestSustained
            self.smallestNotSustained = smallestNotSustained
            self.limitedByAgents = limitedByAgents
        }
    }

    private var pending: [Int]
    private var refinements: Int
    private let granularity: Int
    private var sustained: Int?
    private var notSustained: Int?
    private var agentsSaturatedAt: Int?

    /// - Parameters:
    ///   - sizes: measured first, in increasing order.
    ///   - refinements: bisection steps after them.
    ///   - granularity: sizes bisected to multiples of this; the search stops when the gap is this small.
    public init(sizes: [Int], refinements: Int = 2, granularity: Int = 500) {
        pending = Array(Set(sizes.filter { $0 > 0 })).sorted()
        self.refinements = refinements
        self.granularity = max(1, granularity)
    }

    /// What to do first.
    public mutating func start() -> Action { next() }

    /// Records the verdict on `agents` and says what to do next.
    public mutating func record(_ verdict: Verdict, agents: Int) -> Action {
        switch verdict {
        case .sustained:
            sustained = max(sustained ?? 0, agents)
        case .notSustained:
            notSustained = min(notSustained ?? .max, agents)
        case .agentsSaturated:
            agentsSaturatedAt = min(agentsSaturatedAt ?? .max, agents)
        }
        // Larger sizes than one the server or the agents failed at say nothing new.
        let ceiling = min(notSustained ?? .max, agentsSaturatedAt ?? .max)
        pending.removeAll { $0 >= ceiling }
        return next()
    }

    private mutating func next() -> Action {
        if !pending.isEmpty { return .measure(agents: pending.removeFirst()) }
        if refinements > 0, let high = notSustained {
            let low = sustained ?? 0
            let middle = (low + high) / 2 / granularity * granularity
            if high - low > granularity, middle > low, middle < high {
                refinements -= 1
                return .measure(agents: middle)
            }
        }
        return .done(
            Answer(
                largestSustained: sustained,
                smallestNotSustained: notSustained,
                limitedByAgents: agentsSaturatedAt.map { $0 <= (notSustained ?? .max) } ?? false
            )
        )
    }
}
