/// Beloglazov & Buyya's MMT VM selection: off an overloaded host, move the VM that migrates fastest, i.e. the
/// one with the least memory to copy (bandwidth being the host's), one at a time until the host is no longer
/// overloaded.
public enum MinimumMigrationTime {
    /// The index in `memoryBytes` of the VM to move first: the least memory, the first among equals (CloudSim's
    /// order). Nil when there is nothing to move.
    public static func select(memoryBytes: some Collection<Double>) -> Int? {
        var best: (offset: Int, memory: Double)?
        for (offset, memory) in memoryBytes.enumerated() where best == nil || memory < best!.memory {
            best = (offset, memory)
        }
        return best?.offset
    }

    /// VMs to move off a host, in the order chosen: MMT picks one, it is removed, and `isStillOverloaded` is asked
    /// about the rest (by their indices in `memoryBytes`), until it says no or nothing is left.
    public static func selectUntilRelieved(
        memoryBytes: [Double],
        isStillOverloaded: (_ remaining: [Int]) -> Bool
    ) -> [Int] {
        var remaining = Array(memoryBytes.indices)
        var chosen: [Int] = []
        while let pick = select(memoryBytes: remaining.map { memoryBytes[$0] }) {
            chosen.append(remaining.remove(at: pick))
            if !isStillOverloaded(remaining) { break }
        }
        return chosen
    }

    /// How long copying `memoryBytes` takes at `bandwidthBytesPerSecond` (CloudSim: RAM ÷ half the host's link).
    public static func migrationSeconds(memoryBytes: Double, bandwidthBytesPerSecond: Double) -> Double {
        bandwidthBytesPerSecond > 0 ? memoryBytes / bandwidthBytesPerSecond : .infinity
    }
}
