import Placement
import Testing

struct RelocationThresholdsTests {
    @Test("defaults are on: MIN 0.2 < MID 0.8 < MAX 0.9 in every dimension")
    func defaultsAreOn() {
        let thresholds = RelocationThresholds.default
        #expect(thresholds.minimum == ResourceFractions(uniform: 0.2))
        #expect(thresholds.mid == ResourceFractions(uniform: 0.8))
        #expect(thresholds.maximum == ResourceFractions(uniform: 0.9))
    }

    @Test(
        "bad thresholds are refused with an error naming the dimension and the problem",
        arguments: [
            (
                minimum: ResourceFractions(uniform: 0.5), mid: ResourceFractions(uniform: 0.4),
                maximum: ResourceFractions(uniform: 0.9),
                error: "cpu thresholds out of order: MIN 0.5 must be below MID 0.4 (MIN < MID < MAX)"
            ),
            (
                minimum: ResourceFractions(uniform: 0.1),
                mid: ResourceFractions(cpu: 0.8, memory: 0.9, networkRx: 0.8, networkTx: 0.8),
                maximum: ResourceFractions(uniform: 0.9),
                error: "memory thresholds out of order: MID 0.9 must be below MAX 0.9 (MIN < MID < MAX)"
            ),
            (
                minimum: ResourceFractions(uniform: 0.6), mid: ResourceFractions(uniform: 0.5),
                maximum: ResourceFractions(uniform: 0.4),
                error: "cpu thresholds out of order: MIN 0.6 must be below MID 0.5 (MIN < MID < MAX)"
            ),
            (
                minimum: ResourceFractions(uniform: 0.1), mid: ResourceFractions(uniform: 0.5),
                maximum: ResourceFractions(cpu: 0.9, memory: 0.9, networkRx: 0.9, networkTx: 1.2),
                error: "networkTx MAX threshold 1.2 is outside [0, 1]"
            ),
            (
                minimum: ResourceFractions(cpu: -0.1, memory: 0.1, networkRx: 0.1, networkTx: 0.1),
                mid: ResourceFractions(uniform: 0.5), maximum: ResourceFractions(uniform: 0.9),
                error: "cpu MIN threshold -0.1 is outside [0, 1]"
            ),
            (
                minimum: ResourceFractions(uniform: 0.1),
                mid: ResourceFractions(cpu: 0.5, memory: .nan, networkRx: 0.5, networkTx: 0.5),
                maximum: ResourceFractions(uniform: 0.9),
                error: "memory MID threshold nan is outside [0, 1]"
            ),
        ]
    )
    func refused(
        minimum: ResourceFractions,
        mid: ResourceFractions,
        maximum: ResourceFractions,
        error expected: String
    ) {
        #expect {
            _ = try RelocationThresholds(minimum: minimum, mid: mid, maximum: maximum)
        } throws: { error in
            "\(error)" == expected
        }
    }

    @Test("thresholds in order are kept as given")
    func accepted() throws {
        let thresholds = try RelocationThresholds(uniformMinimum: 0, mid: 0.5, maximum: 1)
        #expect(thresholds.minimum.cpu == 0)
        #expect(thresholds.mid.memory == 0.5)
        #expect(thresholds.maximum.networkTx == 1)
    }
}
