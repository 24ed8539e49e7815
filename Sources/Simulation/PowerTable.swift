/// A host's power draw at 0, 10, …, 100 % CPU (a SPECpower table), linear in between.
///
/// The simulator's own copy until the shared `HostPowerModel` (Placement) is merged; everything reads power
/// through `watts(atUtilization:)`, so switching is one file.
public struct PowerTable: Sendable, Hashable {
    /// Eleven values: watts at 0 %, 10 %, …, 100 %.
    public let watts: [Double]

    public init(watts: [Double]) throws {
        guard watts.count == 11 else {
            throw SimulationInputError(file: "power table", problem: "needs 11 values (0, 10, …, 100 %), got \(watts.count)")
        }
        guard watts.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw SimulationInputError(file: "power table", problem: "watts must be finite and not negative")
        }
        self.watts = watts
    }

    /// Power at `utilization` (a fraction, clamped to 0…1).
    @inline(__always)
    public func watts(atUtilization utilization: Double) -> Double {
        let clamped = min(max(utilization, 0), 1) * 10
        let lower = min(Int(clamped), 9)
        let fraction = clamped - Double(lower)
        return watts[lower] + (watts[lower + 1] - watts[lower]) * fraction
    }

    /// HP ProLiant ML110 G4 (Intel Xeon 3040), SPECpower_ssj2008.
    public static let hpProLiantML110G4 = try! PowerTable(watts: [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117])
    /// HP ProLiant ML110 G5 (Intel Xeon 3075), SPECpower_ssj2008.
    public static let hpProLiantML110G5 = try! PowerTable(watts: [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135])
}
