import Testing

@testable import TorporCLI

@Suite struct EnergyFormatTests {
    @Test(arguments: [
        (UInt64(0), "0s"), (45_999, "45s"), (133_000, "2m 13s"), (3_900_000, "1h 5m"), (273_600_000, "3d 4h"),
    ])
    func durationsUseTwoUnitsAtMost(milliseconds: UInt64, text: String) {
        #expect(EnergyFormat.duration(milliseconds: milliseconds) == text)
    }

    @Test func wattsKeepADecimalWhenSmall() {
        #expect(EnergyFormat.watts(nil) == "-")
        #expect(EnergyFormat.watts(8) == "8.0 W")
        #expect(EnergyFormat.watts(117.6) == "118 W")
    }

    @Test func energyInWattHoursBelowOneKilowattHour() {
        #expect(EnergyFormat.energy(kilowattHours: 0.008333) == "8.333 Wh")
        #expect(EnergyFormat.energy(kilowattHours: 0.0005) == "0.5000 Wh")
        #expect(EnergyFormat.energy(kilowattHours: 1.2344) == "1.234 kWh")
        #expect(EnergyFormat.energy(kilowattHours: 12345.6) == "12346 kWh")
        #expect(EnergyFormat.energy(kilowattHours: 0) == "0 Wh")
    }

    @Test func significantDigitsNeverUseAnExponentAndCarryCorrectly() {
        #expect(EnergyFormat.significant(9.9996) == "10.00")
        #expect(EnergyFormat.significant(0.000012346) == "0.00001235")
        #expect(EnergyFormat.significant(-3.14159) == "-3.142")
    }

    @Test func savedShareOfTheAlwaysOnEstimate() {
        #expect(EnergyFormat.savedPercent(used: 75, alwaysOn: 100) == 25)
        #expect(EnergyFormat.savedPercent(used: 1, alwaysOn: 0) == 0)
    }
}
