import ArgumentParser

/// A size given on the command line: a whole number with an optional binary unit (`512M`, `2GiB`, `10G`, `1048576`).
struct ByteSize: ExpressibleByArgument, Equatable {
    var bytes: UInt64

    init(bytes: UInt64) { self.bytes = bytes }

    init?(argument: String) {
        guard let parsed = Self.parse(argument) else { return nil }
        bytes = parsed
    }

    var defaultValueDescription: String { "\(bytes)" }

    static func parse(_ text: String) -> UInt64? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let amount = UInt64(digits) else { return nil }
        let shift: UInt64
        switch text.dropFirst(digits.count).lowercased() {
        case "", "b": shift = 0
        case "k", "kib": shift = 10
        case "m", "mib": shift = 20
        case "g", "gib": shift = 30
        case "t", "tib": shift = 40
        default: return nil
        }
        let (bytes, overflow) = amount.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : bytes
    }

    static let help = "a whole number of bytes, or with K, M, G or T (binary units: 1G = 1024 MiB)"
}
