import AgentControl
import ArgumentParser
import Foundation
import Wire

/// The end `--until` names: an RFC 3339 time (`2026-12-03T18:00:00Z`, an offset or fractional seconds allowed, a
/// space for the `T`), or `+DURATION` from now (`+90s`, `+30m`, `+2h`, `+7d`).
enum ReservationEnd {
    static func parse(_ text: String, now: Date) throws(ValidationError) -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("+") {
            guard let seconds = seconds(String(trimmed.dropFirst())) else {
                throw ValidationError("--until '\(text)': expected +DURATION such as +90s, +30m, +2h or +7d")
            }
            return now + seconds
        }
        let normalized = trimmed.replacingOccurrences(of: " ", with: "T").uppercased()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: normalized) { return date }
        }
        throw ValidationError(
            "--until '\(text)': expected an RFC 3339 time such as 2026-12-03T18:00:00Z, or +DURATION such as +2h"
        )
    }

    /// A positive whole number with a unit s, m, h or d, in seconds; nil otherwise (or past a thousand years).
    static func seconds(_ text: String) -> TimeInterval? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last.flatMap({ units[$0] }), let number = UInt64(text.dropLast()), number > 0 else {
            return nil
        }
        let seconds = Double(number) * unit
        return seconds <= 1000 * 366 * 86_400 ? seconds : nil
    }

    static func unixMilliseconds(_ date: Date) -> UInt64 {
        UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded()))
    }
}

/// `torpor vc reserve VC --until TIME`.
struct VCReserve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reserve",
        abstract: "Hold capacity for the cluster until a time; at it its VMs are stopped and the capacity returned."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Option(name: .long, help: "The end: an RFC 3339 time (2026-12-03T18:00:00Z) or +DURATION from now (+2h).")
    var until: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let end = try ReservationEnd.parse(until, now: Date())
        try await VCReserve.show(
            .reserve(cluster: cluster, untilUnixMilliseconds: ReservationEnd.unixMilliseconds(end)),
            options: options
        )
    }

    /// Sends a reservation change and prints the cluster as it is after it.
    static func show(_ request: ClusterRequest, options: ManagerOptions) async throws {
        let reply = try await ClusterClient(options: options).clusters(request)
        guard let found = reply.clusters.first else { return }
        if options.json {
            Output.printJSON(ClusterOutput.json(found))
        } else {
            print(ClusterOutput.info(found))
        }
    }
}

/// `torpor vc renew VC --until TIME`.
struct VCRenew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Move the end of the cluster's unexpired reservation."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Option(name: .long, help: "The new end: an RFC 3339 time or +DURATION from now.")
    var until: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let end = try ReservationEnd.parse(until, now: Date())
        try await VCReserve.show(
            .renewReservation(cluster: cluster, untilUnixMilliseconds: ReservationEnd.unixMilliseconds(end)),
            options: options
        )
    }
}

/// `torpor vc release VC`.
struct VCRelease: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "End the cluster's reservation now: its VMs are stopped and the capacity returned."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        try await VCReserve.show(.releaseReservation(cluster: cluster), options: options)
    }
}
