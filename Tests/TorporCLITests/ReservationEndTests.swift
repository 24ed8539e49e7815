import ArgumentParser
import Foundation
import Testing
import Wire

@testable import TorporCLI

@Suite struct ReservationEndTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    struct Row: Sendable, CustomTestStringConvertible {
        var text: String
        /// Seconds after `now`; nil: refused.
        var seconds: Double?
        var testDescription: String { "'\(text)'" }
    }

    static let rows: [Row] = [
        Row(text: "2027-01-15T09:00:00Z", seconds: 3600),
        Row(text: "2027-01-15t09:00:00z", seconds: 3600),
        Row(text: "2027-01-15 09:00:00Z", seconds: 3600),
        Row(text: "2027-01-15T10:00:00+01:00", seconds: 3600),
        Row(text: "2027-01-15T09:00:00.500Z", seconds: 3600.5),
        Row(text: " +90s ", seconds: 90),
        Row(text: "+30m", seconds: 1800),
        Row(text: "+2h", seconds: 7200),
        Row(text: "+7d", seconds: 7 * 86_400),
        Row(text: "+0s", seconds: nil),
        Row(text: "+-5m", seconds: nil),
        Row(text: "+5", seconds: nil),
        Row(text: "+99999999999999999999d", seconds: nil),
        Row(text: "tomorrow", seconds: nil),
        Row(text: "2027-01-15", seconds: nil),
        Row(text: "2027-01-15T09:00:00", seconds: nil),
        Row(text: "", seconds: nil),
    ]

    @Test(arguments: rows) func parses(_ row: Row) {
        let parsed = try? ReservationEnd.parse(row.text, now: Self.now)
        #expect(parsed.map { $0.timeIntervalSince(Self.now) } == row.seconds)
    }

    @Test func aRefusalNamesTheOptionAndTheFormats() {
        #expect {
            try ReservationEnd.parse("soon", now: Self.now)
        } throws: { error in
            "\(error)".contains("--until 'soon'") && "\(error)".contains("RFC 3339")
        }
    }

    @Test func infoShowsTheReservation() {
        var cluster = ClusterReply.Cluster(name: "lab", createdAtUnixMilliseconds: 0, vms: [])
        cluster.reservation = .init(untilUnixMilliseconds: 1_800_000_000_000, expired: false)
        #expect(ClusterOutput.info(cluster).contains("reserved until 2027-01-15T08:00:00.000Z"))
        cluster.reservation = .init(untilUnixMilliseconds: 1_800_000_000_000, expired: true)
        #expect(ClusterOutput.info(cluster).contains("reservation expired at 2027-01-15T08:00:00.000Z: stopping its VMs"))
        cluster.reservation?.stoppedAtUnixMilliseconds = 1_800_000_005_000
        #expect(
            ClusterOutput.info(cluster).contains(
                "reservation expired at 2027-01-15T08:00:00.000Z: VMs stopped at 2027-01-15T08:00:05.000Z"
            )
        )
        let json = ClusterOutput.json(cluster)["reservation"] as? [String: Any]
        #expect(json?["until"] as? String == "2027-01-15T08:00:00.000Z")
        #expect(json?["expired"] as? Bool == true)
        #expect(json?["stoppedAt"] as? String == "2027-01-15T08:00:05.000Z")
    }
}
