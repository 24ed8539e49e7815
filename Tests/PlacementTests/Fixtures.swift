import Placement

/// Shorthands that keep the tables readable: memory in GiB, network in Gbit/s.
enum Fixtures {
    static let gibibyte = 1024.0 * 1024 * 1024
    static let mebibyte = 1024.0 * 1024
    /// 1 Gbit/s in bytes per second.
    static let gigabitPerSecond = 125_000_000.0

    static func vector(cores: Double = 0, gib: Double = 0, rxGbit: Double = 0, txGbit: Double = 0) -> ResourceVector {
        ResourceVector(
            cpuCores: cores,
            memoryBytes: gib * gibibyte,
            networkRxBytesPerSecond: rxGbit * gigabitPerSecond,
            networkTxBytesPerSecond: txGbit * gigabitPerSecond
        )
    }

    /// A host with 10 Gbit/s each way unless told otherwise.
    static func host(
        _ id: String,
        cores: Double,
        gib: Double = 64,
        state: HostState = .active,
        used: ResourceVector = .zero,
        networkGbit: Double = 10
    ) -> HostSnapshot {
        HostSnapshot(
            id: id,
            capacity: vector(cores: cores, gib: gib, rxGbit: networkGbit, txGbit: networkGbit),
            state: state,
            estimatedUse: used,
            vmIDs: used == .zero ? [] : ["resident-of-\(id)"]
        )
    }

    static func vm(_ id: String, cores: Double, gib: Double = 1, rxGbit: Double = 0, txGbit: Double = 0) -> VMRequest {
        VMRequest(id: id, requested: vector(cores: cores, gib: gib, rxGbit: rxGbit, txGbit: txGbit))
    }
}
