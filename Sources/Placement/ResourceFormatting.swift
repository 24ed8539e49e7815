/// Amounts in the units an operator reads: cores with up to two decimals, memory in binary units, network in bits
/// per second.
enum ResourceFormatting {
    private static let kibibyte = 1024.0
    private static let mebibyte = 1024.0 * 1024
    private static let gibibyte = 1024.0 * 1024 * 1024

    /// An amount of one dimension: "2.5" (cores), "12 GiB", "1.5 Gbit/s".
    static func amount(_ value: Double, of dimension: ResourceDimension) -> String {
        switch dimension {
        case .cpu: decimal(value)
        case .memory: bytes(value)
        case .networkRx, .networkTx: bitsPerSecond(bytesPerSecond: value)
        }
    }

    /// A demand as the thing a host lacks: "4 free cores", "16 GiB of free memory".
    static func freeAmount(_ value: Double, of dimension: ResourceDimension) -> String {
        let text = amount(value, of: dimension)
        switch dimension {
        case .cpu: return text == "1" ? "1 free core" : "\(text) free cores"
        case .memory: return "\(text) of free memory"
        case .networkRx: return "\(text) of free receive bandwidth"
        case .networkTx: return "\(text) of free transmit bandwidth"
        }
    }

    static func bytes(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= gibibyte {
            return "\(decimal(value / gibibyte)) GiB"
        }
        if magnitude >= mebibyte {
            return "\(decimal(value / mebibyte)) MiB"
        }
        if magnitude >= kibibyte {
            return "\(decimal(value / kibibyte)) KiB"
        }
        return "\(decimal(value)) bytes"
    }

    static func bitsPerSecond(bytesPerSecond: Double) -> String {
        let bits = bytesPerSecond * 8
        let magnitude = abs(bits)
        if magnitude >= 1e9 {
            return "\(decimal(bits / 1e9)) Gbit/s"
        }
        if magnitude >= 1e6 {
            return "\(decimal(bits / 1e6)) Mbit/s"
        }
        if magnitude >= 1e3 {
            return "\(decimal(bits / 1e3)) kbit/s"
        }
        return "\(decimal(bits)) bit/s"
    }

    /// Up to two decimals, trailing zeros dropped: 2, 2.5, 2.25.
    static func decimal(_ value: Double) -> String {
        let hundredths = (value * 100).rounded()
        guard hundredths.isFinite, abs(hundredths) < 1e15 else { return "\(value)" }
        let total = Int(hundredths)
        let sign = total < 0 ? "-" : ""
        let whole = abs(total) / 100
        let fraction = abs(total) % 100
        if fraction == 0 {
            return "\(sign)\(whole)"
        }
        if fraction % 10 == 0 {
            return "\(sign)\(whole).\(fraction / 10)"
        }
        return "\(sign)\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
