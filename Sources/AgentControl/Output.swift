import Foundation
import Wire

/// Text and JSON rendering shared by the commands (and the torpor CLI). JSON has sorted keys and ISO-8601 times.
public enum Output {
    public static func printJSON(_ value: Any) {
        guard JSONSerialization.isValidJSONObject(value),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted])
        else {
            print("{}")
            return
        }
        print(String(decoding: data, as: UTF8.self))
    }

    static func isoTime(milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    public static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = value
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func metricsJSON(_ metrics: VMMetrics) -> [String: Any] {
        [
            "time": isoTime(milliseconds: metrics.timestampMilliseconds),
            "cpuCores": metrics.cpuCoresInUse,
            "memoryBytes": Int(clamping: metrics.memoryInUseBytes),
            "networkRxBytesPerSecond": metrics.networkRxBytesPerSecond,
            "networkTxBytesPerSecond": metrics.networkTxBytesPerSecond,
            "diskReadBytesPerSecond": metrics.diskReadBytesPerSecond,
            "diskWriteBytesPerSecond": metrics.diskWriteBytesPerSecond,
        ]
    }

    static func stateName(_ state: VMState) -> String {
        switch state {
        case .noState: "nostate"
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused"
        case .shuttingDown: "shutting-down"
        case .shutOff: "shut-off"
        case .crashed: "crashed"
        case .pmSuspended: "pm-suspended"
        }
    }

    /// Left-aligned columns.
    public static func table(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
