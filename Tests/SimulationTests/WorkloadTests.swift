import Simulation
import Testing

struct WorkloadTests {
    @Test func aTraceWithOrWithoutItsFinalNewlineAndWithCarriageReturns() throws {
        #expect(try Workload.parseTrace("1\n2\n3\n", file: "f", expected: 3) == [1, 2, 3])
        #expect(try Workload.parseTrace("1\n2\n3", file: "f", expected: 3) == [1, 2, 3])
        #expect(try Workload.parseTrace("1\r\n 2 \r\n100\r\n", file: "f", expected: 3) == [1, 2, 100])
    }

    @Test(
        "bad traces name the file and line",
        arguments: [
            ("1\n2\n", "f:2: has 2 values; expected 3 (one per control interval)"),
            ("1\n2\n3\n4\n", "f:4: more than 3 values; a trace has one per control interval"),
            ("1\nx\n3\n", "f:2: 'x' is not a whole number (CPU % 0–100)"),
            ("1\n\n3\n", "f:2: empty line; expected a CPU %"),
            ("1\n-1\n3\n", "f:2: -1 is outside 0–100 (CPU %)"),
            ("", "f:0: has 0 values; expected 3 (one per control interval)"),
        ]
    )
    func badTrace(text: String, message: String) {
        #expect(throws: SimulationInputError.self) { try Workload.parseTrace(text, file: "f", expected: 3) }
        do {
            _ = try Workload.parseTrace(text, file: "f", expected: 3)
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func vmTypesGoByContiguousEqualShares() throws {
        let scenario = try Scenario.cloudSim(hostCount: 2)
        let mips = (0..<8).map { scenario.vmType(ofVM: $0, count: 8).mips }
        #expect(mips == [2500, 2500, 2000, 2000, 1000, 1000, 500, 500])
        #expect(scenario.hosts == [0, 1])
    }
}
