import Placement
import Testing

struct HostPowerModelTests {
    /// CloudSim's HP ProLiant ML110 G4 (Xeon 3040) SPECpower table.
    static let proLiantG4 = try! HostPowerModel.specPower([86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117])

    @Test(
        "watts are interpolated between points and the end segments extended",
        arguments: [
            (utilization: 0.0, watts: 86.0),
            (utilization: 0.1, watts: 89.4),
            (utilization: 0.25, watts: 94.3),
            (utilization: 0.97, watts: 116.1),
            (utilization: 1.0, watts: 117.0),
            (utilization: 1.1, watts: 120.0),
            (utilization: -0.1, watts: 82.6),
        ]
    )
    func specPowerTable(utilization: Double, watts: Double) {
        #expect(abs(Self.proLiantG4.watts(atUtilization: utilization) - watts) < 1e-9)
    }

    @Test(arguments: [(0.0, 120.0), (0.5, 170.0), (1.0, 220.0)])
    func linear(utilization: Double, watts: Double) throws {
        let model = try HostPowerModel.linear(idleWatts: 120, maxWatts: 220)
        #expect(model.watts(atUtilization: utilization) == watts)
    }

    @Test(
        "bad models are refused with the problem named",
        arguments: [
            ([100.0], "a power model needs watts at two utilisations at least (idle and full load), got 1"),
            ([100.0, -.infinity], "power model point 1 is -inf W: watts must be finite and not negative"),
            ([-1.0, 10], "power model point 0 is -1.0 W: watts must be finite and not negative"),
            (
                [100.0, 150, 140],
                "power model point 2 is 140.0 W, less than the 150.0 W before it: power must not fall as load grows"
            ),
        ] as [([Double], String)]
    )
    func refused(watts: [Double], message: String) {
        #expect(throws: HostPowerModel.ModelError.self) { try HostPowerModel(watts: watts) }
        do {
            _ = try HostPowerModel(watts: watts)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func specPowerNeedsElevenValues() {
        #expect(throws: HostPowerModel.ModelError.notATenPercentTable(3)) {
            try HostPowerModel.specPower([1, 2, 3])
        }
        #expect(HostPowerModel.ModelError.notATenPercentTable(3).description.contains("needs 11 values"))
    }
}
