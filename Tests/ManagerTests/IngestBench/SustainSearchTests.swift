import IngestBench
import Testing

struct SustainSearchTests {
    typealias Verdict = SustainSearch.Verdict

    /// Runs a search whose verdict for a size is `verdict(size)`; returns the sizes measured and the answer.
    static func run(
        _ sizes: [Int], refinements: Int = 2, verdict: (Int) -> Verdict
    ) -> (measured: [Int], answer: SustainSearch.Answer?) {
        var search = SustainSearch(sizes: sizes, refinements: refinements)
        var measured: [Int] = []
        var action = search.start()
        while case .measure(let agents) = action, measured.count < 50 {
            measured.append(agents)
            action = search.record(verdict(agents), agents: agents)
        }
        guard case .done(let answer) = action else { return (measured, nil) }
        return (measured, answer)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var sizes: [Int]
        var refinements: Int
        /// The server sustains up to this many agents; the agents' side saturates from `agentsLimit`.
        var serverLimit: Int
        var agentsLimit: Int = .max
        var measured: [Int]
        var largest: Int?
        var smallestNot: Int?
        var limitedByAgents = false
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "every size sustained: no bisection, the limit is above the largest", sizes: [1000, 5000, 10_000],
            refinements: 2, serverLimit: 50_000, measured: [1000, 5000, 10_000], largest: 10_000
        ),
        Case(
            name: "fails at 10,000: bisects 5,000..10,000 twice", sizes: [1000, 5000, 10_000], refinements: 2,
            serverLimit: 8000, measured: [1000, 5000, 10_000, 7500, 8500], largest: 7500, smallestNot: 8500
        ),
        Case(
            name: "fails at 5,000: 10,000 is skipped", sizes: [10_000, 1000, 5000], refinements: 0,
            serverLimit: 3000, measured: [1000, 5000], largest: 1000, smallestNot: 5000
        ),
        Case(
            name: "nothing sustained", sizes: [1000, 5000], refinements: 1, serverLimit: 100,
            measured: [1000, 500], largest: nil, smallestNot: 500
        ),
        Case(
            name: "the agents saturate first: no bisection, said so", sizes: [1000, 5000, 10_000], refinements: 2,
            serverLimit: 50_000, agentsLimit: 6000, measured: [1000, 5000, 10_000], largest: 5000,
            limitedByAgents: true
        ),
        Case(
            name: "a gap at the granularity is not bisected", sizes: [1000, 1500], refinements: 3, serverLimit: 1200,
            measured: [1000, 1500], largest: 1000, smallestNot: 1500
        ),
        Case(
            name: "duplicates and non-positive sizes are dropped", sizes: [0, -5, 200, 200], refinements: 0,
            serverLimit: 1000, measured: [200], largest: 200
        ),
    ]

    @Test("measures the sizes, then bisects between sustained and not", arguments: cases)
    func search(_ expected: Case) {
        let (measured, answer) = Self.run(expected.sizes, refinements: expected.refinements) { size in
            size >= expected.agentsLimit ? .agentsSaturated : size <= expected.serverLimit ? .sustained : .notSustained
        }
        #expect(measured == expected.measured)
        #expect(answer?.largestSustained == expected.largest)
        #expect(answer?.smallestNotSustained == expected.smallestNot)
        #expect(answer?.limitedByAgents == expected.limitedByAgents)
    }

    @Test("no sizes: done at once with no answer")
    func empty() {
        var search = SustainSearch(sizes: [])
        #expect(
            search.start() == .done(.init(largestSustained: nil, smallestNotSustained: nil, limitedByAgents: false))
        )
    }
}
