import Foundation

/// What /proc says about one process: CPU time so far (user + system) and resident memory.
public struct ProcessSample: Equatable, Sendable {
    /// utime + stime, in clock ticks (`sysconf(_SC_CLK_TCK)`).
    public var cpuTicks: UInt64
    public var residentKiB: UInt64?

    public init(cpuTicks: UInt64, residentKiB: UInt64?) {
        self.cpuTicks = cpuTicks
        self.residentKiB = residentKiB
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case malformedStat(String)

        public var description: String {
            switch self {
            case .malformedStat(let reason): "malformed /proc/PID/stat: \(reason)"
            }
        }
    }

    /// utime + stime from the text of /proc/PID/stat. The command name (field 2) may hold spaces and
    /// parentheses, so fields are counted after its last ")": utime and stime are fields 14 and 15.
    public static func cpuTicks(fromStat text: String) throws(ParseError) -> UInt64 {
        guard let close = text.lastIndex(of: ")") else { throw .malformedStat("no ')' after the command name") }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state): field k is fields[k - 3].
        guard fields.count > 12 else { throw .malformedStat("\(fields.count + 2) fields, utime and stime need 15") }
        guard let user = UInt64(fields[11]), let system = UInt64(fields[12]) else {
            throw .malformedStat("utime '\(fields[11])' or stime '\(fields[12])' is not a count of ticks")
        }
        return user + system
    }

    /// VmRSS in KiB from the text of /proc/PID/status; nil when absent (a zombie has none).
    public static func residentKiB(fromStatus text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            return parts.first.flatMap { UInt64($0) }
        }
        return nil
    }

    /// Reads /proc/`pid`/stat and /proc/`pid`/status.
    public static func read(pid: Int32) throws -> ProcessSample {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        return ProcessSample(cpuTicks: try cpuTicks(fromStat: stat), residentKiB: status.flatMap(residentKiB))
    }

    /// Percent of one core used between two samples `seconds` apart.
    public static func cpuPercent(from start: ProcessSample, to end: ProcessSample, seconds: Double, ticksPerSecond: Int)
        -> Double
    {
        guard seconds > 0, ticksPerSecond > 0, end.cpuTicks >= start.cpuTicks else { return 0 }
        return 100 * Double(end.cpuTicks - start.cpuTicks) / Double(ticksPerSecond) / seconds
    }
}
