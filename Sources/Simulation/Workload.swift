/// CPU demand of every VM over the simulated day: one trace per VM, one utilisation percentage (0–100) per control
/// interval, in CloudSim's PlanetLab format (a file per VM, one integer per line).
public struct Workload: Sendable, Hashable {
    /// VM names (the trace files' names), in the order VM types are assigned.
    public private(set) var names: [String]
    /// Utilisation in % of VM `v` at step `s` is `percent[v * stepCount + s]`.
    public private(set) var percent: [UInt8]
    public let stepCount: Int

    /// A workload of `traces` (name, percentages); every trace must have `stepCount` values of 0–100.
    public init(stepCount: Int, traces: [(name: String, percent: [UInt8])]) throws {
        self.stepCount = stepCount
        names = []
        percent = []
        names.reserveCapacity(traces.count)
        percent.reserveCapacity(traces.count * stepCount)
        for trace in traces {
            guard trace.percent.count == stepCount else {
                throw SimulationInputError(
                    file: trace.name,
                    problem: "has \(trace.percent.count) values; every trace needs \(stepCount)"
                )
            }
            if let bad = trace.percent.firstIndex(where: { $0 > 100 }) {
                throw SimulationInputError(
                    file: trace.name,
                    line: bad + 1,
                    problem: "\(trace.percent[bad]) is not a CPU percentage (0–100)"
                )
            }
            names.append(trace.name)
            percent.append(contentsOf: trace.percent)
        }
    }

    public var vmCount: Int { names.count }

    /// Utilisation of VM `vm` at `step` as a fraction.
    @inline(__always)
    public func utilization(vm: Int, step: Int) -> Double {
        Double(percent[vm * stepCount + step]) / 100
    }

    /// The CloudSim trace length: 288 five-minute intervals.
    public static let cloudSimStepCount = 288

    /// Parses one trace file: `expected` lines, each a whole number 0–100 (surrounding spaces and a final newline
    /// allowed). Errors name the file and line.
    public static func parseTrace(_ text: String, file: String, expected: Int = cloudSimStepCount) throws -> [UInt8] {
        var values: [UInt8] = []
        values.reserveCapacity(expected)
        // "\r\n" is one Character in Swift, so lines are split on any newline character, not on "\n".
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        // A final newline leaves one empty piece at the end.
        if lines.last?.trimmingSpaces.isEmpty == true { lines.removeLast() }
        for (offset, rawLine) in lines.enumerated() {
            let lineNumber = offset + 1
            let line = rawLine.trimmingSpaces
            guard !line.isEmpty else {
                throw SimulationInputError(file: file, line: lineNumber, problem: "empty line; expected a CPU %")
            }
            guard let value = Int(line) else {
                throw SimulationInputError(
                    file: file,
                    line: lineNumber,
                    problem: "'\(line)' is not a whole number (CPU % 0–100)"
                )
            }
            guard (0...100).contains(value) else {
                throw SimulationInputError(file: file, line: lineNumber, problem: "\(value) is outside 0–100 (CPU %)")
            }
            guard values.count < expected else {
                throw SimulationInputError(
                    file: file,
                    line: lineNumber,
                    problem: "more than \(expected) values; a trace has one per control interval"
                )
            }
            values.append(UInt8(value))
        }
        guard values.count == expected else {
            throw SimulationInputError(
                file: file,
                line: values.count,
                problem: "has \(values.count) values; expected \(expected) (one per control interval)"
            )
        }
        return values
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" || first == "\r" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result = result.dropLast() }
        return result
    }
}
