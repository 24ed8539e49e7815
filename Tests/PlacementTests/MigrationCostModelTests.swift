import Placement
import Testing

struct MigrationCostModelTests {
    /// 100 MB/s, so a 300 ms downtime allows a 30 MB stop-and-copy.
    static let model = MigrationCostModel(bandwidthBytesPerSecond: 1e8, allowedDowntimeSeconds: 0.3, maximumRounds: 30)

    @Test(
        "pre-copy rounds: memory once, then what was dirtied, until the rest fits the downtime",
        arguments: [
            // Nothing dirtied: one round.
            (memory: 1e9, dirtyRate: 0.0, expected: MigrationCost(bytes: 1e9, seconds: 10)),
            // Half the bandwidth: 1e9 + 5e8 + … + 3.125e7 > 30 MB, then 1.5625e7 goes in the stop-and-copy.
            (memory: 1e9, dirtyRate: 5e7, expected: MigrationCost(bytes: 1.984375e9, seconds: 19.84375)),
            // Small enough for the downtime at once.
            (memory: 2e7, dirtyRate: 5e7, expected: MigrationCost(bytes: 2e7, seconds: 0.2)),
            // Dirtying as fast as the network sends: every round resends all memory, and it never converges.
            (memory: 1e9, dirtyRate: 1e8, expected: MigrationCost(bytes: 31e9, seconds: 310, converges: false)),
            (memory: 1e9, dirtyRate: 5e8, expected: MigrationCost(bytes: 31e9, seconds: 310, converges: false)),
        ]
    )
    func rounds(memory: Double, dirtyRate: Double, expected: MigrationCost) {
        #expect(Self.model.cost(memoryBytes: memory, dirtyRateBytesPerSecond: dirtyRate) == expected)
    }

    @Test("cost grows with memory and with the dirty rate")
    func growsWithMemoryAndDirtyRate() {
        let rates = [0.0, 1e7, 3e7, 6e7, 9e7, 1e8]
        let byRate = rates.map { Self.model.cost(memoryBytes: 4e9, dirtyRateBytesPerSecond: $0) }
        #expect(zip(byRate, byRate.dropFirst()).allSatisfy { $0 < $1 })
        let memories = [1e8, 1e9, 4e9, 16e9]
        let byMemory = memories.map { Self.model.cost(memoryBytes: $0, dirtyRateBytesPerSecond: 2e7) }
        #expect(zip(byMemory, byMemory.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("a VM snapshot is costed by its memory to copy and dirty rate; no bandwidth means no migration")
    func fromSnapshot() {
        let vm = VMSnapshot(
            id: "a",
            hostID: "h0",
            requested: Fixtures.vector(cores: 1, gib: 2),
            memoryToCopyBytes: 1e9,
            memoryDirtyRateBytesPerSecond: 5e7
        )
        #expect(Self.model.cost(of: vm).bytes == 1.984375e9)
        #expect(
            VMSnapshot(id: "b", hostID: "h0", requested: Fixtures.vector(gib: 2)).memoryToCopyBytes == 2
                * Fixtures.gibibyte
        )
        let stalled = MigrationCostModel(bandwidthBytesPerSecond: 0).cost(of: vm)
        #expect(!stalled.converges && stalled.seconds == .infinity)
    }

    @Test("costs add up, and one that does not converge spoils the sum")
    func sums() {
        let sum = MigrationCost(bytes: 1, seconds: 2) + MigrationCost(bytes: 3, seconds: 4, converges: false)
        #expect(sum == MigrationCost(bytes: 4, seconds: 6, converges: false))
        #expect(MigrationCost(bytes: 9e9, seconds: 90) < MigrationCost(bytes: 1, seconds: 1, converges: false))
    }
}
