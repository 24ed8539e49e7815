import Testing

@testable import Placement

struct ResourceFormattingTests {
    static let decimals: [(value: Double, text: String)] = [
        (2, "2"), (2.5, "2.5"), (2.25, "2.25"), (0.333, "0.33"), (1.999, "2"), (0.05, "0.05"),
        (-1.5, "-1.5"), (-0.001, "0"), (1234.5, "1234.5"),
    ]

    @Test(arguments: decimals)
    func decimal(_ row: (value: Double, text: String)) {
        #expect(ResourceFormatting.decimal(row.value) == row.text)
    }

    struct AmountCase: Sendable {
        var dimension: ResourceDimension
        var value: Double
        var amount: String
        var freeAmount: String
    }

    static let gibibyte = 1024.0 * 1024 * 1024

    static let amounts: [AmountCase] = [
        AmountCase(dimension: .cpu, value: 4, amount: "4", freeAmount: "4 free cores"),
        AmountCase(dimension: .cpu, value: 1, amount: "1", freeAmount: "1 free core"),
        AmountCase(dimension: .cpu, value: 0.5, amount: "0.5", freeAmount: "0.5 free cores"),
        AmountCase(dimension: .memory, value: 16 * gibibyte, amount: "16 GiB", freeAmount: "16 GiB of free memory"),
        AmountCase(dimension: .memory, value: 1.5 * gibibyte, amount: "1.5 GiB", freeAmount: "1.5 GiB of free memory"),
        AmountCase(dimension: .memory, value: gibibyte / 2, amount: "512 MiB", freeAmount: "512 MiB of free memory"),
        AmountCase(dimension: .memory, value: 2048, amount: "2 KiB", freeAmount: "2 KiB of free memory"),
        AmountCase(dimension: .memory, value: 100, amount: "100 bytes", freeAmount: "100 bytes of free memory"),
        AmountCase(
            dimension: .networkRx,
            value: 1.25e9,
            amount: "10 Gbit/s",
            freeAmount: "10 Gbit/s of free receive bandwidth"
        ),
        AmountCase(
            dimension: .networkTx,
            value: 125_000,
            amount: "1 Mbit/s",
            freeAmount: "1 Mbit/s of free transmit bandwidth"
        ),
        AmountCase(
            dimension: .networkTx,
            value: 1_000,
            amount: "8 kbit/s",
            freeAmount: "8 kbit/s of free transmit bandwidth"
        ),
        AmountCase(dimension: .networkRx, value: 0, amount: "0 bit/s", freeAmount: "0 bit/s of free receive bandwidth"),
    ]

    @Test(arguments: amounts)
    func amount(_ row: AmountCase) {
        #expect(ResourceFormatting.amount(row.value, of: row.dimension) == row.amount)
        #expect(ResourceFormatting.freeAmount(row.value, of: row.dimension) == row.freeAmount)
    }
}
