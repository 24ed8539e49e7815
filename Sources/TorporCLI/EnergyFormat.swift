import Foundation

/// How the CLI writes durations, power and energy. Foundation only: pure functions of their arguments.
enum EnergyFormat {
    /// "45s", "2m 13s", "1h 5m", "3d 4h": two units at most, enough to tell how long a host has slept.
    static func duration(milliseconds: UInt64) -> String {
        let seconds = milliseconds / 1000
        let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86_400)
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(minutes)m \(seconds % 60)s" }
        if seconds < 86_400 { return "\(hours)h \(minutes % 60)m" }
        return "\(days)d \(hours % 24)h"
    }

    /// "118 W", "4.5 W" (a small reading keeps a decimal); "-" when unknown.
    static func watts(_ watts: Double?) -> String {
        guard let watts else { return "-" }
        return abs(watts) < 10 ? String(format: "%.1f W", watts) : String(format: "%.0f W", watts)
    }

    /// Four significant digits, in Wh below 1 kWh so a short lab's few watt-hours still read:
    /// "8.333 Wh", "0.5000 Wh", "1.234 kWh", "12346 kWh".
    static func energy(kilowattHours: Double) -> String {
        guard kilowattHours.isFinite else { return "\(kilowattHours) kWh" }
        if abs(kilowattHours) < 1 { return significant(kilowattHours * 1000) + " Wh" }
        return significant(kilowattHours) + " kWh"
    }

    /// `value` with `digits` significant digits in plain notation (never an exponent); "0" for zero.
    static func significant(_ value: Double, digits: Int = 4) -> String {
        guard value.isFinite, value != 0 else { return value.isFinite ? "0" : "\(value)" }
        var decimals = max(0, digits - 1 - Int(floor(log10(abs(value)))))
        var text = String(format: "%.\(decimals)f", value)
        // Rounding can carry into a new leading digit (9.9996 → "10.000"): one decimal fewer then.
        if decimals > 0, let rounded = Double(text), abs(rounded) >= pow(10, Double(digits - decimals)) {
            decimals -= 1
            text = String(format: "%.\(decimals)f", value)
        }
        return text
    }

    /// The share of the always-on estimate that was saved, in percent; 0 when there is no estimate yet.
    static func savedPercent(used: Double, alwaysOn: Double) -> Double {
        alwaysOn > 0 ? (alwaysOn - used) / alwaysOn * 100 : 0
    }
}
