/// One BMC sensor whose unit is watts, as read.
public struct PowerSensorReading: Sendable, Hashable {
    /// The sensor's SDR id string, e.g. `Power` or `PS1 Input Power`.
    public var name: String
    public var watts: Double

    public init(name: String, watts: Double) {
        self.name = name
        self.watts = watts
    }
}
