import ConfigFile

/// The manager's `reservations:` section (docs/reservations.md): how far ahead a reservation may end, and how often
/// ends are looked for.
public struct ReservationConfiguration: Sendable, Equatable {
    /// The furthest end a reserve or renew may ask for, from now.
    public var maximumDuration: Duration = .seconds(30 * 24 * 3600)
    /// How often reservations are checked for their end (and running stops followed).
    public var checkInterval: Duration = .seconds(5)
    /// How long after a failed stop (a host unreachable) it is tried again.
    public var retryInterval: Duration = .seconds(30)

    public init() {}

    var limits: ReservationMachine.Limits {
        ReservationMachine.Limits(maximumDuration: maximumDuration, retryInterval: retryInterval)
    }

    static func load(_ section: ConfigSection) throws -> ReservationConfiguration {
        var result = ReservationConfiguration()
        if let value = try section.duration("maximum_duration", minimum: .seconds(60)) {
            result.maximumDuration = value
        }
        if let value = try section.duration("check_interval", minimum: .milliseconds(100), maximum: .seconds(3600)) {
            result.checkInterval = value
        }
        if let value = try section.duration("retry_interval", minimum: .milliseconds(100), maximum: .seconds(3600)) {
            result.retryInterval = value
        }
        return result
    }
}
