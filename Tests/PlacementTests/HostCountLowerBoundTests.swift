import Placement
import Testing

struct HostCountLowerBoundTests {
    @Test(
        "identical hosts: ⌈demand ÷ capacity⌉ in the tightest dimension",
        arguments: [
            (demand: Fixtures.vector(cores: 30, gib: 100), expected: 4 as Int?),
            (demand: Fixtures.vector(cores: 30, gib: 130), expected: 5),
            (demand: Fixtures.vector(cores: 32, gib: 32), expected: 4),
            (demand: Fixtures.vector(cores: 32.5), expected: 5),
            (demand: Fixtures.vector(cores: 0.1), expected: 1),
            (demand: ResourceVector.zero, expected: 0),
            (demand: Fixtures.vector(cores: 1, rxGbit: 1), expected: nil),
        ]
    )
    func identicalHosts(demand: ResourceVector, expected: Int?) {
        #expect(HostCountLowerBound.hosts(covering: demand, capacity: Fixtures.vector(cores: 8, gib: 32)) == expected)
    }

    @Test(
        "mixed hosts: largest first, per dimension",
        arguments: [
            (demand: Fixtures.vector(cores: 90), expected: 2 as Int?),
            (demand: Fixtures.vector(cores: 96), expected: 2),
            (demand: Fixtures.vector(cores: 97), expected: 3),
            // Memory is largest on the small-CPU host: 1 host covers it, CPU needs 2.
            (demand: Fixtures.vector(cores: 70, gib: 200), expected: 2),
            (demand: Fixtures.vector(cores: 10, gib: 300), expected: 2),
            (demand: Fixtures.vector(cores: 130), expected: 4),
            (demand: Fixtures.vector(cores: 131), expected: nil),
            (demand: ResourceVector.zero, expected: 0),
        ]
    )
    func mixedHosts(demand: ResourceVector, expected: Int?) {
        let capacities = [
            Fixtures.vector(cores: 16, gib: 256),
            Fixtures.vector(cores: 64, gib: 64),
            Fixtures.vector(cores: 32, gib: 128),
            Fixtures.vector(cores: 18, gib: 32),
        ]
        #expect(HostCountLowerBound.hosts(covering: demand, capacities: capacities) == expected)
    }

    @Test func mixedBoundAgreesWithIdenticalOnIdenticalHosts() {
        let capacity = Fixtures.vector(cores: 8, gib: 32)
        let demand = Fixtures.vector(cores: 30, gib: 130)
        let capacities = Array(repeating: capacity, count: 10)
        #expect(HostCountLowerBound.hosts(covering: demand, capacities: capacities) == 5)
        #expect(HostCountLowerBound.hosts(covering: demand, capacity: capacity) == 5)
    }
}
